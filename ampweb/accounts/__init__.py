"""Accounts of the web app: users, their roles and passwords, and API tokens.

The tables (`models`) sit on the platform's SQL metadata, so one migration
history covers them; the registry (`registry.UserRegistry`) is what the
security policy, the admin pages and the ``nntsc user`` commands (`cli`,
added to `nntsc` through the ``nntsc.commands`` entry point) work with.
"""

from __future__ import annotations

from ampweb.accounts.errors import BadCredentials, UnknownToken, UnknownUser
from ampweb.accounts.registry import ROLES, TokenInfo, UserInfo, UserRegistry

__all__ = [
    "ROLES",
    "BadCredentials",
    "TokenInfo",
    "UnknownToken",
    "UnknownUser",
    "UserInfo",
    "UserRegistry",
]
