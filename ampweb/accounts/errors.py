"""Errors of the accounts: unknown users and tokens, wrong credentials.

They derive from `nntsc.errors.NntscError`, so the web layer maps them to
statuses in the same one place (`ampweb.views.errors`) and the `nntsc`
command prints them as one line like every other error.
"""

from __future__ import annotations

from nntsc.errors import NntscError


class UnknownUser(NntscError):
    """A user name that is not in the database."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown user {name!r}")
        self.name = name


class UnknownToken(NntscError):
    """An API token id that is not in the database (or not one of the caller's)."""

    def __init__(self, token_id: int) -> None:
        super().__init__(f"unknown API token {token_id}")
        self.token_id = token_id


class BadCredentials(NntscError):
    """A wrong password, an unknown or disabled user, or an invalid or revoked token.

    Deliberately says no more than that, so that it cannot be used to find out
    which user names exist.
    """

    def __init__(self) -> None:
        super().__init__("invalid credentials")
