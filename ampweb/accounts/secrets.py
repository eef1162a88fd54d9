"""Secrets the web app's processes share, made once and kept in the SQL database.

Every worker process of every host that serves one database reads the same
row; the first to find none makes it (an insert that loses a race to another
process reads the winner's). Whoever can read this table could forge session
cookies, but whoever can read the database can read everything the cookies
protect already.
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ampweb.accounts.models import SharedSecret

#: The name of the session cookies' signing key.
SESSION_SECRET = "session_secret"  # noqa: S105 (a row name, not a secret)


def shared_secret(sessions: sessionmaker[Session], name: str) -> str:
    """The secret `name`; made (64 random URL-safe characters) if there is none yet."""
    with sessions() as session:
        value = session.scalar(select(SharedSecret.value).where(SharedSecret.name == name))
    if value is not None:
        return value
    try:
        with sessions.begin() as session:
            session.add(
                SharedSecret(name=name, value=secrets.token_urlsafe(48), created=int(time.time()))
            )
    except IntegrityError:
        pass  # another process made it first: theirs is the one
    with sessions() as session:
        return session.scalars(select(SharedSecret.value).where(SharedSecret.name == name)).one()
