"""The tables of the accounts: users, their API tokens, and the secrets the web app shares.

They are declared on the platform's one SQL metadata (`nntsc.store.models.Base`),
so the migrations in ``migrations/`` create them with everything else and
`tests/integration/test_migrations.py` compares them too; nntsc learns of this
module through the ``nntsc.tables`` entry point (see `nntsc.plugins`), never
by importing the web app.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from nntsc.store.models import Base


class User(Base):
    """Someone who may log in to the web app; what they may do is given by `roles`."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    long_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    #: An argon2 hash in its PHC string form; empty when the user may not log in
    #: with a password (API tokens only).
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    #: Role names, e.g. ``["admin"]`` (see `ampweb.accounts.registry.ROLES`).
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[int] = mapped_column(BigInteger)
    #: Sessions remember the generation they were started in; raising it ends
    #: every session of the user at their next request (`nntsc user revoke-sessions`).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class ApiToken(Base):
    """A token a script sends as ``Authorization: Bearer``; only its hash is kept."""

    __tablename__ = "api_tokens"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of the token, hex: tokens are random enough that a slow hash adds nothing.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so that people can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[int] = mapped_column(BigInteger)
    last_used: Mapped[int | None] = mapped_column(BigInteger)
    #: When the token was revoked (Unix seconds); ``None`` while it is valid.
    revoked: Mapped[int | None] = mapped_column(BigInteger)


class SharedSecret(Base):
    """A secret every process of the web app must agree on, made once and kept here.

    The session cookie's signing key lives here when ``ampweb.session_secret``
    is not set, so that every worker process (and every host serving the same
    database) signs and checks cookies alike, and sessions outlive restarts.
    """

    __tablename__ = "ampweb_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    created: Mapped[int] = mapped_column(BigInteger)
