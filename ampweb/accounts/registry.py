"""Users of the web app, their passwords and roles, and the API tokens of scripts.

Passwords are kept as argon2id hashes (argon2-cffi's `PasswordHasher`), and a
hash made with older parameters is replaced at the next successful login. API
tokens are random strings shown once when created; only their SHA-256 is
kept, and a token is found by that hash. `UserRegistry` hands back frozen
`UserInfo` and `TokenInfo` values, never ORM objects tied to a session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ampweb.accounts.errors import BadCredentials, UnknownToken, UnknownUser
from ampweb.accounts.models import ApiToken, User
from nntsc.errors import AlreadyExists, BadValue
from nntsc.store.sites import check_flag, check_text
from nntsc.store.streams import Page

#: The roles a user may have: ``viewdata`` lets one see graphs, the matrix
#: and the read-only API when data is not public; ``editconfig`` lets one
#: change sites and meshes too; ``admin`` lets one do anything, users included.
ROLES = ("admin", "editconfig", "viewdata")
#: The roles each role includes: whoever may change the configuration may
#: also look at what it produces.
IMPLIED_ROLES = {
    "admin": frozenset(ROLES),
    "editconfig": frozenset({"editconfig", "viewdata"}),
    "viewdata": frozenset({"viewdata"}),
}
USERNAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_PASSWORD_LENGTH = 8
#: Longer passwords only cost hashing time; no one types more.
MAX_PASSWORD_LENGTH = 1024
NAME_LENGTH = 255
EMAIL_LENGTH = 255
MAX_PAGESIZE = 1000
#: Tokens look like ``nntsc_`` and 43 URL-safe characters (256 random bits).
TOKEN_PREFIX = "nntsc_"  # noqa: S105 (a marker, not a secret)
#: How many characters of a token are kept in clear, to tell tokens apart.
TOKEN_DISPLAY_LENGTH = 12
#: New users start at a random session generation below this (it fits a 32-bit integer
#: with room for revoking).
SESSION_GENERATIONS = 1 << 30
#: A token's `last_used` is written at most this often (seconds), so that a
#: busy script does not turn every read into a write.
LAST_USED_RESOLUTION = 60


def default_hasher() -> PasswordHasher:
    """argon2id with the OWASP Password Storage Cheat Sheet's parameters (19 MiB, 2 passes).

    argon2-cffi's own defaults (64 MiB, 3 passes, 4 lanes) take most of a
    second of two shared cores per login; these are still well above what
    makes guessing offline costly, and hashes made with other parameters are
    replaced at the next login (`UserRegistry.authenticate`).
    """
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@dataclass(frozen=True)
class UserInfo:
    """A user: name, name for people, e-mail, roles, and whether they may log in."""

    username: str
    long_name: str = ""
    email: str = ""
    roles: tuple[str, ...] = ()
    enabled: bool = True
    created: int = 0
    has_password: bool = False
    #: Sessions started in an older generation are over (`UserRegistry.revoke_sessions`).
    session_generation: int = 0

    def has_role(self, role: str) -> bool:
        """Whether the user has `role`, given or implied (see `IMPLIED_ROLES`)."""
        return any(role in IMPLIED_ROLES[held] for held in self.roles)

    def as_dict(self) -> dict[str, Any]:
        """The user as JSON-ready data (never the password hash)."""
        return {
            "username": self.username,
            "long_name": self.long_name,
            "email": self.email,
            "roles": list(self.roles),
            "enabled": self.enabled,
            "created": self.created,
        }


@dataclass(frozen=True)
class TokenInfo:
    """An API token as it can be shown again: its prefix, never the token itself."""

    token_id: int
    username: str
    name: str
    prefix: str
    created: int
    last_used: int | None = None
    revoked: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "username": self.username,
            "name": self.name,
            "prefix": self.prefix,
            "created": self.created,
            "last_used": self.last_used,
            "revoked": self.revoked,
        }


def check_username(username: Any) -> str:
    """`username` if valid; raises `BadValue` naming ``username``."""
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise BadValue("username", f"{username!r} is not valid: 1 to 64 letters, digits or . _ @ -")
    return username


def check_roles(roles: Any) -> tuple[str, ...]:
    """Known, distinct roles in the order of `ROLES`; raises `BadValue` for any other."""
    if isinstance(roles, str | bytes) or not isinstance(roles, Iterable):
        raise BadValue("roles", "expected a list of roles")
    wanted = set()
    for role in roles:
        if role not in ROLES:
            raise BadValue("roles", f"{role!r} is not a role; expected some of {', '.join(ROLES)}")
        wanted.add(role)
    return tuple(role for role in ROLES if role in wanted)


def check_password(password: Any) -> str:
    """`password` if long enough and not absurdly long; raises `BadValue`."""
    if not isinstance(password, str):
        raise BadValue("password", "expected text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadValue("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadValue("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    return password


def hash_token(token: str) -> str:
    """The hex SHA-256 under which `token` is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _user_info(user: User) -> UserInfo:
    return UserInfo(
        user.username,
        user.long_name,
        user.email,
        tuple(user.roles or ()),
        user.enabled,
        user.created,
        bool(user.password_hash),
        user.session_generation or 0,
    )


def _token_info(token: ApiToken) -> TokenInfo:
    return TokenInfo(
        token.token_id,
        token.username,
        token.name,
        token.prefix,
        token.created,
        token.last_used,
        token.revoked,
    )


class UserRegistry:
    """Users and API tokens in the SQL database.

    Every method runs in a transaction of its own and validates its arguments
    before writing, so a call that raises has changed nothing.
    """

    def __init__(
        self, sessions: sessionmaker[Session], hasher: PasswordHasher | None = None
    ) -> None:
        self.sessions = sessions
        self.hasher = hasher or default_hasher()

    @cached_property
    def _decoy_hash(self) -> str:
        """Verified against when the user does not exist, so that a wrong user
        name costs as much time as a wrong password and cannot be told apart."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # -- users ----------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str | None = None,
        roles: Iterable[str] = (),
        long_name: str = "",
        email: str = "",
        enabled: bool = True,
    ) -> UserInfo:
        """Create the user `username`; without `password` they can use API tokens only.

        Raises `AlreadyExists` or `BadValue`.
        """
        user = UserInfo(
            check_username(username),
            check_text(long_name, "long_name", NAME_LENGTH),
            check_text(email, "email", EMAIL_LENGTH),
            check_roles(roles),
            check_flag(enabled, "enabled"),
            int(time.time()),
            password is not None,
            # Random, so that a session of a deleted user never fits a new user of
            # the same name (each session remembers the generation it began in).
            secrets.randbelow(SESSION_GENERATIONS) + 1,
        )
        password_hash = "" if password is None else self.hasher.hash(check_password(password))
        try:
            with self.sessions.begin() as session:
                if session.get(User, user.username) is not None:
                    raise AlreadyExists("user", user.username)
                session.add(
                    User(
                        username=user.username,
                        long_name=user.long_name,
                        email=user.email,
                        password_hash=password_hash,
                        roles=list(user.roles),
                        enabled=user.enabled,
                        created=user.created,
                        session_generation=user.session_generation,
                    )
                )
        except IntegrityError:
            # Another process created the same user between our check and insert.
            raise AlreadyExists("user", user.username) from None
        return user

    def update_user(
        self,
        username: str,
        *,
        long_name: str | None = None,
        email: str | None = None,
        roles: Iterable[str] | None = None,
        enabled: bool | None = None,
        password: str | None = None,
    ) -> UserInfo:
        """Change the given fields of user `username` (``None`` leaves one as it is).

        Returns the changed user; raises `UnknownUser` or `BadValue`.
        """
        changes: dict[str, Any] = {}
        if long_name is not None:
            changes["long_name"] = check_text(long_name, "long_name", NAME_LENGTH)
        if email is not None:
            changes["email"] = check_text(email, "email", EMAIL_LENGTH)
        if roles is not None:
            changes["roles"] = list(check_roles(roles))
        if enabled is not None:
            changes["enabled"] = check_flag(enabled, "enabled")
        if password is not None:
            changes["password_hash"] = self.hasher.hash(check_password(password))
        with self.sessions.begin() as session:
            user = session.get(User, check_username(username))
            if user is None:
                raise UnknownUser(username)
            for column, value in changes.items():
                setattr(user, column, value)
            session.flush()
            return _user_info(user)

    def revoke_sessions(self, username: str) -> UserInfo:
        """End every session of `username` (each is refused at its next request).

        Their API tokens are not affected: revoke those one by one. Raises `UnknownUser`.
        """
        with self.sessions.begin() as session:
            # An UPDATE answers a CursorResult (Session.execute is typed for any statement).
            changed = cast(
                "CursorResult[Any]",
                session.execute(
                    update(User)
                    .where(User.username == check_username(username))
                    .values(session_generation=User.session_generation + 1)
                ),
            )
            if changed.rowcount == 0:
                raise UnknownUser(username)
            user = session.get_one(User, username)
            session.refresh(user)
            return _user_info(user)

    def disable_user(self, username: str) -> UserInfo:
        """Stop `username` logging in or using their tokens (kept for the record)."""
        return self.update_user(username, enabled=False)

    def delete_user(self, username: str) -> None:
        """Delete user `username` and their API tokens; raises `UnknownUser`."""
        check_username(username)
        with self.sessions.begin() as session:
            # As for mesh members: do not count on SQLite cascading the delete.
            session.execute(delete(ApiToken).where(ApiToken.username == username))
            deleted = cast(
                "CursorResult[Any]",
                session.execute(delete(User).where(User.username == username)),
            )
            if deleted.rowcount == 0:
                raise UnknownUser(username)

    def get_user(self, username: str) -> UserInfo:
        """The user `username`; raises `UnknownUser`."""
        with self.sessions() as session:
            user = session.get(User, check_username(username))
            if user is None:
                raise UnknownUser(username)
            return _user_info(user)

    def list_users(self, term: str = "", page: int = 1, pagesize: int = 50) -> Page:
        """Users whose name, long name or e-mail contains `term` (any case), by name, one page."""
        if not isinstance(page, int) or isinstance(page, bool) or page < 1:
            raise BadValue("page", f"must be an integer >= 1, got {page!r}")
        if not isinstance(pagesize, int) or not 1 <= pagesize <= MAX_PAGESIZE:
            raise BadValue("pagesize", f"must be between 1 and {MAX_PAGESIZE}, got {pagesize!r}")
        needle = check_text(term, "term", NAME_LENGTH).lower()
        conditions = []
        if needle:
            conditions.append(
                or_(
                    *(
                        func.lower(column).contains(needle, autoescape=True)
                        for column in (User.username, User.long_name, User.email)
                    )
                )
            )
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(User).where(*conditions))
            users = session.scalars(
                select(User)
                .where(*conditions)
                .order_by(User.username)
                .limit(pagesize)
                .offset((page - 1) * pagesize)
            ).all()
            items = [_user_info(user) for user in users]
        return Page(items, total or 0, page, pagesize)

    def count_users(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(User)) or 0

    def authenticate(self, username: str, password: str) -> UserInfo:
        """The user, if `password` is theirs and they are enabled; raises `BadCredentials`.

        A hash made with older parameters than the hasher's is replaced by a
        new one, now that the password is known.
        """
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            username = ""
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
            raise BadCredentials()
        with self.sessions() as session:
            user = session.get(User, username) if username else None
            stored = user.password_hash if user is not None else ""
        try:
            self.hasher.verify(stored or self._decoy_hash, password)
        except (VerificationError, InvalidHashError):
            raise BadCredentials() from None
        if user is None or not stored or not user.enabled:
            raise BadCredentials()
        if self.hasher.check_needs_rehash(stored):
            with self.sessions.begin() as session:
                session.execute(
                    update(User)
                    .where(User.username == username, User.password_hash == stored)
                    .values(password_hash=self.hasher.hash(password))
                )
        return _user_info(user)

    # -- API tokens -----------------------------------------------------------------

    def create_token(self, username: str, name: str = "") -> tuple[TokenInfo, str]:
        """A new API token for `username`: its record and the token, which is not kept.

        Raises `UnknownUser` or `BadValue`.
        """
        name = check_text(name, "name", NAME_LENGTH)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.sessions.begin() as session:
            if session.get(User, check_username(username)) is None:
                raise UnknownUser(username)
            record = ApiToken(
                token_hash=hash_token(token),
                prefix=token[:TOKEN_DISPLAY_LENGTH],
                username=username,
                name=name,
                created=int(time.time()),
            )
            session.add(record)
            session.flush()
            return _token_info(record), token

    def revoke_token(self, token_id: int, username: str | None = None) -> TokenInfo:
        """Revoke token `token_id` (only among `username`'s tokens when given).

        Revoking a revoked token changes nothing. Raises `UnknownToken`.
        """
        with self.sessions.begin() as session:
            record = session.get(ApiToken, token_id)
            if record is None or (username is not None and record.username != username):
                raise UnknownToken(token_id)
            if record.revoked is None:
                record.revoked = int(time.time())
            session.flush()
            return _token_info(record)

    def list_tokens(self, username: str | None = None) -> list[TokenInfo]:
        """Tokens (of `username`, or everyone's), newest first, revoked ones included."""
        query = select(ApiToken).order_by(ApiToken.created.desc(), ApiToken.token_id.desc())
        if username is not None:
            query = query.where(ApiToken.username == check_username(username))
        with self.sessions() as session:
            return [_token_info(record) for record in session.scalars(query)]

    def verify_token(self, token: str) -> UserInfo:
        """The enabled user whose valid token `token` is; raises `BadCredentials`."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise BadCredentials()
        digest = hash_token(token)
        now = int(time.time())
        with self.sessions() as session:
            found = session.execute(
                select(ApiToken, User)
                .join(User, User.username == ApiToken.username)
                .where(ApiToken.token_hash == digest)
            ).first()
        if found is None:
            raise BadCredentials()
        record, user = found
        # The lookup was by hash already; comparing again in constant time
        # costs nothing and does not rely on how the database compares strings.
        if not hmac.compare_digest(record.token_hash, digest):
            raise BadCredentials()
        if record.revoked is not None or not user.enabled:
            raise BadCredentials()
        if record.last_used is None or now - record.last_used >= LAST_USED_RESOLUTION:
            with self.sessions.begin() as session:
                session.execute(
                    update(ApiToken)
                    .where(ApiToken.token_id == record.token_id)
                    .values(last_used=now)
                )
        return _user_info(user)
