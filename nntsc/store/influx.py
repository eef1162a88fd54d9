"""The InfluxDB time-series backend, through the v1 HTTP API (InfluxDB 1.x, 2.x compat, 3.x).

Raw rows go to the measurement named after the collection in the retention
policy ``raw`` (the database default), tagged with ``stream`` and the
stream's properties so other InfluxDB tools can use them; arrays are stored as
JSON strings. Rollups go to ``<collection>_<seconds>`` in the retention
policy ``rollups``, tagged with ``stream``, each point's statistics
(`nntsc.store.models.rollup_columns`) in one string field ``r``, a JSON list
led by its layout's version (`_packed_encoder`): InfluxDB's cost of a write
is per field value (each field of each series is a key of its cache and TSM
files), and the same rollup points as one string field each cost it a ninth
of their cost as a field per statistic (docs/performance.md, session 11).
The list leaves out what follows from the rest: a field's sum of squares,
minimum and maximum when all its values in the bin were equal, the
statistics of a field that repeats the first of its run of fields in the
same unit (an ICMP result's minimum and maximum of one probe repeat its
median), and a field's minimum and maximum where its percentile list, which
starts with the one and ends with the other, holds them. The 20 percentiles
are a bin's sorted values when it has fewer than 20, else 5 significant
digits as integer steps (`nntsc.store.partials.pack_quantiles`). A read
decodes the points of an answer in one JSON call, only the fields it needs.

Points written before this layout have a float field per statistic and a
string field ``<field>_q`` per percentile list, some with the integer field
``m`` saying which fields state their spread and which repeat their run's
first (`_columns_encoder`, `_rollup_reading`); a read selects those fields
too and reads such a point as before, with no migration. A point holding
``r`` is read from it alone: a rewrite keeps the fields it leaves out.

An hour whose rows all fall in one 5-minute bin has that bin's statistics:
it is written as one hourly point, with `STANDS_FOR_BIN` and the bin's
index in ``m``, and no 5-minute point (`InfluxBackend.write_rollups`); a
read of 5-minute rows also reads the hourly points so marked in its range
and takes each as its bin's row, in place of a point of that bin (which
can only be older). Every hourly point has ``m`` (0 when it stands for no
bin), so an hour rewritten from more bins stops standing for any. On a
mesh of a few results a stream-day (amplet reports of a test run daily),
this writes two rollup points a stream-day instead of three.

Rollups are computed by the shared rollup pass (`nntsc.store.rollups`) rather
than by continuous queries: a CQ only resamples a recent window, so it never
sees backfilled history nor rows arriving after its window has passed, and it
cannot take percentiles of per-probe arrays. `ensure_schema` therefore
creates the database and the retention policies, and no CQs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import time
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
#: Rollup points per HTTP write request: a rollup point of the former layout had
#: about 36 fields to a raw point's 7, and InfluxDB answers a write that takes
#: longer than its ``write-timeout`` (10 s by default) with "500: timeout";
#: 20,000 new rollup points did on the loaded 2-core machine.
ROLLUP_WRITE_BATCH = 4000
#: Streams per query: keeps the InfluxQL text (a GET URL) a sensible size, about 12 kB.
QUERY_STREAMS = 2000
#: Query text per request, at most (statements are joined until it is reached).
QUERY_TEXT = 16_000
#: A series of a query's answer: its tags, column names (time first) and points.
Series = tuple[dict[str, str], list[str], list[list[Any]]]
_DROPPED = re.compile(r"dropped=(\d+)")
#: Seconds a rollup measurement found without fields of the former layouts is read as
#: such before InfluxDB is asked again (`InfluxBackend._has_former`).
FORMER_RECHECK = 600
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


#: The integer field of a rollup point whose bits say, on a point of the former
#: layout, per field, whether it states its spread (sum of squares, and
#: minimum and maximum where no percentile list holds them) and whether it
#: repeats the first field of its run in the same unit (`_columns_encoder`; a
#: point of that layout without it states every statistic); and on an hourly
#: point of either layout whether it stands for its hour's only 5-minute bin
#: (`STANDS_FOR_BIN`). A packed point (`PACKED_FIELD`) has no other bits.
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
    """The fields `form` (`_packed_encoder`) of an hourly point standing for the hour's
    5-minute bin `index` as well."""
    return f"{form},{SPREAD_FIELD}={STANDS_FOR_BIN | index << STANDS_SHIFT}i"


def _hourly(form: str) -> str:
    """The fields `form` of an hourly point, with `SPREAD_FIELD` (0 unless `_standing_for`
    gave it): a rewrite of an hour that stood for a bin must say it no longer does."""
    return form if form[-1] == "i" else f"{form},{SPREAD_FIELD}=0i"


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
    #: The first of its run, as `head`, for any field (the packed layout
    #: needs no bits of `SPREAD_FIELD`, so has no limit of fields).
    run: int | None
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
                head if repeats else None,
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
def _columns_encoder(collection: Collection) -> Callable[[Mapping[str, Any]], str]:
    """A function writing a rollup row's columns as the fields of its point, in the
    former layout of a field per statistic (session 9), which reads still take:
    nothing writes it any more but the tests proving those reads.

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


#: The string field holding all of a rollup point's statistics (`_packed_encoder`).
#: A point without it is of a former layout, a field per statistic.
PACKED_FIELD = "r"
#: The layout of `PACKED_FIELD` written, the first number of its list. A read
#: skips (and logs) a point of a version it does not know.
PACKED_VERSION = 1
#: The ``.0`` of an integral float in a list's repr: JSON reads the number without it.
_ZERO_TAIL = re.compile(r"\.0(?=[,\]])")


class PackedRollupError(ValueError):
    """A packed rollup point (`PACKED_FIELD`) of an unknown version, or not as written."""


@functools.cache
def _packed_encoder(collection: Collection) -> Callable[[Mapping[str, Any]], str]:
    """A function writing a rollup row's columns as its point's one field, `PACKED_FIELD`.

    InfluxDB's cost of a point is per field value (each field of each series
    is a key of its cache and files): the same 40,000 rollup points cost it
    a ninth as one string field each (docs/performance.md, session 11). The
    string is a JSON list, so a read decodes the points of an answer in one
    call: `PACKED_VERSION`, then per field of the collection, in order:

    - ``null``: the field has no count (no column of it);
    - ``0``: its statistics are those of the first of its run of fields in
      the same unit (`_FieldPlan.run`: an ICMP result's minimum and maximum
      of one probe repeat its median);
    - ``[count]``: a count of 0, or no sum: its other statistics are null;
    - ``[count, sum]`` (``[count, sum, list]`` for a field keeping
      percentiles): all its values in the bin were equal, its sum of squares,
      minimum and maximum follow (`constant_spread`);
    - ``[count, sum, sumsq, min, max]`` (``[count, sum, sumsq, list]``).

    ``list`` is the field's percentile list as `pack_quantiles` makes it
    (null if it has none), which starts with the minimum and ends with the
    maximum. A field added to a collection later reads as null from points
    written before. Integral numbers are written without ``.0``.
    """
    steps = [
        (field, tuple(field.columns[stat] for stat in _STATS)) for field in _rollup_plan(collection)
    ]
    prefix = f'{PACKED_FIELD}="'

    def encode(values: Mapping[str, Any]) -> str:
        get = values.get
        entries: list[Any] = [PACKED_VERSION]
        written: list[tuple[Any, ...]] = []
        for field, names in steps:
            stats = tuple(map(get, names))
            written.append(stats)
            count, total, squares, low, high = stats  # type: Any, Any, Any, Any, Any
            if count is None:
                entries.append(None)
                continue
            if field.run is not None and stats == written[field.run]:
                entries.append(0)
                continue
            if not count or total is None:
                entries.append([int(count)])
                continue
            total = float(total)
            entry: list[Any] = [int(count), total]
            constant = False
            if low == high and low is not None:
                value, sumsq = constant_spread(float(count), total)
                constant = value == low and sumsq == squares
            quantiles = field.quantiles
            if not constant:
                entry.append(None if squares is None else float(squares))
                if not quantiles:
                    entry.append(None if low is None else float(low))
                    entry.append(None if high is None else float(high))
            if quantiles:
                kept: list[Any] = list(map(get, quantiles))
                entry.append(
                    pack_quantiles(int(count), low, kept)
                    if any(value is not None for value in kept)
                    else None
                )
            entries.append(entry)
        # A list's repr is its items' reprs: one C call rather than a loop.
        text = repr(entries).replace(" ", "").replace("None", "null")
        return prefix + _ZERO_TAIL.sub("", text) + '"'

    return encode


def _packed_text(form: str) -> str:
    """The text of `PACKED_FIELD` in the line-protocol fields `form` (`_packed_encoder`)."""
    start = len(PACKED_FIELD) + 2
    return form[start : form.index('"', start)]


@functools.cache
def _packed_reading(
    collection: Collection, names: tuple[str, ...]
) -> Callable[[Sequence[str]], list[dict[str, Any] | None]]:
    """A function decoding the texts of `PACKED_FIELD` into the columns `names` as a read
    of the former layout gives them (`_rollup_rows`): each field's statistics, and for
    a field keeping percentiles its packed list with its minimum and maximum; None
    for a text it cannot decode (logged).

    Only the fields `names` need are decoded, and the fields they repeat.
    """
    plan = _rollup_plan(collection)
    wanted = set(names)
    needed = [False] * len(plan)
    for index in range(len(plan) - 1, -1, -1):
        field = plan[index]
        listed = (f"{field.name}_q", *field.quantiles) if field.quantiles else ()
        if needed[index] or wanted.intersection((*field.columns.values(), *listed)):
            needed[index] = True
            if field.run is not None:
                needed[field.run] = True
    # Per field decoded: its place in the list, whether it keeps percentiles,
    # and where the statistics of the field it may repeat start in a row's
    # values (in the order of `keys`, made into the row's dict at once).
    steps: list[tuple[int, bool, int | None]] = []
    keys: list[str] = []
    starts: dict[int, int] = {}
    for index, field in enumerate(plan):
        if not needed[index]:
            continue
        starts[index] = len(keys)
        steps.append(
            (index + 1, bool(field.quantiles), None if field.run is None else starts[field.run])
        )
        keys.extend(field.columns[stat] for stat in _STATS)
        if field.quantiles:
            keys.append(f"{field.name}_q")
    size_of = len(plan) + 1

    def decode(document: Any) -> dict[str, Any]:
        if type(document) is not list or not document or document[0] != PACKED_VERSION:
            version = document[0] if type(document) is list and document else document
            raise PackedRollupError(f"unknown packed rollup version {version!r}")
        size = len(document)
        if size > size_of:
            raise PackedRollupError(f"{size - 1} fields, more than {size_of - 1}")
        out: list[Any] = []
        extend = out.extend
        for position, listed, run in steps:
            entry = document[position] if position < size else None
            if entry is None:
                extend((None,) * (6 if listed else 5))
            elif type(entry) is list:
                length = len(entry)
                if length == 1:
                    extend((entry[0], None, None, None, None) + ((None,) if listed else ()))
                elif not listed:
                    if length == 5:
                        extend(entry)
                    elif length == 2:
                        # `constant_spread`, inline: it runs for most fields of most points.
                        count, total = entry
                        value = total / count
                        extend((count, total, count * (value * value), value, value))
                    else:
                        raise PackedRollupError(f"{length} statistics of a field")
                else:
                    if length == 4:
                        count, total, squares, numbers = entry
                    elif length == 3:
                        count, total, numbers = entry
                        value = total / count
                        squares = count * (value * value)
                    else:
                        raise PackedRollupError(f"{length} statistics of a percentile field")
                    if numbers:
                        extend((count, total, squares, numbers[0], numbers[-1], numbers))
                    else:
                        extend((count, total, squares, None, None, None))
            elif entry == 0 and run is not None:
                extend(out[run : run + 5])
            else:
                raise PackedRollupError(f"{entry!r} for a field")
        return dict(zip(keys, out, strict=True))

    def unpack(texts: Sequence[str]) -> list[dict[str, Any] | None]:
        # One JSON document for all of them: a call per point costs more than the parsing.
        documents: list[Any] | None = None
        with contextlib.suppress(ValueError):
            documents = json.loads("[" + ",".join(texts) + "]")
        if documents is None or len(documents) != len(texts):
            documents = [_json_or_text(text) for text in texts]
        rows: list[dict[str, Any] | None] = []
        failed: list[str] = []
        for document in documents:
            try:
                rows.append(decode(document))
            except (PackedRollupError, TypeError, ValueError, IndexError, ZeroDivisionError) as e:
                rows.append(None)
                failed.append(str(e))
        if failed:
            log.error(
                "skipped %d %s rollup points whose %r field could not be read: %s",
                len(failed),
                collection.name,
                PACKED_FIELD,
                failed[0],
            )
        return rows

    return unpack


def _json_or_text(text: str) -> Any:
    """`text` as JSON, or itself where it is not JSON (a decode then refuses it)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _take_lists(packed: Sequence[str], rows: list[RawRow]) -> None:
    """Decode each `packed` percentile list of rows of the former layout, and take the
    field's minimum and maximum from it (None in a bin without data).

    The list stays packed (`nntsc.store.partials.unpack_quantiles`): the
    row's reader unpacks it, scaled into the unit it answers in.
    """
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


def _decoded_rows(
    packed: Sequence[str],
    complete: Callable[[list[RawRow]], None],
    unpack: Callable[[Sequence[str]], list[dict[str, Any] | None]],
    series: Sequence[Series],
    marked: bool | None = None,
) -> tuple[list[RawRow], list[int]]:
    """The rollup rows of `series` (`_rollup_select`'s `packed`, `complete` and `unpack`),
    points of the packed layout decoded and those of the former one completed; and,
    when `marked` is given (a read of hourly points standing for a bin, which selected
    `SPREAD_FIELD`, as a column asked for if `marked`), each row's `SPREAD_FIELD`.

    A point holding `PACKED_FIELD` is read from it alone: fields a former write
    of the same point left behind are not this write's. A point that cannot be
    decoded is left out (`_packed_reading` logs it).
    """
    rows: list[RawRow | None] = []
    bits: list[int] = []
    former: list[RawRow] = []
    texts: list[str] = []
    at: list[tuple[int, int, int]] = []
    for tags, found, points in series:
        stream_id = int(tags["stream"])
        names = found[1:]
        where = names.index(PACKED_FIELD) + 1 if PACKED_FIELD in names else 0
        spread = names.index(SPREAD_FIELD) + 1 if marked is not None else 0
        for point in points:
            if spread:
                bits.append(point[spread])
            text = point[where] if where else None
            if text is not None:
                at.append((len(rows), stream_id, point[0]))
                texts.append(text)
                rows.append(None)
                continue
            values = dict(zip(names, point[1:], strict=True))
            if where:
                del values[PACKED_FIELD]
            if spread and not marked:
                del values[SPREAD_FIELD]
            row = (stream_id, point[0], values)
            rows.append(row)
            former.append(row)
    if former:
        _take_lists(packed, former)
        complete(former)
    if not texts:
        return rows, bits  # type: ignore[return-value]
    for (index, stream_id, timestamp), decoded in zip(at, unpack(texts), strict=True):
        if decoded is not None:
            rows[index] = (stream_id, timestamp, decoded)
    if spread_of := bits:
        kept = [index for index, row in enumerate(rows) if row is not None]
        bits = [spread_of[index] for index in kept]
    return [row for row in rows if row is not None], bits


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
        # Per rollup measurement, True once it was found holding fields of the
        # former layouts, else when it was found without (`_has_former`).
        self._former: dict[str, bool | float] = {}

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
        if level == _HOUR and _stands_in(collection):
            kept = [_hourly(form) for form in kept]
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
        bin's point and the hour's with ``m=0`` (an hourly point always has
        `SPREAD_FIELD`, `write_rollup`), so it stops standing for any.
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
        """Each row's point fields as line protocol (`_packed_encoder`): what is written."""
        encode = _packed_encoder(collection)
        return [encode(row.values) for row in rows]

    def kept_alone(self, collection: Collection, kept: Any) -> Any | None:
        """`kept` itself when every percentile list in it is a bin's sorted values (the
        short form of `pack_quantiles`, fewer than 20 values); None otherwise.

        The merge of one row is that row's columns as read (`kept_columns`),
        which the encoder writes back as `kept`, or, where a minimum worked
        back out of the list differs in the last bits, as a point that reads
        back the same (the spread then stated rather than implied); a short
        list unpacks into percentiles that pack into the same list again. A
        long list is rounded again by that round trip (5 significant digits
        of other percentiles), so it is merged.
        """
        document = json.loads(_packed_text(kept))
        for position, field in enumerate(_rollup_plan(collection), 1):
            entry = document[position]
            if field.quantiles and type(entry) is list and len(entry) > 2:
                listed = entry[-1]
                if listed is not None and len(listed) >= len(QUANTILE_POINTS):
                    return None
        return kept

    def kept_columns(self, collection: Collection, kept: Any) -> dict[str, Any]:
        """The columns a read of the point written from `kept` gives (`read_rollup`).

        The text is decoded as a read decodes it: a float written as
        ``repr`` and read as JSON is the same float (an integral one comes
        back as an int, which the statistics treat alike).
        """
        (values,) = _packed_reading(collection, tuple(rollup_columns(collection)))(
            [_packed_text(kept)]
        )
        if values is None:
            raise PackedRollupError(f"a {collection.name} rollup point of ours reads as nothing")
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

    def _has_former(self, measurement: str) -> bool:
        """Whether the rollup measurement holds fields of the layouts before the packed one
        (any field but `PACKED_FIELD` and `SPREAD_FIELD`), which its reads then select.

        Asked of InfluxDB once, and again `FORMER_RECHECK` seconds after it
        last had none: a collector of an earlier version, still running while
        another is upgraded, writes them.
        """
        known = self._former.get(measurement)
        if known is True:
            return True
        now = time.monotonic()
        if known is not None and now - known < FORMER_RECHECK:
            return False
        (answer,) = self._run(
            [
                f"SHOW FIELD KEYS ON {_identifier(self.database)} "
                f"FROM {_identifier(ROLLUP_POLICY)}.{_identifier(measurement)}"
            ]
        )
        names = {point[0] for _, _, points in answer for point in points}
        former = bool(names - {PACKED_FIELD, SPREAD_FIELD})
        self._former[measurement] = True if former else now
        return former

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
        # asks for the few statistics it needs, not all of them, of points of
        # the former layout. Percentile columns are read from their field's
        # one string field, which also starts with the field's minimum and
        # ends with its maximum. A point of the packed layout is its one
        # field, decoded for the columns asked for.
        names = tuple(columns) if columns is not None else tuple(rollup_columns(collection))
        fields, packed, complete = _rollup_reading(collection, names)
        unpack = _packed_reading(collection, names)
        # Selecting fields a measurement does not have cost InfluxDB 3 ms in a
        # 1-day graph's 9 (measured): the former layout's only where it has them.
        with_former = ",".join(_identifier(name) for name in [*fields, *packed, PACKED_FIELD])
        measurement = f"{collection.name}_{level}"
        selected = with_former if self._has_former(measurement) else _identifier(PACKED_FIELD)
        source = (
            f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}.{_identifier(measurement)}"
        )
        statements = self._select(source, selected, stream_ids, start, end)
        own = len(statements)
        marked = False
        if level == _BIN and _stands_in(collection):
            # The hourly points of the hours the range touches that stand for a bin.
            measurement = f"{collection.name}_{_HOUR}"
            hours = (
                f"{_identifier(self.database)}.{_identifier(ROLLUP_POLICY)}."
                f"{_identifier(measurement)}"
            )
            selected = _identifier(PACKED_FIELD)
            if self._has_former(measurement):
                selected, marked = with_former, SPREAD_FIELD in fields
            statements += self._select(
                hours,
                selected if marked else f"{selected},{_identifier(SPREAD_FIELD)}",
                stream_ids,
                start - start % _HOUR,
                end,
                condition=f"{_identifier(SPREAD_FIELD)} >= {STANDS_FOR_BIN}",
            )

        def rows_of(answers: Sequence[list[Series]]) -> list[RawRow]:
            rows, _ = _decoded_rows(
                packed, complete, unpack, [series for answer in answers[:own] for series in answer]
            )
            standing = [series for answer in answers[own:] for series in answer]
            if standing:
                found = {(row[0], row[1]): row for row in rows}
                hourly, bits = _decoded_rows(packed, complete, unpack, standing, marked)
                for (stream_id, hour, values), stands in zip(hourly, bits, strict=True):
                    timestamp = hour + _BIN * ((stands >> STANDS_SHIFT) & 15)
                    if start <= timestamp < end:
                        found[(stream_id, timestamp)] = (stream_id, timestamp, values)
                rows = [found[key] for key in sorted(found)]
            return rows

        return statements, rows_of

    @staticmethod
    def _rollup_rows(packed: Sequence[str], series: Sequence[Series]) -> list[RawRow]:
        """Rollup rows of the former layout, each `packed` percentile list decoded, the
        field's minimum and maximum taken from it (None in a bin without data)."""
        rows: list[RawRow] = []
        for tags, found, points in series:
            stream_id = int(tags["stream"])
            names = found[1:]
            rows.extend(
                (stream_id, point[0], dict(zip(names, point[1:], strict=True))) for point in points
            )
        _take_lists(packed, rows)
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
        # A packed point's statistics are one string, which InfluxDB cannot
        # sum: the points are read, decoded and summed here (a matrix reads a
        # daily point, or the day's hourly points, per stream).
        found: dict[int, dict[str, float | None]] = {}
        statements, rows_of = self._rollup_select(
            collection, level, stream_ids, start, end, columns
        )
        for stream_id, _, values in rows_of(self._run(statements)):
            sums = found.get(stream_id)
            if sums is None:
                sums = found[stream_id] = dict.fromkeys(columns)
            for name in columns:
                value = values.get(name)
                if value is not None:
                    sums[name] = value + (sums[name] or 0.0)
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
