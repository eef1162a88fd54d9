"""What deploy/gunicorn.conf.py needs to serve the app where the ini file says.

`pserve INI` hands gunicorn the host and port of the ini's ``[server:main]``
(gunicorn's PasteDeploy server runner). `gunicorn --paste INI` does not: it
only loads the app from the ini and would listen on gunicorn's default,
127.0.0.1:8000, where nginx's upstream finds nothing. `paste_bind` reads the
same ``[server:main]`` for that form, so both documented commands listen on
the same address.
"""

from __future__ import annotations

import configparser
import os
import shlex
from collections.abc import Mapping, Sequence

PASTE_OPTIONS = ("--paste", "--paster")


def paste_ini(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The ini file named by ``--paste`` (or ``--paster``) on gunicorn's command line or in
    ``GUNICORN_CMD_ARGS``; ``None`` when gunicorn was not started that way (e.g. by pserve)."""
    found = None
    for args in (shlex.split(environ.get("GUNICORN_CMD_ARGS", "")), list(argv[1:])):
        for index, arg in enumerate(args):
            option, equals, value = arg.partition("=")
            if option not in PASTE_OPTIONS:
                continue
            if not equals:
                value = args[index + 1] if index + 1 < len(args) else ""
            if value:
                # The command line wins over the environment, as gunicorn has it.
                found = value
    if found is None:
        return None
    # ``config.ini#name`` names an app section; the server section is still main.
    return os.path.abspath(found.split("#", 1)[0])


def server_bind(ini_path: str, server: str = "main") -> str | list[str] | None:
    """gunicorn's ``bind`` for the ini's ``[server:<server>]`` host and port, as pserve gives it.

    ``None`` when the section names no host (gunicorn's default then applies).
    """
    parser = configparser.ConfigParser(
        defaults={"here": os.path.dirname(ini_path), "__file__": ini_path}
    )
    if not parser.read(ini_path):
        return None
    section = f"server:{server}"
    if not parser.has_section(section):
        return None
    host = parser.get(section, "host", fallback="").strip()
    port = parser.get(section, "port", fallback="").strip()
    if host and port:
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        return f"{host}:{port}"
    if host:
        return host.split(",")
    return None


def paste_bind(argv: Sequence[str], environ: Mapping[str, str]) -> str | list[str] | None:
    """``[server:main]``'s bind address when gunicorn runs with ``--paste INI``, else ``None``."""
    ini = paste_ini(argv, environ)
    return server_bind(ini) if ini is not None else None
