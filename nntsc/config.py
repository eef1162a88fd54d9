"""Settings -> configured services.

One `Services` object is built from the ini settings (with environment
overrides) and handed to the CLI, the collector and the web app alike, so they
all talk to the same stores in the same way.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from nntsc.errors import ConfigurationError
from nntsc.text import decimal_int

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

    from nntsc.live import LiveFeed
    from nntsc.schedules.registry import ScheduleRegistry
    from nntsc.store.paths import PathRegistry
    from nntsc.store.sites import SiteRegistry
    from nntsc.store.streams import StreamRegistry
    from nntsc.store.timeseries import TimeseriesStore

#: Settings that name a service, and the environment variable that overrides each.
ENVIRONMENT_OVERRIDES = {
    "nntsc.sql_url": "NNTSC_SQL_URL",
    "nntsc.timeseries_url": "NNTSC_TIMESERIES_URL",
    "nntsc.amqp_url": "NNTSC_AMQP_URL",
    "nntsc.live_url": "NNTSC_LIVE_URL",
    # The first part of the live feed's channel names (deployments or test runs
    # sharing a Redis database each take their own).
    "nntsc.live_channel_prefix": "NNTSC_LIVE_CHANNEL_PREFIX",
    "ampy.cache_url": "AMPY_CACHE_URL",
    "celery.broker_url": "CELERY_BROKER_URL",
    # The mail server of e-mail notifications (docs/operations.md).
    "nntsc.smtp.host": "NNTSC_SMTP_HOST",
    "nntsc.smtp.port": "NNTSC_SMTP_PORT",
    "nntsc.smtp.user": "NNTSC_SMTP_USER",
    "nntsc.smtp.password": "NNTSC_SMTP_PASSWORD",
    "nntsc.smtp.from": "NNTSC_SMTP_FROM",
    "nntsc.smtp.starttls": "NNTSC_SMTP_STARTTLS",
    "nntsc.smtp.ssl": "NNTSC_SMTP_SSL",
    # Internal networks webhooks may reach all the same (docs/operations.md).
    "nntsc.notification_webhook_allow": "NNTSC_NOTIFICATION_WEBHOOK_ALLOW",
    # Whether anyone may view the data, which decides who may be sent events
    # (nntsc.notifications.delivery); the web app reads the same variable.
    "ampweb.public_data": "AMPWEB_PUBLIC_DATA",
}

DEFAULTS = {
    "nntsc.sql_url": "sqlite:///var/nntsc.sqlite",
    "nntsc.timeseries_url": "sql",
    "nntsc.amqp_url": "amqp://guest:guest@127.0.0.1:5672//",
    "nntsc.live_url": "memory://",
    "nntsc.live_channel_prefix": "nntsc.live",
    "ampy.cache_url": "memory://",
    "celery.broker_url": "redis://127.0.0.1:6379/3",
    "nntsc.raw_retention": "INF",
    "nntsc.rollup_retention": "INF",
    # Where rows beyond the retentions are expired: a thread of the web app
    # (the embedded default, which runs no Celery worker) or the Celery beat.
    "nntsc.expiry": "in_process",
    # Where event groups are pruned every minute: the same choice (docs/events.md).
    "nntsc.event_pruning": "in_process",
    # Where notifications are found and sent: the same choice (docs/events.md).
    "nntsc.notification_delivery": "in_process",
}

#: Values of ``nntsc.expiry`` (as of ``nntsc.event_pruning``).
EXPIRY_MODES = ("in_process", "celery")

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int | None:
    """Seconds in an InfluxDB-style duration such as ``90d``; ``None`` for ``INF``."""
    text = text.strip()
    if text.upper() in ("INF", "0", ""):
        return None
    match = _DURATION.match(text)
    if not match:
        raise ConfigurationError(f"bad duration {text!r}: expected e.g. 90d, 12h or INF")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def resolve_settings(
    settings: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Defaults, then the ini settings, then environment overrides (which win)."""
    environ = os.environ if environ is None else environ
    resolved = dict(DEFAULTS)
    resolved.update({key: str(value) for key, value in settings.items()})
    for key, variable in ENVIRONMENT_OVERRIDES.items():
        if environ.get(variable):
            resolved[key] = environ[variable]
    return resolved


def _enable_sqlite_pragmas(engine: Engine) -> None:
    # WAL lets the web app read while the demo loader writes; foreign keys are
    # off by default in SQLite and we rely on them.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


#: A pooled connection idle for longer than this (seconds) is checked with a
#: round trip (``SELECT 1``) before it is handed out; one used more recently is not.
PING_AFTER_IDLE = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle (`PING_AFTER_IDLE`).

    For the read engine (`Services.read_engine`) alone: SQLAlchemy's
    ``pool_pre_ping`` pings at every checkout, a round trip as long as a
    short indexed read (0.1 to 0.25 ms of the 1.2 ms an API page took in
    process). A connection returned to the pool a moment ago is almost
    certainly alive, so only one idle for longer is pinged, with the
    dialect's own ping; a dead one is replaced by the pool (it retries a
    checkout that raises `DisconnectionError`). What the ping no longer
    catches (a server restarted within the last second, under load) fails
    that one statement as a disconnect, which invalidates the pool's other
    connections; the read engine's statements are single reads whose callers
    retry once on a fresh connection (`ampy.api._reaching_stores`) or run
    again at their next period (the rollup pass, the collector's backlog
    gauge).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["nntsc_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(
        dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object
    ) -> None:
        since = record.info.get("nntsc_idle_since")
        # None: connected just now (a new connection has no checkin yet).
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError(str(error)) from error
            raise


def make_engine(url: str, autocommit: bool = False) -> Engine:
    """A SQLAlchemy engine for `url`; SQLite files get their directory created.

    An `autocommit` engine runs each statement on its own, without the BEGIN
    and ROLLBACK round trips a transaction adds around a single read; a
    pooled connection of one is checked before use when it has been idle
    (`_ping_when_idle`). Any other engine (`Services.engine`: the
    collector's and the event detection's writes, the web app's accounts,
    sessions and saved things, notifications) pings every connection it
    checks out (SQLAlchemy's ``pool_pre_ping``), so that the first
    transaction after a PostgreSQL restart or a terminated backend runs on a
    new connection instead of failing: none of those callers retries, and a
    transaction cannot be retried statement by statement.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url)
        _enable_sqlite_pragmas(engine)
        return engine
    options: dict = {"pool_size": 10, "max_overflow": 10}
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    else:
        options["pool_pre_ping"] = True
    if url.startswith(("postgresql+psycopg2", "postgresql://")):
        # Batches executemany() of UPDATE and DELETE too (rollup marks, stream
        # spans), instead of one round trip per row.
        options["executemany_mode"] = "values_plus_batch"
        # An unreachable server fails a request in seconds instead of hanging it.
        options["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **options)
    if autocommit:
        _ping_when_idle(engine)
    return engine


def positive_seconds(settings: Mapping[str, str], key: str, default: float) -> float:
    """A setting holding a positive number of seconds, `default` when unset."""
    text = str(settings.get(key, "")).strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigurationError(f"{key} {text!r}: expected a positive number of seconds")
    return seconds


@dataclass
class Services:
    """The configured services of one process: SQL engine, time-series store, live feed.

    Build one with `Services.from_settings`; every part is created on first use
    so that a command needing only SQL never connects to InfluxDB.
    """

    settings: dict[str, str]
    _closers: list = field(default_factory=list, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str], environ: Mapping[str, str] | None = None
    ) -> Services:
        return cls(resolve_settings(settings, environ))

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings["nntsc.sql_url"])
        self._closers.append(engine.dispose)
        return engine

    @cached_property
    def read_engine(self) -> Engine:
        """An engine for single-statement reads that need no transaction.

        On PostgreSQL its connections run in autocommit mode: a lookup costs
        one round trip instead of three (measured: 0.15 ms against 0.5 ms
        for the rollup-mark look every graph makes). A SQLite database is
        read through `engine`, as an in-memory one exists once per engine.
        """
        url = self.settings["nntsc.sql_url"]
        if url.startswith("sqlite"):
            return self.engine
        engine = make_engine(url, autocommit=True)
        self._closers.append(engine.dispose)
        return engine

    @cached_property
    def sessionmaker(self) -> sessionmaker[Session]:
        from nntsc.plugins import table_modules

        # Every module's tables, those of plug-in packages too (the web app's users),
        # so that a foreign key to one of them (event ratings -> users) resolves in
        # any process.
        table_modules()
        # Code handed only a session (the event sinks of `nntsc.events.sinks`)
        # reaches the other stores through ``session.info["services"]``.
        return sessionmaker(self.engine, expire_on_commit=False, info={"services": self})

    @cached_property
    def raw_retention(self) -> int | None:
        return parse_duration(self.settings["nntsc.raw_retention"])

    @cached_property
    def rollup_retention(self) -> int | None:
        return parse_duration(self.settings["nntsc.rollup_retention"])

    @cached_property
    def rollup_memory_rows(self) -> int:
        """Raw rows and hourly rows a writing process holds at most to make its hours' and
        days' rollups in memory (``nntsc.rollup_memory_rows``, default `HELD_ROWS`; 0: leave
        them all to the re-reading rollup pass)."""
        from nntsc.store.rollups import HELD_ROWS

        text = self.settings.get("nntsc.rollup_memory_rows", "").strip()
        if not text:
            return HELD_ROWS
        rows = decimal_int(text)
        if rows is None:
            raise ConfigurationError(
                f"nntsc.rollup_memory_rows {text!r}: expected a number of rows (0: none)"
            )
        return rows

    @cached_property
    def retention_period(self) -> float:
        """Seconds between two expiry passes (``nntsc.retention_period``, default an hour)."""
        from nntsc.store.retention import RETENTION_PERIOD

        return positive_seconds(self.settings, "nntsc.retention_period", RETENTION_PERIOD)

    def start_background(self) -> None:
        """Start this process's periodic jobs, where they are its job: expiry, event pruning,
        notifications.

        The pruning of event groups (`nntsc.events.tasks`) runs on a thread
        of this process every minute with ``nntsc.event_pruning =
        in_process`` (the default), and is left to the Celery beat with
        ``celery``. Expiry: see `_start_expiry`. The threads stop at `close`.
        """
        self._start_expiry()
        from nntsc.events.tasks import start_in_process_pruning

        pruner = start_in_process_pruning(self)
        if pruner is not None:
            self._closers.append(pruner.stop)
        # Notifications: a thread of this process too, or the Celery beat and workers.
        from nntsc.notifications.tasks import start_in_process_delivery

        notifier = start_in_process_delivery(self)
        if notifier is not None:
            self._closers.append(notifier.stop)

    def _start_expiry(self) -> None:
        """Start the expiry of rows beyond the retentions in this process, if it is its job.

        With ``nntsc.expiry = in_process`` (the default, for the embedded
        default, which runs no Celery worker) a thread of this process
        expires them every ``nntsc.retention_period`` seconds until `close`;
        nothing starts when both retentions are INF, as nothing would ever
        expire. With ``celery`` (`deploy/production.ini`) the beat and worker
        of `nntsc.tasks` do it and this does nothing.
        """
        mode = self.settings["nntsc.expiry"].strip()
        if mode not in EXPIRY_MODES:
            raise ConfigurationError(
                f"nntsc.expiry {mode!r}: expected one of {', '.join(EXPIRY_MODES)}"
            )
        if mode != "in_process" or (self.raw_retention is None and self.rollup_retention is None):
            return
        from nntsc.store.retention import RetentionThread

        thread = RetentionThread(self.timeseries, self.retention_period)
        thread.start()
        # Closers run last first: the thread stops before the store closes.
        self._closers.append(thread.stop)

    @cached_property
    def timeseries(self) -> TimeseriesStore:
        from nntsc.store import open_timeseries_store

        store = open_timeseries_store(self)
        self._closers.append(store.close)
        return store

    @cached_property
    def streams(self) -> StreamRegistry:
        from nntsc.store.streams import StreamRegistry

        return StreamRegistry(self.engine)

    @cached_property
    def sites(self) -> SiteRegistry:
        """The registry of sites and meshes."""
        from nntsc.store.sites import SiteRegistry

        return SiteRegistry(self.sessionmaker)

    @cached_property
    def schedules(self) -> ScheduleRegistry:
        """The test schedules of sites and meshes."""
        from nntsc.schedules.registry import ScheduleRegistry

        return ScheduleRegistry(self.sessionmaker)

    @cached_property
    def paths(self) -> PathRegistry:
        """The traceroute path registry (deduplicated IP and AS paths in SQL)."""
        from nntsc.store.paths import PathRegistry

        return PathRegistry(self.sessionmaker)

    @cached_property
    def live(self) -> LiveFeed:
        """The live feed named by ``nntsc.live_url``."""
        from nntsc.live import open_live_feed

        feed = open_live_feed(
            self.settings["nntsc.live_url"], self.settings["nntsc.live_channel_prefix"]
        )
        self._closers.append(feed.close)
        return feed

    def ping_sql(self) -> None:
        """Raise `StoreUnavailable` unless the SQL database answers."""
        from nntsc.store.sqlutil import ping

        ping(self.engine)

    def health(self) -> dict[str, str]:
        """Each store's name -> ``ok``, or why it cannot be reached."""
        from nntsc.errors import StoreUnavailable

        status = {}
        for name, ping in (("sql", self.ping_sql), ("timeseries", lambda: self.timeseries.ping())):
            try:
                ping()
                status[name] = "ok"
            except StoreUnavailable as error:
                status[name] = str(error)
        return status

    def close(self) -> None:
        """Release connections (engine pools, HTTP sessions)."""
        while self._closers:
            self._closers.pop()()
