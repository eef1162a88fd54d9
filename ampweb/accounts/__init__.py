"""Accounts of the web app: users, their roles and passwords, and API tokens.

The tables (`models`) sit on the platform's SQL metadata, so one migration
history covers them; the registry (`registry.UserRegistry`) is what the
security policy, the admin pages and the ``nntsc user`` commands (`cli`,
added to `nntsc` through the ``nntsc.commands`` entry point) work with.

The registry's names are imported on first use: every nntsc process loads
the tables (``nntsc.tables`` entry point, for foreign keys to ``users``), and
a collector has no use for the registry, argon2 and what they import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ampweb.accounts.errors import BadCredentials, UnknownToken, UnknownUser

if TYPE_CHECKING:
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

_FROM_REGISTRY = frozenset({"ROLES", "TokenInfo", "UserInfo", "UserRegistry"})


def __getattr__(name: str) -> Any:
    if name in _FROM_REGISTRY:
        from ampweb.accounts import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
