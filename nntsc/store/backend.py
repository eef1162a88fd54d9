"""What a time-series backend provides: the primitives `TimeseriesStore` is built on.

A backend (SQL or InfluxDB) writes and reads raw rows and rollup rows, finds
the newest timestamp after a bound, sums rollup columns, and creates its
schema. Everything shared between backends (rollup marks, the rollup pass,
query planning, retention routing) lives above it, in
`nntsc.store.timeseries`, `nntsc.store.rollups` and `nntsc.store.planner`.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nntsc.collections import Collection, Row
from nntsc.errors import ConfigurationError
from nntsc.store.models import rollup_columns

#: A row as a backend reads it: (stream id, timestamp, values by name).
RawRow = tuple[int, int, dict[str, Any]]


@dataclass
class WriteResult:
    """What a write did: rows stored raw, rows summarised straight into rollups, rows lost."""

    written: int = 0
    routed_to_rollups: int = 0
    dropped: int = 0
    dropped_reasons: list[str] = field(default_factory=list)

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.written += other.written
        self.routed_to_rollups += other.routed_to_rollups
        self.dropped += other.dropped
        self.dropped_reasons.extend(other.dropped_reasons)
        return self


@dataclass
class Expired:
    """Rows one expiry pass deleted: raw rows, and rollup rows of every level."""

    raw: int = 0
    rollups: int = 0


@dataclass(frozen=True)
class RollupRead:
    """The `columns` of the rollup rows of `level` in [start, end), for one aggregate."""

    level: int
    start: int
    end: int
    columns: Sequence[str]


class TimeseriesBackend(abc.ABC):
    """Where raw and rollup rows live; see the module docstring."""

    kind: ClassVar[str]
    #: Whether raw rows live in the SQL database (then written in the marks' transaction).
    raw_in_sql: ClassVar[bool] = False

    def __init__(self, raw_retention: int | None = None, rollup_retention: int | None = None):
        #: Seconds raw rows are kept (None: for ever).
        self.raw_retention = raw_retention
        #: Seconds rollup rows are kept (None: for ever).
        self.rollup_retention = rollup_retention

    @property
    def late_retention(self) -> int | None:
        """The age beyond which a written row must go to `write_late`, or None.

        A backend that refuses rows older than its raw retention (InfluxDB
        drops them on write) returns that retention; one that keeps such
        rows raw until `expire` deletes them returns None.
        """
        return None

    @abc.abstractmethod
    def ensure_schema(self) -> None:
        """Create what the backend needs beyond the SQL migrations; idempotent."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the backend answers."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections."""

    @abc.abstractmethod
    def encode_raw(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> Any:
        """Rows in the form `write_raw` sends (CPU work only, no I/O)."""

    @abc.abstractmethod
    def write_raw(
        self, collection: Collection, rows: Sequence[Row], payload: Any, connection: Any
    ) -> WriteResult:
        """Send encoded rows; `connection` is the SQL transaction of the rollup marks."""

    @abc.abstractmethod
    def read_raw(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None,
        fields: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        """Raw rows in [start, end), by stream then time; at most `limit`.

        With `fields`, the rows hold only those fields (the store may leave
        out rows where all of them are null).
        """

    @abc.abstractmethod
    def write_rollup(
        self,
        collection: Collection,
        level: int,
        rows: Sequence[Row],
        connection: Any,
        kept: Sequence[Any] | None = None,
    ) -> None:
        """Write rollup rows (values are `rollup_columns`), replacing existing bins.

        `kept`, if given, is `keep_rollups` of the same rows (a store that
        encodes its rows uses it rather than encoding them again).
        """

    def write_rollups(
        self,
        collection: Collection,
        rollups: Mapping[int, Sequence[Row]],
        kept: Mapping[int, Sequence[Any]] | None = None,
    ) -> None:
        """Write the rollup rows of several levels, finest first, outside any SQL
        transaction (`kept`: `keep_rollups` of some levels' rows).

        Here each level by `write_rollup`; a store may lay out the 5-minute
        and hourly rows of the same hours together (InfluxDB: an hour of one
        5-minute bin is one point, see `nntsc.store.influx`).
        """
        for level in sorted(rollups):
            rows = rollups[level]
            if rows:
                forms = None if kept is None else kept.get(level)
                self.write_rollup(collection, level, rows, None, forms)

    def keep_rollups(self, collection: Collection, rows: Sequence[Row]) -> list[Any]:
        """Each rollup row's values in a compact form to hold in memory, from which
        `kept_columns` gives back the columns a read of the stored row returns.

        Here, a SQL store's: the values in `rollup_columns` order (its
        double-precision columns give back what they were given).
        """
        names = _rollup_names(collection)
        return [tuple(map(row.values.get, names)) for row in rows]

    def kept_columns(self, collection: Collection, kept: Any) -> dict[str, Any]:
        """The columns `read_rollup` gives of a row stored from `kept` (`keep_rollups`)."""
        return dict(zip(_rollup_names(collection), kept, strict=True))

    def kept_alone(self, collection: Collection, kept: Any) -> Any | None:
        """The kept form of the row merged from the one row kept as `kept` (a day of a
        single hour), when storing `kept` itself reads back the very columns that
        storing that merge would; None when the merge must be made.

        Here always None: a SQL store's merge of one row is cheap to make.
        """
        return None

    @abc.abstractmethod
    def read_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        """Rollup rows in [start, end); only `columns` of them when given."""

    def read_bins(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        rollups: Sequence[RollupRead],
        raw_from: int | None,
        raw_end: int,
        raw_limit: int | None,
        raw_fields: Sequence[str],
    ) -> tuple[list[Iterable[RawRow]], Iterable[RawRow]]:
        """The rows of several rollup reads, and raw rows in [raw_from, raw_end) if `raw_from`.

        One read after the other here; a backend that can ask for them all
        at once (InfluxDB: several statements in one request) does so, and
        may read only `raw_fields` of the raw rows.
        """
        return [
            self.read_rollup(collection, r.level, stream_ids, r.start, r.end, r.columns)
            for r in rollups
        ], (
            self.read_raw(collection, stream_ids, raw_from, raw_end, raw_limit)
            if raw_from is not None
            else ()
        )

    @abc.abstractmethod
    def latest_since(
        self, collection: Collection, stream_ids: Sequence[int], since: int
    ) -> dict[int, int]:
        """The newest timestamp at or after `since` of each stream that has one."""

    @abc.abstractmethod
    def sum_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str],
    ) -> dict[int, dict[str, float | None]]:
        """Per stream, the sum of each rollup column over [start, end), summed by the backend."""

    def write_late(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> None:
        """Store rows older than `late_retention` (backends that have one override this)."""
        raise ConfigurationError(f"the {self.kind} store keeps no rows beyond a raw retention")

    def read_late(
        self, collection: Collection, stream_ids: Sequence[int], start: int, end: int
    ) -> Iterator[RawRow]:
        """Rows kept by `write_late` in [start, end)."""
        return iter(())

    def expire(
        self, collection: Collection, raw_before: int | None, rollups_before: int | None
    ) -> Expired:
        """Delete raw rows older than `raw_before` and rollup rows older than `rollups_before`.

        Raw rows of an hour whose rollups are still to be computed (a
        pending mark) stay until they are. A backend whose database expires
        rows itself (InfluxDB's retention policies) deletes nothing here.
        """
        return Expired()


@functools.cache
def _rollup_names(collection: Collection) -> tuple[str, ...]:
    return tuple(rollup_columns(collection))
