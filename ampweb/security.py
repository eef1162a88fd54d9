"""Who is asking, and what they may do: sessions, API tokens, roles, CSRF, login throttling.

A request is made by a user when it carries their signed session cookie (set
at login) or ``Authorization: Bearer <token>`` with one of their API tokens.
Every view needs the ``view`` permission unless it says otherwise; the roles
grant the permissions:

========== ==========================================================
permission  granted to
========== ==========================================================
view        ``viewdata`` (which the other roles include), or everyone when
            ``ampweb.public_data`` is true
editconfig  ``editconfig`` (sites and meshes), which ``admin`` includes
admin       ``admin`` (users)
account     any logged-in user (their own API tokens)
user-view   a logged-in user who may see the data (``view`` and a user): what
            is someone's own but made of data, e.g. ratings and their export
========== ==========================================================

Authorization is enforced whatever the settings: without
``ampweb.session_secret`` cookies are signed with a secret made once and kept
in the SQL database (`ampweb.accounts.secrets`), which every worker process
shares, and without ``ampweb.public_data`` data is private.

A session remembers its user's session generation; `UserRegistry.revoke_sessions`
raises the generation, which ends every session of that user at once.

Every state-changing request made with a session cookie must carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``);
requests authenticated by a Bearer token are exempt, since a browser never
adds that header to a cross-site request on its own.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from pyramid.config import Configurator
from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from sqlalchemy.exc import SQLAlchemyError

from ampweb.accounts import BadCredentials, UnknownUser, UserInfo, UserRegistry
from ampweb.accounts.secrets import SESSION_SECRET, shared_secret
from ampweb.params import BadParameter
from nntsc.errors import BadValue, ConfigurationError, StoreUnavailable

log = logging.getLogger(__name__)

VIEW = "view"
EDITCONFIG = "editconfig"
ADMIN = "admin"
ACCOUNT = "account"
USER_VIEW = "user-view"
#: The role each permission needs (roles include others, see `UserInfo.has_role`).
PERMISSION_ROLES = {VIEW: "viewdata", EDITCONFIG: "editconfig", ADMIN: "admin"}

SESSION_COOKIE = "nntsc_session"
SESSION_USER = "auth.username"
#: The user's session generation when the session started (see `UserInfo.session_generation`).
SESSION_GENERATION = "auth.generation"
#: A session unused for this long (seconds) is over; one in use is renewed.
SESSION_TIMEOUT = 8 * 3600
SESSION_REISSUE = 600
#: Failed logins allowed per user name from one client address (`limits` syntax).
DEFAULT_LOGIN_LIMIT = "5 per 5 minutes"
#: Failed logins allowed per user name from any number of addresses.
DEFAULT_USER_LIMIT = "20 per 5 minutes"
#: Failed logins allowed per client address, whatever the user names.
DEFAULT_ADDRESS_LIMIT = "100 per 5 minutes"


@dataclass(frozen=True)
class Identity:
    """The user a request is made by, and whether by session cookie or API token."""

    user: UserInfo
    via: str

    @property
    def username(self) -> str:
        return self.user.username


def owner_scope(request: Request) -> str | None:
    """Whose things (channels, subscriptions, their log) a logged-in request may touch:
    the caller's own, or ``None`` for an admin, who may touch anyone's."""
    if request.has_permission(ADMIN):
        return None
    return str(request.identity.username)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None`` without one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


#: Where a request keeps its identity once found (`SecurityPolicy.identity`).
_IDENTITY = "_nntsc_identity"


class SecurityPolicy:
    """Pyramid security policy: identity from session or Bearer token, permissions from roles."""

    def __init__(self, public_data: bool) -> None:
        self.public_data = public_data

    def identity(self, request: Request) -> Identity | None:
        # Found once per request (a token is looked up in SQL, a session cookie decoded),
        # however many times the permission checks and views ask; `remember` and
        # `forget` start it again.
        try:
            return request.__dict__[_IDENTITY]
        except KeyError:
            found = request.__dict__[_IDENTITY] = self._identity(request)
            return found

    def _identity(self, request: Request) -> Identity | None:
        users = request.registry["users"]
        token = bearer_token(request)
        if token is not None:
            # A request that names a token is judged by it alone, never by a
            # cookie that may come along (the CSRF exemption relies on this).
            try:
                return Identity(users.verify_token(token), "token")
            except BadCredentials:
                return None
        if SESSION_COOKIE not in request.cookies:
            return None
        username = request.session.get(SESSION_USER)
        if not username:
            return None
        try:
            user = users.get_user(username)
        except (UnknownUser, BadValue):
            return None
        # A user disabled (or deleted) since logging in, or whose sessions were
        # revoked, loses access at once.
        generation = request.session.get(SESSION_GENERATION, 0)
        if not user.enabled or generation != user.session_generation:
            return None
        return Identity(user, "session")

    def authenticated_userid(self, request: Request) -> str | None:
        identity = request.identity
        return identity.username if identity is not None else None

    def permits(self, request: Request, context: Any, permission: str) -> Allowed | Denied:
        identity = request.identity
        if identity is None and bearer_token(request) is not None:
            return Denied("invalid or revoked API token")
        if permission == VIEW and self.public_data:
            return Allowed("data is public")
        if identity is None:
            return Denied("authentication required")
        if permission == ACCOUNT:
            return Allowed("logged in")
        if permission == USER_VIEW:
            if self.public_data or identity.user.has_role("viewdata"):
                return Allowed("logged in and may see the data")
            return Denied("this needs the viewdata role")
        role = PERMISSION_ROLES.get(permission)
        if role is not None and identity.user.has_role(role):
            return Allowed(f"has the {role} role")
        return Denied(f"this needs the {role or permission} role")

    def remember(self, request: Request, userid: str, **kw: Any) -> list[tuple[str, str]]:
        """Start a fresh session for `userid`, with a new CSRF token.

        ``generation`` is the user's current session generation (0 if not given).
        """
        request.__dict__.pop(_IDENTITY, None)
        request.session.invalidate()
        request.session[SESSION_USER] = userid
        request.session[SESSION_GENERATION] = int(kw.get("generation", 0))
        request.session.new_csrf_token()
        return []

    def forget(self, request: Request, **kw: Any) -> list[tuple[str, str]]:
        request.__dict__.pop(_IDENTITY, None)
        request.session.invalidate()
        request.session.new_csrf_token()
        return []


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins each counter allows (`limits` syntax, e.g. ``5 per 5 minutes``)."""

    #: One user name from one client address: what stops guessing a password.
    user_address: str = DEFAULT_LOGIN_LIMIT
    #: One user name from anywhere: guessing spread over many addresses.
    user: str = DEFAULT_USER_LIMIT
    #: One client address, whatever the names: guessing many names. Much higher,
    #: since everyone behind one proxy or NAT shares the address.
    address: str = DEFAULT_ADDRESS_LIMIT

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> LoginLimits:
        return cls(
            settings.get("ampweb.login_rate_limit") or DEFAULT_LOGIN_LIMIT,
            settings.get("ampweb.login_user_rate_limit") or DEFAULT_USER_LIMIT,
            settings.get("ampweb.login_address_rate_limit") or DEFAULT_ADDRESS_LIMIT,
        )


class LoginThrottle:
    """Counts failed logins per (user name, client address), per user name and per address.

    A login is refused while any of the three counters is full (`LoginLimits`),
    so one person's typos lock out only that name from that address, never the
    other users behind the same proxy or NAT. The counters live in Redis when
    the app has one (so that every worker process shares them), in this
    process's memory otherwise.
    """

    def __init__(
        self, storage_url: str = "memory://", limits: LoginLimits | str = LoginLimits()
    ) -> None:
        if isinstance(limits, str):
            limits = LoginLimits(user_address=limits)
        self.storage_url = storage_url
        self.storage = storage_from_string(storage_url)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.limits = limits
        try:
            self._items: dict[str, RateLimitItem] = {
                "user-address": parse(limits.user_address),
                "user": parse(limits.user),
                "address": parse(limits.address),
            }
        except ValueError as error:
            raise ConfigurationError(f"ampweb.login_*rate_limit: {error}") from None

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> LoginThrottle:
        """Storage from ``ampweb.ratelimit_url``, else the first Redis of the cache or live feed."""
        url = settings.get("ampweb.ratelimit_url") or next(
            (
                settings[key]
                for key in ("ampy.cache_url", "nntsc.live_url")
                if settings.get(key, "").startswith(("redis://", "rediss://"))
            ),
            "memory://",
        )
        return cls(url, LoginLimits.from_settings(settings))

    def _counters(self, username: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        name = username.lower()
        return [
            (self._items["user-address"], ("nntsc-login", "user-address", name, address)),
            (self._items["user"], ("nntsc-login", "user", name)),
            (self._items["address"], ("nntsc-login", "address", address)),
        ]

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until `username` may try again from `address`, or ``None`` if they may now."""
        try:
            waits = [
                self.limiter.get_window_stats(item, *key).reset_time - time.time()
                for item, key in self._counters(username, address)
                if not self.limiter.test(item, *key)
            ]
        except Exception as error:  # the storage's client raises its own types
            raise StoreUnavailable(f"login rate limit store: {error}") from error
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, username: str, address: str) -> None:
        """Count a failed login of `username` from `address`."""
        try:
            for item, key in self._counters(username, address):
                self.limiter.hit(item, *key)
        except Exception as error:
            raise StoreUnavailable(f"login rate limit store: {error}") from error

    def succeeded(self, username: str, address: str) -> None:
        """Forget `username`'s failures (not those of the address, which may try other names)."""
        try:
            for item, key in self._counters(username, address)[:2]:
                self.limiter.clear(item, *key)
        except Exception as error:
            raise StoreUnavailable(f"login rate limit store: {error}") from error


Proxies = frozenset[ipaddress.IPv4Network | ipaddress.IPv6Network]


def parse_proxies(text: str) -> Proxies:
    """``ampweb.trusted_proxies``: addresses or networks (``10.0.0.0/8``), by spaces or commas."""
    networks = set()
    for word in text.replace(",", " ").split():
        try:
            networks.add(ipaddress.ip_network(word, strict=False))
        except ValueError:
            raise ConfigurationError(
                f"ampweb.trusted_proxies: {word!r} is neither an IP address nor a network"
            ) from None
    return frozenset(networks)


def _is_trusted(address: str, trusted: Proxies) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted)


def client_address(request: Request) -> str:
    """The address of the client, seen through the proxies named in ``ampweb.trusted_proxies``.

    Behind nginx every request comes from 127.0.0.1; nginx appends the address
    it saw to ``X-Forwarded-For``, so the rightmost address there that is not
    one of our proxies is the client. A header from anyone else is ignored,
    since a client can write whatever it likes in it.
    """
    trusted = request.registry["trusted_proxies"]
    address = request.remote_addr or "unknown"
    if _is_trusted(address, trusted):
        hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed(hops):
            if hop and not _is_trusted(hop, trusted):
                # Bounded: it keys a rate-limit counter.
                return hop[:64]
    return address


def session_secret(
    settings: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> str | None:
    """``AMPWEB_SESSION_SECRET`` from the environment (which wins, and keeps the secret
    out of the ini file), else ``ampweb.session_secret``; ``None`` when neither is set."""
    secret = (
        environ.get("AMPWEB_SESSION_SECRET") or str(settings.get("ampweb.session_secret") or "")
    ).strip()
    if not secret:
        return None
    if len(secret) < 32:
        log.warning("ampweb.session_secret is short: use at least 32 random characters")
    return secret


class StoredSecretSessionFactory:
    """Signed cookie sessions whose key is the secret kept in the SQL database.

    The key is read when the app is built (`preload`), so that pages, error
    pages included, keep their sessions through a later database outage; if
    the database is down then, a worker starts anyway and reads the key at the
    first request that uses a session (which answers 503 until it can).
    """

    def __init__(self, users: UserRegistry, **options: Any) -> None:
        self.users = users
        self.options = options
        self._factory: Any = None
        self._lock = threading.Lock()

    def preload(self) -> None:
        """Read (or make) the key now; a database that does not answer is logged, not raised."""
        try:
            self._get()
        except SQLAlchemyError as error:
            log.warning("session secret not read yet (SQL database: %s); will retry", error)

    def _get(self) -> Any:
        factory = self._factory
        if factory is None:
            with self._lock:
                if self._factory is None:
                    secret = shared_secret(self.users.sessions, SESSION_SECRET)
                    self._factory = SignedCookieSessionFactory(secret, **self.options)
                factory = self._factory
        return factory

    def __call__(self, request: Request) -> Any:
        return self._get()(request)


def forbidden(error: HTTPForbidden, request: Request) -> Response:
    """401 (who are you?) or 403 (not allowed): JSON on the API, login redirect on pages."""
    is_api = request.path.startswith("/api/")
    if request.identity is None:
        if bearer_token(request) is not None:
            message = "invalid or revoked API token"
        else:
            message = "authentication required: log in, or send Authorization: Bearer <token>"
        if is_api:
            response = Response(json_body={"error": message}, status=401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="nntsc"'
            return response
        if request.method in ("GET", "HEAD"):
            return HTTPSeeOther(
                request.route_url("auth.login", _query={"came_from": request.path_qs})
            )
        return Response(f"401: {message}", status=401, content_type="text/plain")
    message = str(error.result) if error.result is not None else "forbidden"
    if is_api:
        return Response(json_body={"error": message}, status=403)
    response = render_to_response(
        "forbidden.jinja2", {"message": message, "identity": request.identity}, request
    )
    response.status = 403
    return response


@pass_context
def csrf_token(context: Context) -> str:
    """``get_csrf_token()`` in a template: the session's CSRF token (a global of the
    templates' environment, not a BeforeRender subscriber: any subscriber makes Pyramid
    send five events through the registry on every request, JSON answers too)."""
    return str(get_csrf_token(context["request"]))


def _check_csrf(request: Request) -> bool:
    """Whether a state-changing request must carry the CSRF token (not with a Bearer token).

    Pyramid looks for the token in a form body before the header; a body that
    claims to be a form and is not (multipart without a boundary) would make
    that lookup fail with a 500, so it is refused here as a bad request.
    """
    if bearer_token(request) is not None:
        return False
    try:
        request.POST  # noqa: B018 (parsed for its error)
    except ValueError:
        raise BadParameter("the request body does not match its Content-Type") from None
    return True


def includeme(config: Configurator) -> None:
    settings = config.get_settings()
    services = config.registry["ampy"].services
    users = UserRegistry(services.sessionmaker)
    config.registry["users"] = users
    config.registry["login_throttle"] = LoginThrottle.from_settings(services.settings)
    config.registry["trusted_proxies"] = parse_proxies(
        str(settings.get("ampweb.trusted_proxies") or "")
    )

    cookie_options: dict[str, Any] = {
        "cookie_name": SESSION_COOKIE,
        "secure": asbool(settings.get("ampweb.secure_cookies", False)),
        "httponly": True,
        "samesite": "Lax",
        "timeout": SESSION_TIMEOUT,
        "reissue_time": SESSION_REISSUE,
    }
    secret = session_secret(settings)
    if secret is None:
        log.info(
            "ampweb.session_secret is not set: session cookies are signed with the secret "
            "kept in the SQL database (table ampweb_secrets), shared by every worker process"
        )
        stored = StoredSecretSessionFactory(users, **cookie_options)
        stored.preload()
        config.set_session_factory(stored)
    else:
        config.set_session_factory(SignedCookieSessionFactory(secret, **cookie_options))
    public_data = asbool(settings.get("ampweb.public_data", False))
    config.set_security_policy(SecurityPolicy(public_data))
    # Every view needs `view` unless it names another permission (or none).
    config.set_default_permission(VIEW)
    config.set_default_csrf_options(require_csrf=True, callback=_check_csrf)
    if public_data:
        log.info("ampweb.public_data is on: anyone may view graphs, the matrix and the API")
