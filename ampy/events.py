"""Events and event groups for the web app and for scripts: lists and one group.

Lists are read newest first a page at a time with a *keyset* cursor: the
answer's ``next_cursor`` names the last item's (time, id), and the next page
starts after it. Each page is one query on an index (``events (ts_onset,
id)``, ``event_groups (ts_started, id)``), however deep the page: no OFFSET
that reads every skipped row, and no count of the whole list.

Group lists show the live groups (open and closed) unless asked for the
merged ones: a merged group was pruned as redundant and its events are in
the group it was merged into (`nntsc.events.pruning`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    and_,
    bindparam,
    distinct,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from ampy.errors import BadCursor, UnknownEvent, UnknownEventGroup
from nntsc.collections import get as get_collection
from nntsc.errors import BadValue
from nntsc.events.filters import EventFilterSpec
from nntsc.events.groups import family_cte, family_parents
from nntsc.events.models import Event, EventGroup, EventGroupMember

__all__ = [
    "FREQUENCY_BIN",
    "GROUP_STATUSES",
    "MAX_CHANGES",
    "MAX_GROUP_EVENTS",
    "MAX_PAGESIZE",
    "EventFilter",
    "EventGroupFilter",
    "EventReader",
    "GroupChanges",
    "KeysetPage",
    "decode_cursor",
    "encode_cursor",
]

#: The most items one page may hold.
MAX_PAGESIZE = 500
#: The most events one group's detail lists (a group spans at most 2 hours).
MAX_GROUP_EVENTS = 1000
#: Which groups a list shows: the live ones (default), the merged ones, or all.
GROUP_STATUSES = {
    "live": ("open", "closed"),
    "open": ("open",),
    "closed": ("closed",),
    "merged": ("merged",),
    "all": ("open", "closed", "merged"),
}
#: The most changed groups one answer of `EventReader.group_changes` lists.
MAX_CHANGES = 500
#: The frequency graph's bin (seconds), and the most of a range it covers.
FREQUENCY_BIN = 1800
FREQUENCY_SPAN = 90 * 86400
#: What the frequency graph covers when the filter sets no start: this much before the end.
FREQUENCY_DEFAULT_SPAN = 30 * 86400
#: Common events: the streams with the most events in this many seconds before now.
COMMON_WINDOW = 86400


def encode_cursor(timestamp: int, item_id: int) -> str:
    """The opaque cursor of the item (`timestamp`, `item_id`): the next page starts after it."""
    return base64.urlsafe_b64encode(f"{timestamp}.{item_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(timestamp, id) of a cursor from `encode_cursor`; `BadCursor` for anything else."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        timestamp, item_id = (int(part) for part in text.split("."))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(cursor) from None
    # Within the columns' ranges: a cursor beyond them was not given out.
    if not (0 <= timestamp < 2**62 and 0 < item_id < 2**63):
        raise BadCursor(cursor)
    return timestamp, item_id


@dataclass(frozen=True)
class KeysetPage:
    """One page, newest first, and the cursor of the next (``None`` on the last page)."""

    items: list[dict[str, Any]]
    pagesize: int
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "pagesize": self.pagesize,
            "next_cursor": self.next_cursor,
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class GroupChanges:
    """What became of the groups since change `since`, seen through a filter.

    ``groups``: the changed groups the filter shows now (new, grown,
    re-judged), newest first; ``removed``: the ids of the changed groups it
    no longer shows (merged, or no longer matching); ``serial``: the change
    they bring the reader up to, to ask from next time. ``complete`` is
    false when more than the limit changed: the reader then has only the
    oldest of the changes up to ``serial`` and should ask again from it.
    """

    serial: int
    groups: list[dict[str, Any]]
    removed: list[int]
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "groups": self.groups,
            "removed": self.removed,
            "complete": self.complete,
        }


@dataclass(frozen=True)
class EventFilter:
    """Which events a list shows: onset in [start, end), and equality filters."""

    start: int | None = None
    end: int | None = None
    collection: str | None = None
    stream_ids: Sequence[int] = ()
    detector: str | None = None
    kind: str | None = None
    min_severity: int | None = None
    #: Only events of the streams of this view's lines (resolved by `ampy.api.Ampy.events`).
    view_id: str | None = None


@dataclass(frozen=True)
class EventGroupFilter:
    """Which groups a list shows: start in [start, end), and what their key and members are."""

    start: int | None = None
    end: int | None = None
    status: str = "live"
    direction: str | None = None
    key_kind: str | None = None
    #: Groups that point at this ASN (alone or among others).
    asn: int | None = None
    #: Groups keyed by this source or target.
    endpoint: str | None = None
    min_severity: int | None = None
    min_events: int | None = None
    #: Only groups that stand for this event (its own groups, or those they were merged into).
    event_id: int | None = None
    #: The dashboard's filter (`nntsc.events.filters`), on top of the fields above.
    spec: EventFilterSpec | None = None


EVENT_COLUMNS = (
    "id",
    "collection",
    "stream_id",
    "detector",
    "metric",
    "kind",
    "direction",
    "ts_onset",
    "ts_detected",
    "ts_ended",
    "severity",
    "old_value",
    "new_value",
    "unit",
    "description",
    "source",
    "target",
    "details",
)
GROUP_COLUMNS = (
    "id",
    "key",
    "key_kind",
    "direction",
    "ts_started",
    "ts_ended",
    "ts_updated",
    "severity",
    "event_count",
    "source_count",
    "target_count",
    "endpoint_count",
    "status",
    "merged_into",
    "merged_by",
    "asns",
)


#: Statements of group pages kept by `EventReader._kept_statement` (filters people use
#: are few; one a client makes up each time only ever replaces the set).
MAX_KEPT_STATEMENTS = 256


def _check_range(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and end <= start:
        raise BadValue("end", "must be after start")


def _check_status(status: str) -> tuple[str, ...]:
    """The group statuses `status` (a key of `GROUP_STATUSES`) lists; `BadValue` if unknown."""
    statuses = GROUP_STATUSES.get(status)
    if statuses is None:
        raise BadValue("status", f"must be one of {', '.join(GROUP_STATUSES)}")
    return statuses


def _check_pagesize(pagesize: int) -> None:
    if not 1 <= pagesize <= MAX_PAGESIZE:
        raise BadValue("pagesize", f"must be between 1 and {MAX_PAGESIZE}")


def _chunks(values: Sequence[int], size: int = 1000) -> list[list[int]]:
    """`values` in lists of at most `size`: bounded IN lists."""
    return [list(values[start : start + size]) for start in range(0, len(values), size)]


def _group_dict(row: Any) -> dict[str, Any]:
    """A row selected as `GROUP_COLUMNS` as the API shows it (``asns`` a sorted list)."""
    # Zipped by position: each ``row._mapping[name]`` builds a mapping view (a
    # third of the reader's Python time for a page of 20 groups).
    item = dict(zip(GROUP_COLUMNS, row, strict=True))
    item["asns"] = list(_asn_list(item["asns"]))
    return item


@functools.lru_cache(maxsize=4096)
def _asn_list(text: str) -> tuple[int, ...]:
    """The ASNs of an ``asns`` column ("64496 64500"), sorted: a handful of distinct
    texts serve every page, and parsing one cost as much as the rest of its row."""
    return tuple(sorted(map(int, text.split())))


def _event_dict(row: Any) -> dict[str, Any]:
    """A row selected as `EVENT_COLUMNS`, as a dict."""
    return dict(zip(EVENT_COLUMNS, row, strict=True))


@dataclass
class _KeptStatement:
    """A group page's statement kept by `EventReader._kept_statement`, and, when the
    driver can run it as it is, its text and parameters for the driver (`driver_form`)."""

    select: Select
    #: The statement's text in the driver's parameter style, compiled once; ``None``
    #: when it must go through SQLAlchemy (another driver, a type that converts values).
    driver_sql: str | None
    #: Its parameters' values (the cursor's are replaced by each call's).
    driver_params: dict[str, Any]
    #: The same statement prepared on the server (`run_prepared`), where `driver_sql` is.
    prepared: PreparedStatement | None = None
    #: How many times it was run on the driver (threads may race: a count, not a key).
    runs: int = 0


def driver_form(statement: Select, engine: Engine) -> tuple[str | None, dict[str, Any]]:
    """`statement` compiled once for `engine` to what psycopg2 runs, with its parameters.

    ``(None, {})`` unless the driver is psycopg2 and the statement needs nothing
    SQLAlchemy does at each execution: no list parameter expanded into the
    text (``IN``), no value converted on the way in or out by a column's type,
    no escaped parameter name. What is left is what SQLAlchemy hands psycopg2
    anyway: the same text and the same values.
    """
    dialect = engine.dialect
    if dialect.driver != "psycopg2" or dialect.paramstyle != "pyformat":
        return None, {}
    compiled = statement.compile(dialect=dialect)
    if (
        compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or any(
            bind.type.dialect_impl(dialect).bind_processor(dialect) is not None
            for bind in compiled.binds.values()
        )
        or any(
            column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
            for column in statement.selected_columns
        )
    ):
        return None, {}
    return compiled.string, dict(compiled.construct_params())


@contextmanager
def _driver_cursor(
    engine: Engine, sql: str, params: Mapping[str, Any]
) -> Iterator[tuple[PoolProxiedConnection, Any]]:
    """A pooled connection of `engine` and a driver cursor on it, for `run_on_driver` and
    `run_prepared`: both returned when done, and a driver error raised as SQLAlchemy's
    (`sql` and `params` name the statement in it). A lost connection is invalidated and
    the engine's pool replaced (see `run_on_driver`)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield connection, cursor
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as error:
        lost = engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
            engine.dispose()
        raise DBAPIError.instance(
            sql,
            dict(params),
            error,
            engine.dialect.loaded_dbapi.Error,
            hide_parameters=engine.hide_parameters,
            connection_invalidated=lost,
            dialect=engine.dialect,
        ) from error
    finally:
        connection.close()


def run_on_driver(engine: Engine, sql: str, params: Mapping[str, Any]) -> Sequence[Any]:
    """The rows of `sql` (from `driver_form`), run on a driver cursor of a pooled connection.

    What `Connection.execute` would do, without its per-call Python (a third of
    an API page's CPU): the connection is checked out of and returned to the
    engine's pool (its events run: the ping of an idle connection), and a driver
    error is raised as SQLAlchemy raises it (`sqlalchemy.exc.DBAPIError`'s
    subclass of it). A lost connection is invalidated and the engine's pool
    replaced (`Engine.dispose`: the pool's other connections are most likely
    lost with it, as `Connection` assumes when it invalidates them all), so
    that the caller's retry (`ampy.api._reaching_stores`) gets a new one.
    Only SQLAlchemy's public API is used: a statement `driver_form` accepts
    is one SQLAlchemy would hand the driver unchanged. `params` is a mapping
    (psycopg2 reads ``%`` as a placeholder in `sql` whenever it is given one,
    so ``%%`` in `sql` stands for ``%``, as in SQLAlchemy's compiled text).
    """
    with _driver_cursor(engine, sql, params) as (_connection, cursor):
        cursor.execute(sql, params)
        return cursor.fetchall()


#: A kept page statement run this many times in the process is prepared on the server
#: from then on (`run_prepared`): one asked once or twice (a group's own id, a rare
#: filter) is not worth the extra round trip of its ``PREPARE`` on each connection.
PREPARE_AFTER = 2
#: The names `run_prepared` has prepared on a pooled connection (in its ``info``, which
#: SQLAlchemy drops with the connection when it is replaced).
PREPARED_KEY = "ampy.prepared"
#: The most statements `run_prepared` keeps prepared on one connection: past it, they are
#: all deallocated and prepared again as they are used.
MAX_PREPARED = 256
#: The server's errors after which a prepared statement is prepared again, once: it is
#: gone (``DEALLOCATE ALL``, ``DISCARD ALL`` by someone else on the connection), or
#: the tables changed under it ("cached plan must not change result type").
_PREPARE_AGAIN = frozenset({"26000", "0A000"})


@dataclass(frozen=True)
class PreparedStatement:
    """A statement from `driver_form` as a server-side prepared statement (PostgreSQL's
    ``PREPARE``, run by ``EXECUTE``), for `run_prepared`.

    The values of `driver_params` but those named `varying` are written into the
    prepared text as psycopg2 writes them (the same text the driver would send);
    the `varying` ones (a page's cursor) are the prepared statement's parameters,
    given at each ``EXECUTE``. The name is derived from the text and values, so the
    same statement has the same name in every reader of the process.
    """

    sql: str
    constants: dict[str, Any]
    varying: tuple[str, ...]
    name: str
    #: ``EXECUTE name(%(a)s, ...)``: its text for the driver.
    execute_sql: str

    @classmethod
    def of(cls, sql: str, params: Mapping[str, Any], varying: Sequence[str]) -> PreparedStatement:
        constants = {key: value for key, value in params.items() if key not in varying}
        digest = hashlib.blake2b(
            repr((sql, sorted(constants.items()), tuple(varying))).encode(), digest_size=10
        ).hexdigest()
        name = f"ampy_{digest}"
        arguments = ", ".join(f"%({key})s" for key in varying)
        return cls(
            sql,
            constants,
            tuple(varying),
            name,
            f"EXECUTE {name}({arguments})" if varying else f"EXECUTE {name}",
        )

    def prepare_sql(self, cursor: Any) -> str:
        """``PREPARE name AS ...``: the text with the constants written in by `cursor`
        (psycopg2's ``mogrify``) and the varying values as ``$1``, ``$2``..."""
        text = self.sql
        for number, key in enumerate(self.varying, start=1):
            text = text.replace(f"%({key})s", f"${number}")
        body = cursor.mogrify(text, self.constants)
        return f"PREPARE {self.name} AS " + (body.decode() if isinstance(body, bytes) else body)


def run_prepared(
    engine: Engine, statement: PreparedStatement, params: Mapping[str, Any]
) -> Sequence[Any]:
    """The rows of `statement` given `params` (its varying values), prepared on the server.

    A statement run with its values written into its text is parsed and
    planned by PostgreSQL at each call (about 0.1 ms of the 0.2 to 0.3 ms
    an API page of groups waits for its query); a prepared one is planned
    once per connection, its plan kept as long as the tables' definitions
    are. Each pooled connection prepares it the first time it runs it
    (remembered in the connection's ``info``, which goes with it when the
    pool replaces it). When the server no longer has it (deallocated by
    someone else) or refuses its plan after a change to the tables, it is
    prepared again and run once more. On a connection in a transaction (not
    autocommit), where a failed statement would abort the rest, and once
    the connection holds `MAX_PREPARED` of them, the bookkeeping is kept
    simple: the first runs the text as `run_on_driver` does, the second
    deallocates all before preparing. Errors, the pool and a lost connection
    are as in `run_on_driver`.
    """
    values = {**statement.constants, **params}
    with _driver_cursor(engine, statement.sql, values) as (connection, cursor):
        driver = connection.driver_connection
        if driver is None or not driver.autocommit:
            cursor.execute(statement.sql, values)
            return cursor.fetchall()
        prepared: set[str] = connection.info.setdefault(PREPARED_KEY, set())
        if statement.name not in prepared:
            _prepare(cursor, statement, prepared)
        execute_params = {key: params[key] for key in statement.varying} or None
        try:
            cursor.execute(statement.execute_sql, execute_params)
        except engine.dialect.loaded_dbapi.Error as error:
            if getattr(error, "pgcode", None) not in _PREPARE_AGAIN:
                raise
            prepared.discard(statement.name)
            if error.pgcode == "0A000":
                # Still prepared, with a plan the server will no longer run.
                cursor.execute(f"DEALLOCATE {statement.name}")
            _prepare(cursor, statement, prepared)
            cursor.execute(statement.execute_sql, execute_params)
        return cursor.fetchall()


def _prepare(cursor: Any, statement: PreparedStatement, prepared: set[str]) -> None:
    if len(prepared) >= MAX_PREPARED:
        cursor.execute("DEALLOCATE ALL")
        prepared.clear()
    cursor.execute(statement.prepare_sql(cursor))
    prepared.add(statement.name)


def _groups_standing_for(event_id: int) -> Select:
    """The ids of the groups that stand for an event: the groups it is a member of, and
    the groups those were merged into, up the chain (`family_cte` upward)."""
    members = EventGroupMember.__table__
    holders = family_cte(
        select(members.c.group_id.label("id")).where(members.c.event_id == event_id),
        upward=True,
        name="holders",
    )
    return select(holders.c.id)


class EventReader:
    """Reads events and groups (single statements, on the read engine)."""

    def __init__(self, read_engine: Engine, sessions: sessionmaker[Session]) -> None:
        self.engine = read_engine
        self.sessions = sessions
        #: `_kept_statement`'s statements by shape (bounded: cleared when full).
        self._group_statements: dict[tuple[EventGroupFilter, bool, int], _KeptStatement] = {}

    # -- events ----------------------------------------------------------------------------

    def events_query(self, filters: EventFilter, cursor: str | None, pagesize: int) -> Select:
        """The statement of one page of events (exposed for the benchmark's bare comparison)."""
        table = Event.__table__
        query = select(*(table.c[name] for name in EVENT_COLUMNS))
        if filters.start is not None:
            query = query.where(table.c.ts_onset >= filters.start)
        if filters.end is not None:
            query = query.where(table.c.ts_onset < filters.end)
        if filters.collection:
            get_collection(filters.collection)
            query = query.where(table.c.collection == filters.collection)
        if filters.stream_ids:
            query = query.where(table.c.stream_id.in_(sorted(set(filters.stream_ids))))
        if filters.detector:
            query = query.where(table.c.detector == filters.detector)
        if filters.kind:
            query = query.where(table.c.kind == filters.kind)
        if filters.min_severity is not None:
            query = query.where(table.c.severity >= filters.min_severity)
        if cursor is not None:
            query = query.where(tuple_(table.c.ts_onset, table.c.id) < decode_cursor(cursor))
        return query.order_by(table.c.ts_onset.desc(), table.c.id.desc()).limit(pagesize + 1)

    def events(
        self, filters: EventFilter, cursor: str | None = None, pagesize: int = 50
    ) -> KeysetPage:
        """One page of events, newest onset first."""
        _check_range(filters.start, filters.end)
        _check_pagesize(pagesize)
        with self.engine.connect() as connection:
            rows = connection.execute(self.events_query(filters, cursor, pagesize)).all()
        items = [_event_dict(row) for row in rows[:pagesize]]
        last = items[-1] if len(rows) > pagesize else None
        return KeysetPage(
            items, pagesize, encode_cursor(last["ts_onset"], last["id"]) if last else None
        )

    def event(self, event_id: int) -> dict[str, Any]:
        """One event; `UnknownEvent` if there is none with that id."""
        table = Event.__table__
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*(table.c[name] for name in EVENT_COLUMNS)).where(table.c.id == event_id)
            ).first()
        if row is None:
            raise UnknownEvent(event_id)
        return _event_dict(row)

    # -- groups ----------------------------------------------------------------------------

    def groups_query(
        self,
        filters: EventGroupFilter,
        cursor: str | None,
        pagesize: int,
        now: int | None = None,
        plan: str | tuple[int, ...] | None = None,
    ) -> Select:
        """The statement of one page of groups (exposed for the benchmark's bare comparison).

        A relative range of `filters.spec` ("the last 24h") is taken back from `now`;
        `plan`: how its event conditions are asked (`EventFilterSpec.groups_clause`).
        """
        table = EventGroup.__table__
        statuses = _check_status(filters.status)
        query = select(*(table.c[name] for name in GROUP_COLUMNS))
        if len(statuses) < len(GROUP_STATUSES["all"]):
            # Each status its own equality (not IN, whose list SQLAlchemy expands into the
            # SQL text on every execution, a tenth of its work for a page).
            query = query.where(or_(*(table.c.status == status for status in statuses)))
        if filters.start is not None:
            query = query.where(table.c.ts_started >= filters.start)
        if filters.end is not None:
            query = query.where(table.c.ts_started < filters.end)
        if filters.direction:
            query = query.where(table.c.direction == filters.direction)
        if filters.key_kind:
            query = query.where(table.c.key_kind == filters.key_kind)
        if filters.asn is not None:
            # `asns` is "64496 64500": padded, a whole number matches, not a part.
            query = query.where((" " + table.c.asns + " ").like(f"% {int(filters.asn)} %"))
        if filters.endpoint:
            query = query.where(
                table.c.key.in_([f"source:{filters.endpoint}", f"target:{filters.endpoint}"])
            )
        if filters.min_severity is not None:
            query = query.where(table.c.severity >= filters.min_severity)
        if filters.min_events is not None:
            query = query.where(table.c.event_count >= filters.min_events)
        if filters.event_id is not None:
            query = query.where(table.c.id.in_(_groups_standing_for(filters.event_id)))
        if filters.spec is not None:
            query = query.where(filters.spec.groups_clause(now, plan))
        if cursor is not None:
            # Bound parameters: the same statement (and SQLAlchemy's compiled form of
            # it) serves every cursor, see `_kept_statement`.
            query = query.where(
                tuple_(table.c.ts_started, table.c.id)
                < tuple_(
                    bindparam("cursor_started", type_=table.c.ts_started.type),
                    bindparam("cursor_id", type_=table.c.id.type),
                )
            )
            started, group_id = decode_cursor(cursor)
            query = query.params(cursor_started=started, cursor_id=group_id)
        return query.order_by(table.c.ts_started.desc(), table.c.id.desc()).limit(pagesize + 1)

    def _kept_statement(
        self, filters: EventGroupFilter, with_cursor: bool, pagesize: int
    ) -> _KeptStatement | None:
        """`groups_query`'s statement kept per shape, or ``None`` for a filter that cannot be.

        Building a Select costs more Python than the rest of a page. A filter
        whose statement depends neither on the time (a relative range) nor on
        the events' plan keeps the Select it built, one per (filter, with a
        cursor or not, page size), the cursor's values given as parameters
        (``cursor_started``, ``cursor_id``); any other filter is built afresh.
        A kept statement is compiled once more to the driver's text
        (`driver_form`), which `groups` runs on a driver cursor, and from its
        third run (`PREPARE_AFTER`) as a statement prepared on the server
        (`run_prepared`, the cursor's values its parameters); where it cannot
        be, `Connection.execute` runs the kept Select (it computes its cache
        key once, and SQLAlchemy keeps its compiled form and its result's
        column set-up by that key).
        """
        spec = filters.spec
        if spec is not None and (
            spec.has_event_conditions or (spec.start is None and spec.range != "all")
        ):
            return None
        key = (filters, with_cursor, pagesize)
        kept = self._group_statements.get(key)
        if kept is None:
            # Any cursor: its values are replaced by the call's parameters.
            placeholder = encode_cursor(0, 1) if with_cursor else None
            statement = self.groups_query(filters, placeholder, pagesize)
            sql, params = driver_form(statement, self.engine)
            prepared = None
            if sql is not None:
                varying = ("cursor_started", "cursor_id") if with_cursor else ()
                prepared = PreparedStatement.of(sql, params, varying)
            kept = _KeptStatement(statement, sql, params, prepared)
            if len(self._group_statements) >= MAX_KEPT_STATEMENTS:
                self._group_statements.clear()
            self._group_statements[key] = kept
        return kept

    def _driver_direct(self) -> bool:
        """Whether a statement may skip `Connection` (`run_on_driver`): not when someone
        listens to the engine's statements or errors (tests, counters) or logs them."""
        engine = self.engine
        dispatch = engine.dispatch
        return not (
            dispatch.before_cursor_execute
            or dispatch.after_cursor_execute
            or dispatch.before_execute
            or dispatch.after_execute
            or dispatch.engine_connect
            or engine.dialect.dispatch.handle_error
            or engine._should_log_info()
        )

    def groups(
        self, filters: EventGroupFilter, cursor: str | None = None, pagesize: int = 20
    ) -> KeysetPage:
        """One page of groups, newest start first, without their events (see `group`)."""
        _check_range(filters.start, filters.end)
        _check_pagesize(pagesize)
        kept = self._kept_statement(filters, cursor is not None, pagesize)
        params: dict[str, int] = {}
        if kept is not None and cursor is not None:
            params["cursor_started"], params["cursor_id"] = decode_cursor(cursor)
        if kept is not None and kept.prepared is not None and self._driver_direct():
            kept.runs += 1
            rows: Sequence[Any]
            if kept.runs > PREPARE_AFTER:
                rows = run_prepared(self.engine, kept.prepared, params)
            else:
                rows = run_on_driver(
                    self.engine, kept.prepared.sql, {**kept.driver_params, **params}
                )
        else:
            rows = self._groups_rows(filters, cursor, pagesize, kept, params)
        items = [_group_dict(row) for row in rows[:pagesize]]
        last = items[-1] if len(rows) > pagesize else None
        return KeysetPage(
            items, pagesize, encode_cursor(last["ts_started"], last["id"]) if last else None
        )

    def _groups_rows(
        self,
        filters: EventGroupFilter,
        cursor: str | None,
        pagesize: int,
        kept: _KeptStatement | None,
        params: dict[str, int],
    ) -> Sequence[Any]:
        """The rows of a page (one more than `pagesize` if there are more) through `Connection`."""
        # A filter on the events makes PostgreSQL's estimate of the page high enough
        # to compile it (JIT): 10-300 ms spent on a statement that then runs in 1 ms.
        no_jit = (
            filters.spec is not None
            and filters.spec.has_event_conditions
            and self.engine.dialect.name == "postgresql"
        )
        with self.engine.connect() as connection:
            if no_jit:
                # SET LOCAL: undone with the read's transaction, whether the
                # statement succeeds or fails, so the pooled connection keeps
                # the server's setting for whoever uses it next. The read engine
                # runs each statement in a transaction of its own (autocommit),
                # where SET LOCAL would last for itself alone: this read takes one
                # transaction for its statements (rolled back when it ends).
                connection.execution_options(isolation_level="READ COMMITTED")
                connection.exec_driver_sql("SET LOCAL jit = off")
            if kept is not None:
                return connection.execute(kept.select, params).all()
            # Event conditions: from the matching events when few match, else group by
            # group (a probe of the events decides; the same groups either way).
            now = int(time.time())
            plan = filters.spec.choose_plan(connection, now) if filters.spec is not None else None
            if plan == ():
                # No event meets the conditions in the filter's window: no group
                # stands for one, and the page (whose statement would start from
                # those events) is empty. Its arguments are checked all the same.
                _check_status(filters.status)
                if cursor is not None:
                    decode_cursor(cursor)
                return []
            return connection.execute(self.groups_query(filters, cursor, pagesize, now, plan)).all()

    def change_serial(self) -> int:
        """The number of the newest change to groups (0 before any): one index probe.

        Grouping and pruning stamp the groups each transaction writes with
        the next number (`nntsc.events.groups.next_change_serial`), committed
        in order; an idle dashboard compares this with the one it has seen.
        """
        table = EventGroup.__table__
        with self.engine.connect() as connection:
            highest = connection.execute(select(func.max(table.c.change_serial))).scalar()
        return int(highest or 0)

    def group_changes(
        self, filters: EventGroupFilter, since: int, limit: int = MAX_CHANGES
    ) -> GroupChanges:
        """The groups changed after change `since`, split by whether `filters` shows them.

        Two queries when something changed (the changed ids, then those of
        them the filter's own list query keeps), one when nothing did. At
        most `limit` changed groups are read, the oldest changes first, and
        the answer's serial is then that of the last change read in full.
        """
        _check_range(filters.start, filters.end)
        if not 1 <= limit <= MAX_CHANGES:
            raise BadValue("limit", f"must be between 1 and {MAX_CHANGES}")
        if since < 0:
            raise BadValue("since", "must be at least 0")
        table = EventGroup.__table__
        with self.engine.connect() as connection:
            changed = connection.execute(
                select(table.c.id, table.c.change_serial)
                .where(table.c.change_serial > since)
                .order_by(table.c.change_serial, table.c.id)
                .limit(limit + 1)
            ).all()
            if not changed:
                return GroupChanges(since, [], [])
            complete = len(changed) <= limit
            if complete:
                serial = changed[-1].change_serial
            else:
                # Only whole changes: up to the one before the first cut short.
                first = changed[0].change_serial
                serial = changed[limit].change_serial - 1
                changed = [row for row in changed if row.change_serial <= serial]
                if not changed:
                    # One change alone is larger than the limit: take all of it.
                    serial = first
                    changed = connection.execute(
                        select(table.c.id, table.c.change_serial).where(
                            table.c.change_serial == serial
                        )
                    ).all()
            ids = sorted(row.id for row in changed)
            shown = connection.execute(
                self.groups_query(filters, None, len(ids)).where(table.c.id.in_(ids))
            ).all()
        groups = [_group_dict(row) for row in shown]
        kept = {group["id"] for group in groups}
        return GroupChanges(serial, groups, [i for i in ids if i not in kept], complete)

    def groups_events(
        self, group_ids: Sequence[int], limit: int = MAX_GROUP_EVENTS
    ) -> dict[int, list[dict[str, Any]]]:
        """The events each group stands for (oldest first, at most `limit` each), by index.

        What `group` lists for one group, for a whole page of groups at once
        (the dashboard): the groups' merges are followed a level at a time
        (`nntsc.events.groups.family_parents`), then one query reads the
        memberships of all the groups found and one their events (each
        once), all by index, instead of statements per group. Not one
        recursive statement: PostgreSQL cannot estimate how few groups its
        levels hold, and scans every group, membership and event (35 ms at
        5,000 events, and growing with the tables).
        """
        found: dict[int, list[dict[str, Any]]] = {group_id: [] for group_id in group_ids}
        if not group_ids:
            return found
        members = EventGroupMember.__table__
        events = Event.__table__
        asked = set(group_ids)
        with self.engine.connect() as connection:
            # Down the merges a level at a time (`family_parents`): a recursive
            # statement is planned as if the levels were large and scans every group.
            parent = family_parents(connection, asked)
            # Each group found, and the asked groups it stands in (itself, those above it).
            roots: dict[int, list[int]] = {}
            for group_id in parent:
                visited: set[int] = set()
                node: int | None = group_id
                while node is not None and node not in visited:
                    visited.add(node)
                    node = parent.get(node)
                roots[group_id] = sorted(visited & asked)
            # Each event, and the asked groups that stand for it (once however many
            # of their groups hold it).
            of_root: dict[int, set[int]] = defaultdict(set)
            for chunk in _chunks(sorted(roots)):
                memberships: Iterable[tuple[int, int]] = connection.execute(
                    select(members.c.group_id, members.c.event_id).where(
                        members.c.group_id.in_(chunk)
                    )
                )
                for group_id, event_id in memberships:
                    of_root[event_id].update(roots[group_id])
            # By their ids (a subquery would be estimated at every membership and scanned).
            rows: list[Any] = []
            for chunk in _chunks(sorted(of_root)):
                rows.extend(
                    connection.execute(
                        select(*(events.c[name] for name in EVENT_COLUMNS)).where(
                            events.c.id.in_(chunk)
                        )
                    )
                )
        for event in sorted(
            (_event_dict(row) for row in rows), key=lambda e: (e["ts_onset"], e["id"])
        ):
            for root in sorted(of_root[event["id"]]):
                listed = found[root]
                if len(listed) < limit:
                    listed.append(dict(event))
        return found

    def group(self, group_id: int, streams: Any) -> dict[str, Any]:
        """One group with its events (oldest first, at most `MAX_GROUP_EVENTS`) and their streams.

        Its events are those it stands for: its own and those of the groups
        merged into it (`nntsc.events.groups.family_parents`), as its
        `event_count` counts them. The family is read first, a level of merges
        at a time, then its events by the members of those groups: a recursive
        statement around the events was planned as a scan of every event in
        onset order, each tested against the family (0.6 s at 100,000 events).

        `streams` is the `nntsc.store.streams.StreamRegistry` that names the
        streams' properties. A merged group answers too, with the group it
        was merged into (`merged_into`). `UnknownEventGroup` if none has the id.
        """
        groups = EventGroup.__table__
        members = EventGroupMember.__table__
        events = Event.__table__
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*(groups.c[name] for name in GROUP_COLUMNS)).where(groups.c.id == group_id)
            ).first()
            if row is None:
                raise UnknownEventGroup(group_id)
            family = sorted(family_parents(connection, [group_id]))
            found = connection.execute(
                select(*(events.c[name] for name in EVENT_COLUMNS))
                .where(
                    events.c.id.in_(
                        select(members.c.event_id).where(members.c.group_id.in_(family))
                    )
                )
                .order_by(events.c.ts_onset, events.c.id)
                .limit(MAX_GROUP_EVENTS + 1)
            ).all()
        group = _group_dict(row)
        group["events"] = [_event_dict(r) for r in found[:MAX_GROUP_EVENTS]]
        group["events_truncated"] = len(found) > MAX_GROUP_EVENTS
        by_collection: dict[str, set[int]] = defaultdict(set)
        for event in group["events"]:
            by_collection[event["collection"]].add(event["stream_id"])
        group["streams"] = [
            {"stream_id": stream_id, "collection": name, "properties": properties}
            for name, ids in sorted(by_collection.items())
            for stream_id, properties in sorted(
                streams.properties_of(get_collection(name), sorted(ids)).items()
            )
        ]
        return group

    # -- statistics ------------------------------------------------------------------------

    def frequency(
        self, spec: EventFilterSpec, now: int | None = None, binsize: int = FREQUENCY_BIN
    ) -> dict[str, Any]:
        """Events per `binsize` seconds of onset: the events of the live groups `spec` selects.

        One aggregate statement: the matching groups (`spec.groups_clause`),
        the groups merged into them (the events each stands for, as
        `groups_events` finds them), their events that meet the filter's
        event conditions, each once, counted per bin. The bins cover the
        filter's window, at most `FREQUENCY_SPAN` of it (its end); without a
        start, from the first event of the `FREQUENCY_DEFAULT_SPAN` before the
        end (at least the last day). Answers ``{start, end, binsize, times,
        counts}``, a count for every bin.
        """
        now = int(time.time()) if now is None else now
        start, end = spec.window(now)
        # Up to the end of the bin that holds now, so that the last bin is whole.
        end = now - now % binsize + binsize if end is None else end
        open_start = start is None
        start = end - FREQUENCY_DEFAULT_SPAN if start is None else start
        start = max(start, end - FREQUENCY_SPAN)
        events = Event.__table__
        bin_start = (events.c.ts_onset // binsize) * binsize
        in_range = and_(events.c.ts_onset >= start, events.c.ts_onset < end, spec.events_clause())
        if spec.has_group_conditions:
            groups = EventGroup.__table__
            members = EventGroupMember.__table__
            family = family_cte(
                select(groups.c.id.label("id"))
                # Every matching group is read here, not a page: events first is the cheaper plan.
                .where(
                    groups.c.status.in_(GROUP_STATUSES["live"]),
                    spec.groups_clause(now, plan="events"),
                ),
                name="frequency_family",
            )
            query = (
                select(bin_start.label("bin"), func.count(distinct(events.c.id)))
                .where(
                    events.c.id.in_(
                        select(members.c.event_id).where(
                            members.c.group_id.in_(select(family.c.id))
                        )
                    ),
                    in_range,
                )
                .group_by(bin_start)
            )
        else:
            # Without conditions on the groups, the events of the matching groups are
            # the events in the range that meet the event conditions (every event is
            # one a live group stands for): counted on the (ts_onset, id) index alone,
            # not through every live group's merges (30 times faster on 100,000 events).
            query = select(bin_start.label("bin"), func.count(events.c.id)).where(in_range)
            query = query.group_by(bin_start)
        with self.engine.connect() as connection:
            counted = {int(row[0]): int(row[1]) for row in connection.execute(query)}
        first = start - start % binsize
        if open_start:
            # No start asked for: from the first event (but a day at least), not 30 empty days.
            day = end - COMMON_WINDOW
            first = max(first, min([*counted, day - day % binsize]))
            start = max(start, first)
        times = list(range(first, end, binsize))
        return {
            "start": start,
            "end": end,
            "binsize": binsize,
            "times": times,
            "counts": [counted.get(ts, 0) for ts in times],
        }

    def common_streams(
        self, spec: EventFilterSpec, now: int | None = None, limit: int = 10
    ) -> list[dict[str, Any]]:
        """The streams with the most events in the `COMMON_WINDOW` before `now`, most first.

        Of the events that meet `spec`'s event conditions (sources, targets,
        kinds, collections); its group conditions do not apply (they are
        about groups, and these are streams). One aggregate statement.
        Each: ``{stream_id, collection, events, max_severity, last_onset}``.
        """
        now = int(time.time()) if now is None else now
        events = Event.__table__
        count = func.count(events.c.id)
        query = (
            select(
                events.c.stream_id,
                events.c.collection,
                count.label("events"),
                func.max(events.c.severity).label("max_severity"),
                func.max(events.c.ts_onset).label("last_onset"),
            )
            .where(events.c.ts_onset >= now - COMMON_WINDOW, spec.events_clause())
            .group_by(events.c.stream_id, events.c.collection)
            .order_by(count.desc(), events.c.stream_id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]
