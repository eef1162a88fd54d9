"""The web app's settings that deployments set from the environment.

As for the services' URLs (`nntsc.config.ENVIRONMENT_OVERRIDES`), a non-empty
environment variable wins over the ini file, so that a container or a systemd
drop-in can adapt one shipped ini (deploy/production.ini) without editing it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

#: Web app setting -> the environment variable that overrides it.
ENVIRONMENT_OVERRIDES = {
    "ampweb.session_secret": "AMPWEB_SESSION_SECRET",
    "ampweb.trusted_proxies": "AMPWEB_TRUSTED_PROXIES",
    "ampweb.secure_cookies": "AMPWEB_SECURE_COOKIES",
    "ampweb.public_data": "AMPWEB_PUBLIC_DATA",
    "ampweb.ratelimit_url": "AMPWEB_RATELIMIT_URL",
}


def resolve_settings(
    settings: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`settings` with every non-empty overriding environment variable applied."""
    environ = os.environ if environ is None else environ
    resolved = dict(settings)
    for key, variable in ENVIRONMENT_OVERRIDES.items():
        if environ.get(variable, "").strip():
            resolved[key] = environ[variable]
    return resolved
