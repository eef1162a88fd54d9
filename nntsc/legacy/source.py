"""Reading an NNTSC 2.x deployment: its PostgreSQL database and its InfluxDB database.

NNTSC kept stream metadata in PostgreSQL (``collections``, one
``streams_<collection>`` table per collection, ids from one shared
sequence), traceroute rows in PostgreSQL (one ``data_amp_traceroute_<id>``
and ``data_amp_astraceroute_<id>`` table per stream, with per-stream path
dictionaries) and every other measurement in InfluxDB (measurement
``data_<collection>``, one tag ``stream``, time in seconds). Everything here
reads; nothing is ever written to the old deployment.

Reads are bounded: streams come in pages ordered by id, rows in time chunks
of a page of streams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
import sqlalchemy
from sqlalchemy import Engine, create_engine, text

from nntsc.errors import ImportSourceError
from nntsc.store.influx_client import InfluxClient, InfluxClientError, InfluxServerError

#: Characters a table name of the old schema may hold (they are spliced into SQL).
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _checked_name(name: str) -> str:
    if not _SQL_NAME.match(name):
        raise ImportSourceError(f"NNTSC table name {name!r} is not a plain identifier")
    return name


def sql_engine(url: str) -> Engine:
    """An engine for the old PostgreSQL database (``postgres://`` is accepted too)."""
    for plain in ("postgres://", "postgresql://"):
        # The driver we ship (psycopg2), whatever SQLAlchemy's default.
        if url.startswith(plain):
            url = "postgresql+psycopg2://" + url[len(plain) :]
    if not url.startswith("postgresql"):
        raise ImportSourceError(
            f"--sql {url!r} is not a PostgreSQL URL (postgresql://user:password@host/nntsc)"
        )
    try:
        return create_engine(url, pool_pre_ping=True)
    except (sqlalchemy.exc.ArgumentError, ImportError) as error:
        raise ImportSourceError(f"--sql {url!r}: {error}") from None


def influx_client(url: str) -> InfluxClient:
    """A client of the old InfluxDB: ``influxdb://[user:pw@]host[:port]/db`` or ``http(s)://...``."""
    parts = urlsplit(url)
    if parts.scheme not in ("influxdb", "influxdbs", "http", "https") or not parts.hostname:
        raise ImportSourceError(
            f"--influx {url!r} is not an InfluxDB URL (influxdb://host:8086/nntsc)"
        )
    return InfluxClient(
        host=parts.hostname,
        port=parts.port or 8086,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        ssl=parts.scheme in ("influxdbs", "https"),
        timeout=300,
        database=parts.path.strip("/") or "nntsc",
    )


class LegacySource:
    """An NNTSC deployment to read: its PostgreSQL database and, if given, its InfluxDB."""

    def __init__(self, sql_url: str, influx_url: str | None = None) -> None:
        self.engine = sql_engine(sql_url)
        self.influx = influx_client(influx_url) if influx_url else None
        parts = self.engine.url
        #: Names the deployment in our import checkpoints (no credentials): its
        #: PostgreSQL database, which numbers its streams, whichever --influx is given.
        self.identity = f"{parts.host or 'localhost'}:{parts.port or 5432}/{parts.database}"
        self._collections: dict[str, dict[str, Any]] | None = None

    def close(self) -> None:
        self.engine.dispose()
        if self.influx is not None:
            self.influx.close()

    # -- checks and metadata ----------------------------------------------------------

    def check(self) -> None:
        """Raise `ImportSourceError` unless the databases answer and look like NNTSC 2.x."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except sqlalchemy.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
            raise ImportSourceError(f"NNTSC PostgreSQL unreachable: {reason}") from None
        self.collections()
        if self.influx is not None:
            try:
                self.influx.ping()
                answer = self.influx.query("SHOW DATABASES", database=None)
            except (requests.RequestException, InfluxClientError, InfluxServerError) as error:
                raise ImportSourceError(f"NNTSC InfluxDB unreachable: {error}") from None
            names = {
                values[0]
                for result in answer.get("results", ())
                for series in result.get("series", ())
                for values in series.get("values", ())
            }
            if self.influx.database not in names:
                raise ImportSourceError(
                    f"NNTSC InfluxDB has no database {self.influx.database!r} "
                    f"(it has {', '.join(sorted(names)) or 'none'})"
                )

    def collections(self) -> dict[str, dict[str, Any]]:
        """NNTSC's ``collections`` table by ``<module>_<modsubtype>`` (``amp_icmp``)."""
        if self._collections is None:
            try:
                with self.engine.connect() as connection:
                    rows = connection.execute(
                        text(
                            "SELECT id, module, modsubtype, streamtable, datatable FROM collections"
                        )
                    ).mappings()
                    found = {f"{r['module']}_{r['modsubtype']}": dict(r) for r in rows}
            except sqlalchemy.exc.ProgrammingError:
                raise ImportSourceError(
                    "the --sql database has no NNTSC collections table (id, module, modsubtype, "
                    "streamtable, datatable): is it an NNTSC 2.x database?"
                ) from None
            self._collections = found
        return self._collections

    def stream_count(self, stream_table: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    text(f"SELECT count(*) FROM {_checked_name(stream_table)}")
                ).scalar_one()
            )

    def stream_pages(self, stream_table: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """The rows of a ``streams_*`` table, `page_size` at a time, by stream id (keyset)."""
        table = _checked_name(stream_table)
        after = -1
        while True:
            with self.engine.connect() as connection:
                page = [
                    dict(row)
                    for row in connection.execute(
                        text(
                            f"SELECT * FROM {table} WHERE stream_id > :after "
                            "ORDER BY stream_id LIMIT :limit"
                        ),
                        {"after": after, "limit": page_size},
                    ).mappings()
                ]
            if not page:
                return
            yield page
            after = page[-1]["stream_id"]

    # -- rows in InfluxDB -----------------------------------------------------------

    def _influx(self) -> InfluxClient:
        if self.influx is None:
            raise ImportSourceError("this collection's rows are in NNTSC's InfluxDB: give --influx")
        return self.influx

    def _points(self, statement: str) -> list[dict[str, Any]]:
        return [
            {**tags, **dict(zip(columns, values, strict=True))}
            for tags, columns, points in self._series(statement)
            for values in points
        ]

    def _series(self, statement: str) -> list[tuple[dict[str, str], list[str], list[list[Any]]]]:
        """The series of InfluxDB's answer: (tags, column names, points)."""
        try:
            answer = self._influx().query(statement)
        except (requests.RequestException, InfluxServerError) as error:
            raise ImportSourceError(f"NNTSC InfluxDB failed to answer: {error}") from None
        except InfluxClientError as error:
            raise ImportSourceError(f"NNTSC InfluxDB refused a query: {error}") from None
        found = []
        for result in answer.get("results", ()):
            if "error" in result:
                raise ImportSourceError(f"NNTSC InfluxDB refused a query: {result['error']}")
            for series in result.get("series", ()):
                found.append((series.get("tags") or {}, series["columns"], series["values"]))
        return found

    @staticmethod
    def _stream_filter(stream_ids: Sequence[int]) -> str:
        return '"stream" =~ /^(' + "|".join(str(int(s)) for s in stream_ids) + ")$/"

    def influx_spans(
        self, measurement: str, stream_ids: Sequence[int]
    ) -> dict[int, tuple[int, int]]:
        """Per stream with rows, the times of its first and last row (two bounded queries)."""
        where = self._stream_filter(stream_ids)
        name = _checked_name(measurement)
        ends: dict[str, dict[int, int]] = {}
        for order in ("ASC", "DESC"):
            points = self._points(
                f'SELECT * FROM "{name}" WHERE {where} GROUP BY "stream" '
                f"ORDER BY time {order} LIMIT 1"
            )
            ends[order] = {int(p["stream"]): int(p["time"]) for p in points}
        return {sid: (first, ends["DESC"][sid]) for sid, first in ends["ASC"].items()}

    def influx_rows(
        self, measurement: str, stream_ids: Sequence[int], start: int, end: int
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """(stream, time, fields) of `stream_ids` in [start, end), by stream then time."""
        where = self._stream_filter(stream_ids)
        rows: list[tuple[int, int, dict[str, Any]]] = []
        for tags, columns, points in self._series(
            f'SELECT * FROM "{_checked_name(measurement)}" WHERE {where} '
            f'AND time >= {int(start)}s AND time < {int(end)}s GROUP BY "stream"'
        ):
            stream_id = int(tags["stream"])
            # Time is the first column; one dict per point, built once.
            fields = columns[1:]
            rows.extend(
                (stream_id, int(values[0]), dict(zip(fields, values[1:], strict=True)))
                for values in points
            )
        return rows

    # -- rows in PostgreSQL (traceroute) ---------------------------------------------

    def existing_tables(self, names: Sequence[str]) -> set[str]:
        """Which of the tables `names` exist."""
        if not names:
            return set()
        with self.engine.connect() as connection:
            found: Iterable[str] = connection.execute(
                text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_name = ANY(:names)"
                ),
                {"names": list(names)},
            ).scalars()
            return set(found)

    def has_tables_like(self, prefix: str) -> bool:
        """Whether any table's name starts with `prefix` (a per-stream data table)."""
        pattern = prefix.replace("_", "\\_") + "%"
        with self.engine.connect() as connection:
            return (
                connection.execute(
                    text(
                        "SELECT 1 FROM information_schema.tables WHERE table_schema = "
                        "current_schema() AND table_name LIKE :pattern LIMIT 1"
                    ),
                    {"pattern": pattern},
                ).first()
                is not None
            )

    def sql_spans(self, tables: Mapping[int, Sequence[str]]) -> dict[int, tuple[int, int]]:
        """Per stream, first and last timestamps over its existing per-stream data tables."""
        spans: dict[int, tuple[int, int]] = {}
        with self.engine.connect() as connection:
            for stream_id, names in tables.items():
                for name in names:
                    found: Any = connection.execute(
                        text(f"SELECT min(timestamp), max(timestamp) FROM {_checked_name(name)}")
                    ).one()
                    first, last = found
                    if first is None:
                        continue
                    old = spans.get(stream_id)
                    spans[stream_id] = (
                        (first, last) if old is None else (min(old[0], first), max(old[1], last))
                    )
        return spans

    def sql_rows(self, statement: str, start: int, end: int) -> list[dict[str, Any]]:
        """Rows of one SELECT on the old schema with ``:start``/``:end`` bound."""
        with self.engine.connect() as connection:
            return [
                dict(row)
                for row in connection.execute(
                    text(statement), {"start": start, "end": end}
                ).mappings()
            ]
