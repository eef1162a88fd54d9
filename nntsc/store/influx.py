"""The InfluxDB time-series backend, through the v1 HTTP API (InfluxDB 1.x, 2.x compat, 3.x).

Raw rows go to the measurement named after the collection in the retention
policy ``raw`` (the database default), tagged with ``stream`` and the
stream's properties so other InfluxDB tools can use them; arrays are stored as
JSON strings. Rollups go to ``<collection>_<seconds>`` in the retention
policy ``rollups``, tagged with ``stream``, one float field per statistic
(`nntsc.store.models.rollup_columns`), except that a field's 20 percentiles
are one string field ``<field>_q`` holding a JSON array: InfluxDB's answer
time grows with the number of fields read, and a graph's smoke reads all 20
(a 1-day graph's rollups took 24 ms as 29 fields and 7 ms as 9, measured).
It also grows, faster, with the length of text read, so a bin of fewer than
20 values keeps its sorted values, from which the percentiles follow exactly,
and a larger bin its percentiles to 5 significant digits, as integer steps
(`nntsc.store.partials.pack_quantiles`). Either way the list starts with the
exact minimum and ends with the exact maximum, so a read of the percentiles
reads neither ``<field>_min`` nor ``<field>_max``, and they are not written.
A field's sum of squares, minimum and maximum are also left out of a point
when all its values in the bin were equal (a 1-minute result's 5-minute bin,
a loss count of 0, a single row): they follow from its count and sum; and a
field with the same statistics as the first of the run of fields in the same
unit it belongs to (an ICMP result's median, minimum and maximum of one
probe: the minimum and maximum repeat the median) writes nothing. The
integer field ``m`` says which fields state their spread and which repeat
their run's first (`_rollup_encoder`), so
that what an earlier write of the same point left behind (a rewrite keeps
the fields it leaves out) is not read as this one's; points written before
this layout have no ``m`` and state everything, and are read as they are.

An hour whose rows all fall in one 5-minute bin has that bin's statistics:
it is written as one hourly point, with `STANDS_FOR_BIN` and the bin's
index in ``m``, and no 5-minute point (`InfluxBackend.write_rollups`); a
read of 5-minute rows also reads the hourly points so marked in its range
and takes each as its bin's row, in place of a point of that bin (which
can only be older). An hour rewritten from more bins writes every bin's
point and an ``m`` without the bit. On a mesh of a few results a
stream-day (amplet reports of a test run daily), this writes two rollup
points a stream-day instead of three.

Rollups are computed by the shared rollup pass (`nntsc.store.rollups`) rather
than by continuous queries: a CQ only resamples a recent window, so it never
sees backfilled history nor rows arriving after its window has passed, and it
cannot take percentiles of per-probe arrays. `ensure_schema` therefore
creates the database and the retention policies, and no CQs.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from nntsc.collections import Collection, Row
from nntsc.errors import ConfigurationError, StoreUnavailable
from nntsc.store.backend import RawRow, RollupRead, TimeseriesBackend, WriteResult
from nntsc.store.influx_client import InfluxClient, InfluxClientError, InfluxServerError
from nntsc.store.models import QUANTILE_POINTS, ROLLUP_LEVELS, quantile_columns, rollup_columns
from nntsc.store.partials import pack_quantiles

log = logging.getLogger(__name__)

RAW_POLICY = "raw"
ROLLUP_POLICY = "rollups"
#: Streams whose tag text one store keeps per collection (about 150 bytes each).
MAX_TAG_TEXTS = 500_000
#: Points per HTTP write request.
WRITE_BATCH = 20_000
#: Rollup points per HTTP write request: a rollup point has about 36 fields to
#: a raw point's 7, and InfluxDB answers a write that takes longer than its
#: ``write-timeout`` (10 s by default) with "500: timeout"; 20,000 new rollup
#: points did on the loaded 2-core machine.
ROLLUP_WRITE_BATCH = 4000
#: Streams per query: keeps the InfluxQL text (a GET URL) a sensible size, about 12 kB.
QUERY_STREAMS = 2000
#: Query text per request, at most (statements are joined until it is reached).
QUERY_TEXT = 16_000
#: A series of a query's answer: its tags, column names (time first) and points.
Series = tuple[dict[str, str], list[str], list[list[Any]]]
_DROPPED = re.compile(r"dropped=(\d+)")
# Backslashes first: stream properties never hold one (StreamRegistry.key_of
# refuses them), but a tag must not be able to escape its own delimiter.
_TAG_ESCAPES = str.maketrans({"\\": "\\\\", ",": r"\,", "=": r"\=", " ": r"\ "})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})


#: What a tag's name or value must escape (`_TAG_ESCAPES`).
_TAG_SPECIAL = re.compile(r"[\\, =]")


def _tag(value: str) -> str:
    """A tag's name or value escaped for line protocol.

    Names and addresses rarely hold anything to escape, and translating a
    23-character name costs 0.75 us against 0.17 us to look for what would
    need it: a collector meeting 20,000 streams (each 4 tags) for the first
    time spent about 5 us a report translating (docs/performance.md, session 11).
    """
    text = str(value)
    return text.translate(_TAG_ESCAPES) if _TAG_SPECIAL.search(text) else text


@functools.lru_cache(maxsize=256)
def _tag_prefixes(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Tag names in InfluxDB's order, each with its escaped ``,name=`` text.

    A collection's streams all have the same property names, so a warm
    collector, which meets each of thousands of streams for the first time,
    escapes and sorts them once instead of once per stream.
    """
    return tuple((name, f",{_tag(name)}=") for name in sorted(names))


def _json_array(values: Sequence[float | None]) -> str:
    """A list of numbers as JSON, which needs no escaping inside a line-protocol string."""
    if type(values) is list:
        # The same text from one C call instead of a Python loop over the
        # values: a list's repr is its items' reprs, comma-and-space separated.
        return repr(values).replace(" ", "").replace("None", "null")
    return "[" + ",".join("null" if v is None else repr(v) for v in values) + "]"


@functools.cache
def _field_formatter(collection: Collection) -> Callable[[Mapping[str, Any]], str]:
    """A function writing a row's values as line-protocol fields, made once per collection.

    Integers get the ``i`` suffix, floats stay floats (an int value of a
    float field is written without suffix, which InfluxDB reads as a float),
    arrays become JSON strings; null values are left out. The function is
    generated with one statement per field (no loop over the declaration,
    no test of the kind per value): it runs for every row ingested.
    """
    body = ["def format_fields(values):", "    get = values.get", "    parts = []"]
    for fld in collection.fields:
        if not fld.name.isidentifier() or not fld.name.isascii():
            raise ValueError(f"field name {fld.name!r} is not an identifier")
        body.append(f"    v = get({fld.name!r})")
        body.append("    if v is not None:")
        if fld.kind == "int":
            body.append(f"        parts.append(f'{fld.name}={{v if type(v) is int else int(v)}}i')")
        elif fld.kind == "float":
            body.append(f"        parts.append(f'{fld.name}={{float(v)!r}}')")
        else:
            body.append(f"        parts.append(f'{fld.name}=\"{{json_array(v)}}\"')")
    body.append("    return ','.join(parts)")
    namespace: dict[str, Any] = {"json_array": _json_array}
    exec("\n".join(body), namespace)  # noqa: S102 - our own declaration's names, checked above
    return namespace["format_fields"]


@functools.cache
def _quantile_fields(collection: Collection) -> dict[str, tuple[str, ...]]:
    """Per field keeping percentiles, its ``<field>_pN`` rollup columns in order."""
    return {fld.name: quantile_columns(fld.name) for fld in collection.fields if fld.quantiles}


#: The field of a rollup point whose bits say, per field, whether it states its
#: spread (sum of squares, and minimum and maximum where no percentile list
#: holds them) and whether it repeats the first field of its run in the same unit; see
#: `_rollup_encoder`. A point without it states every statistic.
SPREAD_FIELD = "m"
#: Fields given bits in `SPREAD_FIELD` (two each): an InfluxDB integer is a
#: signed 64-bit one, so bit 63 and beyond cannot be written. A field after
#: these always states its whole spread and never repeats another.
MARKED_FIELDS = 31
_STATS = ("count", "sum", "sumsq", "min", "max")
_SPREADS = ("sumsq", "min", "max")
#: Bit of `SPREAD_FIELD` set on an hourly point that also stands for its hour's
#: only 5-minute bin (no 5-minute point is written for it); the 4 bits from
#: `STANDS_SHIFT` say which bin of the hour (0-11). Only for a collection of at
#: most `STANDS_SHIFT` // 2 fields, whose bits end below them.
STANDS_FOR_BIN = 1 << 62
STANDS_SHIFT = 58
_BIN, _HOUR, _ = ROLLUP_LEVELS


@functools.cache
def _stands_in(collection: Collection) -> bool:
    """Whether an hourly point of `collection` may stand for its only 5-minute bin."""
    return 2 * len(collection.fields) <= STANDS_SHIFT


def _standing_for(form: str, index: int) -> str:
    """The fields `form` (`_rollup_encoder`, `SPREAD_FIELD` last) of an hourly point standing
    for the hour's 5-minute bin `index` as well."""
    head, _, bits = form.rpartition(f"{SPREAD_FIELD}=")
    return f"{head}{SPREAD_FIELD}={int(bits[:-1]) | STANDS_FOR_BIN | index << STANDS_SHIFT}i"


@dataclass(frozen=True)
class _FieldPlan:
    """How one field's rollup columns become fields of a point and back."""

    name: str
    #: Bit of `SPREAD_FIELD` set when the point states this field's spread.
    spread: int
    #: Bit set when this field's statistics are those of `head` (it is not written).
    same: int
    #: The first of the run of fields before and including this one that
    #: measure the same thing in the same unit (an ICMP result's median, min
    #: and max), when it is not this field: the one whose statistics it may repeat.
    head: int | None
    #: Column per statistic: count, sum, sumsq, min, max.
    columns: dict[str, str]
    #: Its percentile columns, if it keeps them (in one text field ``<name>_q``).
    quantiles: tuple[str, ...]

    @property
    def may_repeat(self) -> bool:
        return self.head is not None


@functools.cache
def _rollup_plan(collection: Collection) -> tuple[_FieldPlan, ...]:
    plans = []
    head = 0
    fields = collection.fields
    for index, fld in enumerate(fields):
        previous = fields[index - 1] if index else None
        plain = fld.kind != "array" and not fld.quantiles
        repeats = (
            previous is not None
            and plain
            and previous.kind != "array"
            and not previous.quantiles
            and bool(fld.unit)
            and fld.unit == previous.unit
        )
        if not repeats:
            head = index
        marked = index < MARKED_FIELDS
        plans.append(
            _FieldPlan(
                fld.name,
                1 << (2 * index) if marked else 0,
                1 << (2 * index + 1) if marked else 0,
                head if repeats and marked else None,
                {stat: f"{fld.name}_{stat}" for stat in _STATS},
                quantile_columns(fld.name) if fld.quantiles else (),
            )
        )
    return tuple(plans)


def constant_spread(count: float, total: float) -> tuple[float, float]:
    """(each value, sum of squares) of `count` equal values adding up to `total`."""
    value = total / count
    return value, count * (value * value)


@functools.cache
def _rollup_encoder(collection: Collection) -> Callable[[Mapping[str, Any]], str]:
    """A function writing a rollup row's columns as the fields of its point.

    A field's count is written, and its sum and percentile list when it has
    values, except that a field with the very same statistics as the first
    of the run of fields it belongs to (consecutive, in the same unit)
    writes nothing (an ICMP result of one probe has the same median, minimum
    and maximum: the minimum and maximum repeat the median; a read of either
    reads the median's too, never a longer chain). Its sum
    of squares, minimum and maximum are left out when all its values in the
    bin were equal and they follow exactly from its count and sum
    (`constant_spread`), and a field keeping percentiles never writes its
    minimum and maximum (its list starts and ends with them). `SPREAD_FIELD`
    says which fields state their spread and which repeat their run's first,
    so that fields left over from an earlier write of the same point
    (InfluxDB keeps the fields a rewrite leaves out) are not taken for this
    one's. A bin of 1-minute ICMP results of one address is 10 to 16 fields
    instead of 36: InfluxDB's time taking a rollup point grows with its
    fields.
    """
    # Per field, prepared once: its column names, and each statistic's "name=" prefix.
    steps = [
        (
            field,
            tuple(field.columns[stat] for stat in _STATS),
            tuple(f"{field.columns[stat]}=" for stat in _STATS),
            f'{field.name}_q="',
        )
        for field in _rollup_plan(collection)
    ]

    def encode(values: Mapping[str, Any]) -> str:
        get = values.get
        parts = []
        bits = 0
        written: list[tuple[Any, ...]] = []
        for field, names, prefixes, packed in steps:
            stats = tuple(map(get, names))
            written.append(stats)
            if field.head is not None and stats == written[field.head] and stats[0] is not None:
                bits |= field.same
                continue
            count, total, squares, low, high = stats  # type: Any, Any, Any, Any, Any
            if count is None:
                continue
            parts.append(prefixes[0] + repr(float(count)))
            if not count or total is None:
                continue
            total = float(total)
            parts.append(prefixes[1] + repr(total))
            quantiles = field.quantiles
            if quantiles:
                kept: list[Any] = list(map(get, quantiles))
                if any(value is not None for value in kept):
                    short = pack_quantiles(int(count), low, kept)
                    parts.append(packed + _json_array(short) + '"')
            if low == high and low is not None and field.spread:
                value, sumsq = constant_spread(float(count), total)
                if value == low and sumsq == squares:
                    continue
            bits |= field.spread
            if squares is not None:
                parts.append(prefixes[2] + repr(float(squares)))
            if not quantiles:
                if low is not None:
                    parts.append(prefixes[3] + repr(float(low)))
                if high is not None:
                    parts.append(prefixes[4] + repr(float(high)))
        parts.append(f"{SPREAD_FIELD}={bits}i")
        return ",".join(parts)

    return encode


@functools.cache
def _rollup_reading(
    collection: Collection, names: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], Callable[[list[RawRow]], None]]:
    """What reading the rollup columns `names` takes: the fields to select (besides
    percentile lists), the percentile lists (``<field>_q``), and a function
    completing the rows read with what their points leave out."""
    quantiles = _quantile_fields(collection)
    # A field keeping percentiles writes its minimum and maximum only there.
    packed = tuple(
        f"{field}_q"
        for field, percentiles in quantiles.items()
        if any(name in names for name in (*percentiles, f"{field}_min", f"{field}_max"))
    )
    given = {
        name
        for field in (name[:-2] for name in packed)
        for name in (*quantiles[field], f"{field}_min", f"{field}_max")
    }
    wanted = set(names)
    plan = _rollup_plan(collection)
    # The statistics read of each field: those asked for, what their spread
    # follows from, and those of the fields a field may repeat.
    needed: list[set[str]] = [set() for _ in plan]
    for index in range(len(plan) - 1, -1, -1):
        field = plan[index]
        stats = needed[index]
        stats.update(
            stat
            for stat, column in field.columns.items()
            if column in wanted and column not in given
        )
        if stats & {"sumsq"} or (not field.quantiles and stats & {"min", "max"}):
            stats.update(("count", "sum"))
        if stats and field.head is not None:
            needed[field.head].update(stats)
    selected: dict[str, None] = {name: None for name in names if name not in given}
    steps: list[
        tuple[
            _FieldPlan,
            dict[str, str],
            tuple[str, ...],
            tuple[str, ...],
            tuple[tuple[str, str], ...],
        ]
    ] = []
    marked = False
    for field, stats in zip(plan, needed, strict=True):
        if not stats:
            continue
        columns = field.columns
        selected.update((columns[stat], None) for stat in _STATS if stat in stats)
        spreads = tuple(
            columns[stat]
            for stat in _SPREADS
            if stat in stats and columns[stat] not in given and field.spread
        )
        emptied = tuple(
            column
            for column in (
                *(columns[stat] for stat in _STATS[1:]),
                *((f"{field.name}_q",) if field.quantiles else ()),
            )
            if column in selected or column in given or column in packed
        )
        repeat: tuple[tuple[str, str], ...] = ()
        if field.head is not None:
            before = plan[field.head].columns
            repeat = tuple((columns[stat], before[stat]) for stat in _STATS if stat in stats)
        # A graph reading counts and sums of fields that repeat no other reads
        # no more than it did; otherwise the bits say what a point states.
        marked = marked or bool(spreads or repeat)
        steps.append((field, columns, spreads, emptied, repeat))
    if marked:
        selected[SPREAD_FIELD] = None
    drop = SPREAD_FIELD not in wanted

    def complete(rows: list[RawRow]) -> None:
        for _, _, values in rows:
            bits = values.pop(SPREAD_FIELD, None) if drop else values.get(SPREAD_FIELD)
            if bits is None:
                continue
            for field, columns, spreads, emptied, repeat in steps:
                if bits & field.same:
                    for column, source in repeat:
                        values[column] = values.get(source)
                    continue
                count = values.get(columns["count"])
                if count == 0:
                    for column in emptied:
                        values[column] = None
                    continue
                if not spreads or bits & field.spread:
                    continue
                total = values.get(columns["sum"])
                if count and total is not None:
                    value, sumsq = constant_spread(count, total)
                    found = {columns["min"]: value, columns["max"]: value, columns["sumsq"]: sumsq}
                    for column in spreads:
                        values[column] = found[column]
                else:
                    for column in spreads:
                        values[column] = None

    return tuple(selected), packed, complete


#: A field of a line-protocol field set as `_rollup_encoder` writes it: a name, then a
#: string holding no quote or a number (``i`` after an integer).
_FIELD = re.compile(r'([^=,]+)=(?:"([^"]*)"|([^,]*))')


#: The numbers of each percentile list of a line-protocol field set (`_rollup_encoder`).
_PACKED_LIST = re.compile(r'_q="\[([^\]]*)\]"')


def _parse_fields(text: str) -> dict[str, Any]:
    """The fields of a line-protocol field set as `_rollup_encoder` writes them, by name."""
    fields: dict[str, Any] = {}
    for name, string, number in _FIELD.findall(text):
        if not number:
            fields[name] = string
        elif number[-1] == "i":
            fields[name] = int(number[:-1])
        else:
            fields[name] = float(number)
    return fields


@functools.cache
def _kept_reading(
    collection: Collection,
) -> tuple[tuple[str, ...], tuple[tuple[str, str, str], ...], Callable[[list[RawRow]], None]]:
    """What `InfluxBackend.kept_columns` reads of a point: the fields a read of every rollup
    column selects, the percentile lists with their field's minimum and maximum columns,
    and the function completing a row read."""
    names, packed, complete = _rollup_reading(collection, tuple(rollup_columns(collection)))
    lists = tuple((name, f"{name[:-2]}_min", f"{name[:-2]}_max") for name in packed)
    return names, lists, complete


def _identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _duration(seconds: int | None) -> str:
    return "INF" if seconds is None else f"{max(seconds, 3600)}s"


def _stream_condition(stream_ids: Sequence[int]) -> str:
    """A WHERE condition on the stream tag.

    InfluxDB 1.x plans a long chain of ORs slowly (about 0.5 s for 1,800
    streams, measured), while one anchored regular expression is matched
    against the tag index quickly; a few streams stay plain comparisons.
    """
    if len(stream_ids) <= 8:
        return "(" + " OR ".join(f"\"stream\" = '{int(s)}'" for s in stream_ids) + ")"
    return '"stream" =~ /^(' + "|".join(str(int(s)) for s in stream_ids) + ")$/"


class InfluxBackend(TimeseriesBackend):
    """Raw and rollup rows in an InfluxDB database; see the module docstring."""

    kind = "influxdb"

    def __init__(
        self,
        client: InfluxClient,
        database: str,
        raw_retention: int | None = None,
        rollup_retention: int | None = None,
    ) -> None:
        super().__init__(raw_retention, rollup_retention)
        self.client = client
        self.database = database
        # Per collection, the tag text of streams written (see `line_protocol`).
        self._tag_text: dict[str, dict[int, str]] = {}

    @property
    def late_retention(self) -> int | None:
        # The ``raw`` policy drops points older than its duration on write.
        return self.raw_retention

    @classmethod
    def from_url(
        cls,
        url: str,
        raw_retention: int | None = None,
        rollup_retention: int | None = None,
    ) -> InfluxBackend:
        """Build from ``influxdb://[user:password@]host[:port]/database[?gzip=true]``.

        ``influxdbs://`` speaks TLS. ``gzip=true`` compresses writes (and
        answers), which pays off over a slow link and costs CPU on a fast one.
        """
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        database = parts.path.strip("/")
        if not parts.hostname or not database:
            raise ConfigurationError(f"InfluxDB URL {url!r} needs a host and a database name")
        client = InfluxClient(
            host=parts.hostname,
            port=parts.port or 8086,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            ssl=parts.scheme == "influxdbs",
            timeout=60,
            database=database,
            gzip=options.get("gzip", ["false"])[0].lower() in ("1", "true", "yes"),
        )
        return cls(client, database, raw_retention, rollup_retention)

    # -- schema and health --------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create the database and the ``raw`` (default) and ``rollups`` policies; idempotent."""
        self._query(f"CREATE DATABASE {_identifier(self.database)}", database=None)
        (policies,) = self._run([f"SHOW RETENTION POLICIES ON {_identifier(self.database)}"])
        existing = {
            values[names.index("name")] for _, names, points in policies for values in points
        }
        for name, seconds, default in (
            (RAW_POLICY, self.raw_retention, True),
            (ROLLUP_POLICY, self.rollup_retention, False),
        ):
            verb = "ALTER" if name in existing else "CREATE"
            statement = (
                f"{verb} RETENTION POLICY {_identifier(name)} ON {_identifier(self.database)} "
                f"DURATION {_duration(seconds)} REPLICATION 1"
            )
            if default:
                statement += " DEFAULT"
            self._query(statement, database=None)

    def ping(self) -> None:
        try:
            self.client.ping()
        except (requests.RequestException, InfluxClientError, InfluxServerError) as error:
            raise StoreUnavailable(f"InfluxDB unreachable: {error}") from error

    def close(self) -> None:
        super().close()
        self.client.close()

    # -- primitives ---------------------------------------------------------------

    def _query(self, statement: str, database: str | None = "") -> dict[str, Any]:
        """Run a statement that is not a read of rows (schema), raising on any error."""
        try:
            answer = self.client.query(
                statement, database=self.database if database == "" else database
            )
        except (requests.RequestException, InfluxServerError, InfluxClientError) as error:
            # A client error here is ours (e.g. the database is missing), not the caller's.
            raise StoreUnavailable(f"InfluxDB query failed: {error}") from error
        for result in answer.get("results", ()):
            if "error" in result:
                raise StoreUnavailable(f"InfluxDB query failed: {result['error']}")
        return answer

    def _write_lines(self, lines: list[str], policy: str, size: int = WRITE_BATCH) -> WriteResult:
        result = WriteResult()
        for index in range(0, len(lines), size):
            batch = lines[index : index + size]
            try:
                self.client.write(batch, self.database, policy)
                result.written += len(batch)
            except InfluxClientError as error:
                # A partial write stored every point but the ones it names:
                # those beyond the retention policy (dropped=N) and lines it
                # could not parse (each one reported, dropped=0 in that case).
                content = error.content
                match = _DROPPED.search(content)
                if "partial write" not in content or not match:
                    raise StoreUnavailable(f"InfluxDB rejected a write: {content}") from error
                dropped = max(int(match.group(1)), content.count("unable to parse"))
                log.error("InfluxDB dropped %d of %d points: %s", dropped, len(batch), content)
                result.written += len(batch) - dropped
                result.dropped += dropped
                result.dropped_reasons.append(content.strip())
            except (requests.RequestException, InfluxServerError) as error:
                raise StoreUnavailable(f"InfluxDB write failed: {error}") from error
        return result

    def line_protocol(
        self,
        collection: Collection,
        rows: Sequence[Row],
        tags: Mapping[int, Mapping[str, str]],
    ) -> tuple[list[str], int]:
        """Line-protocol lines for raw rows, and how many rows had no value to store."""
        measurement = collection.name.translate(_MEASUREMENT_ESCAPES)
        format_fields = _field_formatter(collection)
        # A stream's tags never change (its properties are its key), and with
        # many streams and few rows each, a batch sees most of its streams
        # once: their text (measurement and tags) is kept across batches.
        known = self._tag_text.setdefault(collection.name, {})
        if len(known) > MAX_TAG_TEXTS:
            known.clear()
        lines: list[str] = []
        append = lines.append
        empty = 0
        for stream_id, timestamp, values in rows:
            text = known.get(stream_id)
            if text is None:
                properties = tags.get(stream_id, {})
                text = f"{measurement},stream={stream_id}" + "".join(
                    prefix + _tag(properties[name])
                    for name, prefix in _tag_prefixes(tuple(properties))
                    if properties[name] != ""
                )
                if properties:
                    known[stream_id] = text
            fields = format_fields(values)
            if not fields:
                empty += 1
                continue
            append(f"{text} {fields} {timestamp}")
        return lines, empty

    def encode_raw(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> tuple[list[str], int]:
        return self.line_protocol(collection, rows, tags)

    def write_raw(
        self, collection: Collection, rows: Sequence[Row], payload: Any, connection: Any
    ) -> WriteResult:
        lines, empty = payload
        result = self._write_lines(lines, RAW_POLICY)
        if empty:
            result.dropped += empty
            result.dropped_reasons.append(f"{empty} rows without any value")
        return result

    def _late_measurement(self, collection: Collection) -> str:
        return f"{collection.name}_late"

    def write_late(
        self, collection: Collection, rows: Sequence[Row], tags: Mapping[int, Mapping[str, str]]
    ) -> None:
        # Rows older than the raw retention, kept in the rollups' policy under
        # a measurement of their own: the rollups are recomputed from them.
        lines, _ = self.line_protocol(collection, rows, tags)
        prefix = collection.name.translate(_MEASUREMENT_ESCAPES) + ","
        late = self._late_measurement(collection).translate(_MEASUREMENT_ESCAPES) + ","
        result = self._write_lines([late + line[len(prefix) :] for line in lines], ROLLUP_POLICY)
        if result.dropped:
            raise StoreUnavailable(f"InfluxDB dropped late rows: {result.dropped_reasons}")

    def read_late(
        self, collection: Collection, stream_ids: Sequence[int], start: int, end: int
    ) -> Iterator[RawRow]:
        source = (
            f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}."
            f"{_identifier(self._late_measurement(collection))}"
        )
        return self._read_points(collection, source, stream_ids, start, end, None)

    def write_rollup(
        self,
        collection: Collection,
        level: int,
        rows: Sequence[Row],
        connection: Any,
        kept: Sequence[Any] | None = None,
    ) -> None:
        measurement = f"{collection.name}_{level}".translate(_MEASUREMENT_ESCAPES)
        if kept is None:
            kept = self.keep_rollups(collection, rows)
        lines = [
            f"{measurement},stream={row.stream_id} {fields} {row.timestamp}"
            for row, fields in zip(rows, kept, strict=True)
        ]
        result = self._write_lines(lines, ROLLUP_POLICY, ROLLUP_WRITE_BATCH)
        if result.dropped:
            raise StoreUnavailable(f"InfluxDB dropped rollup points: {result.dropped_reasons}")

    def write_rollups(
        self,
        collection: Collection,
        rollups: Mapping[int, Sequence[Row]],
        kept: Mapping[int, Sequence[Any]] | None = None,
    ) -> None:
        """Write the rollup rows of several levels, finest first; an hour of one 5-minute
        bin as one point.

        `nntsc.store.rollups.summaries` gives such an hour the very values
        dict of its bin (the same statistics): that hour's point is written
        with `STANDS_FOR_BIN` and the bin's index in `SPREAD_FIELD`, and the
        bin's own point is not written; a read of 5-minute rows takes it
        (`_rollup_select`). A rewrite of the hour from more bins writes every
        bin's point and the hour's without the bit (`SPREAD_FIELD` is always
        written), so it stops standing for any.
        """
        fine, hourly = rollups.get(_BIN, ()), rollups.get(_HOUR, ())
        if not fine or not hourly or not _stands_in(collection):
            super().write_rollups(collection, rollups, kept)
            return
        kept = kept or {}
        fine_forms = kept.get(_BIN) or self.keep_rollups(collection, fine)
        hourly_forms = list(kept.get(_HOUR) or self.keep_rollups(collection, hourly))
        bins = {id(row.values): index for index, row in enumerate(fine)}
        folded: set[int] = set()
        for position, row in enumerate(hourly):
            index = bins.get(id(row.values))
            if index is None:
                continue
            bin_row = fine[index]
            offset = bin_row.timestamp - row.timestamp
            if bin_row.stream_id != row.stream_id or not 0 <= offset < _HOUR:
                continue
            folded.add(index)
            hourly_forms[position] = _standing_for(hourly_forms[position], offset // _BIN)
        if folded:
            kept_fine = [i for i in range(len(fine)) if i not in folded]
            fine = [fine[i] for i in kept_fine]
            fine_forms = [fine_forms[i] for i in kept_fine]
        levels = {**rollups, _BIN: fine, _HOUR: hourly}
        super().write_rollups(collection, levels, {**kept, _BIN: fine_forms, _HOUR: hourly_forms})

    def keep_rollups(self, collection: Collection, rows: Sequence[Row]) -> list[Any]:
        """Each row's point fields as line protocol (`_rollup_encoder`): what is written."""
        encode = _rollup_encoder(collection)
        return [encode(row.values) for row in rows]

    def kept_alone(self, collection: Collection, kept: Any) -> Any | None:
        """`kept` itself when every percentile list in it is a bin's sorted values (the
        short form of `pack_quantiles`, fewer than 20 values); None otherwise.

        The merge of one row is that row's columns as read (`kept_columns`),
        which the encoder writes back as `kept`'s fields, or, where a
        minimum worked back out of the list differs in the last bits, as
        fields that read back the same (the spread then stated rather than
        implied); a short list unpacks into percentiles that pack into the
        same list again. A long list is rounded again by that round trip
        (5 significant digits of other percentiles), so it is merged.
        """
        for listed in _PACKED_LIST.findall(kept):
            if listed.count(",") >= len(QUANTILE_POINTS) - 1:
                return None
        return kept

    def kept_columns(self, collection: Collection, kept: Any) -> dict[str, Any]:
        """The columns a read of the point written from `kept` gives (`read_rollup`).

        The fields are parsed back as InfluxDB takes them, then completed as
        a read completes them: a float written as ``repr`` and answered in
        JSON is the same float (an integral one may come back as an int,
        which the statistics treat alike).
        """
        names, lists, complete = _kept_reading(collection)
        fields = _parse_fields(kept)
        values = {name: fields.get(name) for name in names}
        # As `_rollup_rows` takes each percentile list and its minimum and maximum.
        for name, low, high in lists:
            text = fields.get(name)
            if text:
                numbers = json.loads(text)
                values[name], values[low], values[high] = numbers, numbers[0], numbers[-1]
            else:
                values[name] = values[low] = values[high] = None
        complete([(0, 0, values)])
        return values

    def _run(self, statements: Sequence[str]) -> list[list[Series]]:
        """Each statement's series, in as few requests as the URL length allows.

        InfluxDB runs the statements of one request in turn and answers them
        together, which saves a round trip per statement.
        """
        answers: list[list[Series]] = []
        batch: list[str] = []
        size = 0
        for statement in statements:
            if batch and size + len(statement) > QUERY_TEXT:
                answers.extend(self._request(batch))
                batch, size = [], 0
            batch.append(statement)
            size += len(statement) + 1
        if batch:
            answers.extend(self._request(batch))
        return answers

    def _request(self, statements: Sequence[str]) -> list[list[Series]]:
        # The reply is read as InfluxDB sent it, without the client's
        # `ResultSet`, which builds a dict per point (a third of a 1-day
        # graph's time, profiled).
        try:
            data = self.client.query(";".join(statements), self.database)
        except (requests.RequestException, InfluxServerError, InfluxClientError) as error:
            raise StoreUnavailable(f"InfluxDB query failed: {error}") from error
        answers: list[list[Series]] = [[] for _ in statements]
        for result in data.get("results", ()):
            if "error" in result:
                raise StoreUnavailable(f"InfluxDB query failed: {result['error']}")
            answers[result.get("statement_id", 0)] = [
                (series.get("tags") or {}, series["columns"], series["values"])
                for series in result.get("series", ())
            ]
        return answers

    def _select(
        self,
        source: str,
        columns: str,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None = None,
        condition: str = "",
    ) -> list[str]:
        """Statements reading `columns` of `stream_ids` in [start, end), a series per stream
        (and only points meeting `condition`, if given).

        Grouping by the tag is faster than selecting it as a column.
        """
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        extra = f" AND {condition}" if condition else ""
        return [
            f"SELECT {columns} FROM {source} WHERE "
            f"{_stream_condition(stream_ids[index : index + QUERY_STREAMS])} "
            f"AND time >= {int(start)}s AND time < {int(end)}s{extra} "
            f'GROUP BY "stream"{tail}'
            for index in range(0, len(stream_ids), QUERY_STREAMS)
        ]

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
        # Every read of the graph in one request, of the fields it needs.
        statements: list[list[str]] = []
        makers = []
        for read in rollups:
            selected, rows_of = self._rollup_select(
                collection, read.level, stream_ids, read.start, read.end, read.columns
            )
            statements.append(selected)
            makers.append(rows_of)
        if raw_from is not None:
            statements.append(
                self._select(
                    self._raw_source(collection),
                    ",".join(_identifier(name) for name in raw_fields),
                    stream_ids,
                    raw_from,
                    raw_end,
                    raw_limit,
                )
            )
        answers = self._run([statement for group in statements for statement in group])
        found: list[list[list[Series]]] = []
        for group in statements:
            found.append(answers[: len(group)])
            del answers[: len(group)]
        rollup_rows: list[Iterable[RawRow]] = [
            rows_of(answered) for rows_of, answered in zip(makers, found, strict=False)
        ]
        raw_rows = (
            self._raw_rows(
                collection, [series for answer in found[-1] for series in answer], raw_limit
            )
            if raw_from is not None
            else []
        )
        return rollup_rows, raw_rows

    def _raw_source(self, collection: Collection) -> str:
        return (
            f"{_identifier(self.database)}.{_identifier(RAW_POLICY)}.{_identifier(collection.name)}"
        )

    @staticmethod
    def _raw_columns(collection: Collection) -> str:
        return ",".join(_identifier(name) for name in collection.field_names)

    def read_raw(
        self,
        collection: Collection,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None,
        fields: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        columns = (
            self._raw_columns(collection)
            if fields is None
            else ",".join(_identifier(name) for name in fields)
        )
        return self._read_points(
            collection, self._raw_source(collection), stream_ids, start, end, limit, columns
        )

    def _read_points(
        self,
        collection: Collection,
        source: str,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        limit: int | None,
        columns: str | None = None,
    ) -> Iterator[RawRow]:
        """Rows of a measurement holding raw rows, by stream then time (all fields or `columns`)."""
        if not stream_ids:
            return
        statements = self._select(
            source, columns or self._raw_columns(collection), stream_ids, start, end, limit
        )
        series = [found for answer in self._run(statements) for found in answer]
        yield from self._raw_rows(collection, series, limit)

    @staticmethod
    def _raw_rows(
        collection: Collection, series: Sequence[Series], limit: int | None
    ) -> list[RawRow]:
        """Raw rows from the series of a raw read, by stream then time; arrays decoded."""
        arrays = {fld.name for fld in collection.fields if fld.kind == "array"}
        rows: list[RawRow] = []
        for tags, names, points in series:
            stream_id = int(tags["stream"])
            decode = [index for index, name in enumerate(names) if name in arrays]
            for point in points:
                for index in decode:
                    if point[index] is not None:
                        point[index] = json.loads(point[index])
                rows.append((stream_id, point[0], dict(zip(names[1:], point[1:], strict=True))))
            if limit is not None and len(rows) >= limit:
                del rows[limit:]
                break
        rows.sort(key=lambda row: (row[0], row[1]))
        return rows

    def read_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str] | None = None,
    ) -> Iterator[RawRow]:
        if not stream_ids:
            return
        statements, rows_of = self._rollup_select(
            collection, level, stream_ids, start, end, columns
        )
        yield from rows_of(self._run(statements))

    def _rollup_select(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str] | None,
    ) -> tuple[list[str], Callable[[Sequence[list[Series]]], list[RawRow]]]:
        """Statements reading rollup rows, and what makes their answers (each statement's
        series) into rows, by stream then time.

        5-minute rows are read together with the hourly points standing for
        their hour's only bin (`write_rollups`), which replace a 5-minute
        point of the same bin: an hour is written as one point only where
        the bin's own point, if any, is older (written before this layout,
        or before a late row in the same bin was taken by a pass).
        """
        # InfluxDB's answer time grows with the number of fields read: a graph
        # asks for the few statistics it needs, not all of them. Percentile
        # columns are read from their field's one string field, which also
        # starts with the field's minimum and ends with its maximum.
        names = tuple(columns) if columns is not None else tuple(rollup_columns(collection))
        fields, packed, complete = _rollup_reading(collection, names)
        selected = ",".join(_identifier(name) for name in [*fields, *packed])
        source = (
            f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}."
            f"{_identifier(f'{collection.name}_{level}')}"
        )
        statements = self._select(source, selected, stream_ids, start, end)
        own = len(statements)
        marked = SPREAD_FIELD in fields
        if level == _BIN and _stands_in(collection):
            # The hourly points of the hours the range touches that stand for a bin.
            hours = (
                f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}."
                f"{_identifier(f'{collection.name}_{_HOUR}')}"
            )
            statements += self._select(
                hours,
                selected if marked else f"{selected},{_identifier(SPREAD_FIELD)}",
                stream_ids,
                start - start % _HOUR,
                end,
                condition=f"{_identifier(SPREAD_FIELD)} >= {STANDS_FOR_BIN}",
            )

        def rows_of(answers: Sequence[list[Series]]) -> list[RawRow]:
            rows = self._rollup_rows(
                packed, [series for answer in answers[:own] for series in answer]
            )
            standing = [series for answer in answers[own:] for series in answer]
            if standing:
                found = {(row[0], row[1]): row for row in rows}
                for stream_id, hour, values in self._rollup_rows(packed, standing):
                    bits = values[SPREAD_FIELD] if marked else values.pop(SPREAD_FIELD)
                    timestamp = hour + _BIN * ((bits >> STANDS_SHIFT) & 15)
                    if start <= timestamp < end:
                        found[(stream_id, timestamp)] = (stream_id, timestamp, values)
                rows = [found[key] for key in sorted(found)]
            complete(rows)
            return rows

        return statements, rows_of

    @staticmethod
    def _rollup_rows(packed: Sequence[str], series: Sequence[Series]) -> list[RawRow]:
        """Rollup rows, each `packed` percentile list decoded, the field's minimum and
        maximum taken from it (None in a bin without data).

        The list stays packed (`nntsc.store.partials.unpack_quantiles`): the
        row's reader unpacks it, scaled into the unit it answers in.
        """
        rows: list[RawRow] = []
        for tags, found, points in series:
            stream_id = int(tags["stream"])
            names = found[1:]
            rows.extend(
                (stream_id, point[0], dict(zip(names, point[1:], strict=True))) for point in points
            )
        for name in packed:
            field = name[:-2]
            low, high = f"{field}_min", f"{field}_max"
            kept = []
            for _, _, values in rows:
                if values.get(name):
                    kept.append(values)
                else:
                    values[name] = values[low] = values[high] = None
            # One JSON document for all of them: a call per row cost more than the parsing.
            decoded = json.loads("[" + ",".join(values[name] for values in kept) + "]")
            for values, numbers in zip(kept, decoded, strict=True):
                values[name] = numbers
                values[low] = numbers[0]
                values[high] = numbers[-1]
        return rows

    def sum_rollup(
        self,
        collection: Collection,
        level: int,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        columns: Sequence[str],
    ) -> dict[int, dict[str, float | None]]:
        source = (
            f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}."
            f"{_identifier(f'{collection.name}_{level}')}"
        )
        found: dict[int, dict[str, float | None]] = {}
        repeating = {
            column
            for field in _rollup_plan(collection)
            if field.may_repeat
            for column in field.columns.values()
        }
        if repeating.intersection(columns) or (level == _BIN and _stands_in(collection)):
            # A field that may repeat its run's first is not written where it
            # does, nor a 5-minute point whose hour's point stands for it: the
            # points are read and completed, then summed here.
            statements, rows_of = self._rollup_select(
                collection, level, stream_ids, start, end, columns
            )
            for stream_id, _, values in rows_of(self._run(statements)):
                sums = found.setdefault(stream_id, dict.fromkeys(columns))
                for name in columns:
                    value = values.get(name)
                    if value is not None:
                        sums[name] = value + (sums[name] or 0.0)
            return found
        if (end - start) // level <= 4:
            # A few bins per stream: reading the points beats InfluxDB's sum()
            # per series, which costs about 0.1 ms a series (measured).
            selected = ",".join(_identifier(name) for name in columns)
            for answer in self._run(self._select(source, selected, stream_ids, start, end)):
                for tags, names, points in answer:
                    sums = found.setdefault(int(tags["stream"]), dict.fromkeys(columns))
                    for point in points:
                        for name, value in zip(names[1:], point[1:], strict=True):
                            if value is not None:
                                sums[name] = value + (sums[name] or 0.0)
            return found
        selected = ",".join(f"sum({_identifier(name)}) AS {_identifier(name)}" for name in columns)
        for answer in self._run(self._select(source, selected, stream_ids, start, end)):
            for tags, names, points in answer:
                for point in points:
                    found[int(tags["stream"])] = dict(zip(names[1:], point[1:], strict=True))
        return found

    def latest_since(
        self, collection: Collection, stream_ids: Sequence[int], since: int
    ) -> dict[int, int]:
        if not stream_ids:
            return {}
        # last() over a whole series exhausts InfluxDB's memory; bounded by
        # `since` it reads only the recent shard.
        field = _identifier(collection.presence_field)
        source = (
            f"{_identifier(self.database)}.{_identifier(RAW_POLICY)}.{_identifier(collection.name)}"
        )
        found: dict[int, int] = {}
        for index in range(0, len(stream_ids), QUERY_STREAMS):
            chunk = stream_ids[index : index + QUERY_STREAMS]
            statement = (
                f"SELECT last({field}) FROM {source} WHERE {_stream_condition(chunk)} "
                f'AND time >= {int(since)}s GROUP BY "stream"'
            )
            for answer in self._run([statement]):
                for tags, _, points in answer:
                    for point in points:
                        found[int(tags["stream"])] = point[0]
        return found
