"""What each collection's graphs ask of the store, and in which units.

Per collection: for each detail level, the output columns (a field and an
aggregation, scaled into the unit the graph draws) and columns derived from
them. Adding a collection to the graphs means adding one `SeriesSpec`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nntsc.collections import Collection
from nntsc.collections import get as get_collection
from nntsc.errors import BadQuery
from nntsc.store import Aggregation

DETAILS = ("full", "summary", "matrix", "tooltip", "spark")


@dataclass(frozen=True)
class Column:
    """One output column: `function` of `field`, multiplied by `scale`, in `unit`."""

    name: str
    field: str
    function: str
    scale: float = 1.0
    unit: str | None = None

    @property
    def aggregation(self) -> Aggregation:
        """What the store computes: scaled by the store as it makes each value."""
        return Aggregation(self.name, self.field, self.function, self.scale)


@dataclass(frozen=True)
class Derived:
    """A column computed from other output columns (`inputs`) of the same bin.

    `compute` takes the inputs' values in order (None for an input the
    detail level does not have).
    """

    name: str
    inputs: tuple[str, ...]
    compute: Callable[..., Any]
    unit: str | None = None


@dataclass(frozen=True)
class SeriesSpec:
    collection: str
    minimum_binsize: int
    label: str
    details: dict[str, tuple[Column, ...]]
    derived: tuple[Derived, ...] = field(default_factory=tuple)

    def columns(self, detail: str) -> tuple[Column, ...]:
        if detail not in self.details:
            raise BadQuery(f"detail must be one of {', '.join(self.details)}; got {detail!r}")
        return self.details[detail]

    def shape(
        self, detail: str, rows: Sequence[Sequence[Any]]
    ) -> tuple[list[str], list[list[Any]]]:
        """Append the derived columns to aggregate rows (already in graph units)."""
        columns = self.columns(detail)
        names = ["timestamp", *(c.name for c in columns), *(d.name for d in self.derived)]
        where = {name: index for index, name in enumerate(names[: 1 + len(columns)])}
        derived = [(d.compute, [where.get(name) for name in d.inputs]) for d in self.derived]
        # New lists: the rows may be the cache's own.
        return names, [
            [
                *row,
                *(
                    compute(*(None if i is None else row[i] for i in inputs))
                    for compute, inputs in derived
                ),
            ]
            for row in rows
        ]

    def units(self, detail: str) -> dict[str, str]:
        units = {c.name: c.unit for c in self.columns(detail) if c.unit}
        units.update({d.name: d.unit for d in self.derived if d.unit})
        return units


def _lossrate(loss: float | None, results: float | None) -> float | None:
    if loss is None or not results:
        return None
    return loss / results


MICROSECONDS_TO_MS = 0.001
BITS_TO_MBITS = 1e-6

#: What the small displays need: a value and enough to weigh it.
COMPACT = ("matrix", "tooltip", "spark")


def _same(full: tuple[Column, ...], compact: tuple[Column, ...]) -> dict[str, tuple[Column, ...]]:
    """Detail graphs and summaries draw `full`; matrix, tooltip and sparkline `compact`."""
    return {"full": full, "summary": full, **dict.fromkeys(COMPACT, compact)}


def _latency(rtt_field: str) -> dict[str, tuple[Column, ...]]:
    full = (
        Column("latency", "median", "mean", MICROSECONDS_TO_MS, "ms"),
        Column("min", rtt_field, "min", MICROSECONDS_TO_MS, "ms"),
        Column("max", rtt_field, "max", MICROSECONDS_TO_MS, "ms"),
        Column("loss", "loss", "sum"),
        Column("results", "results", "sum"),
        Column("smoke", rtt_field, "smoke", MICROSECONDS_TO_MS, "ms"),
    )
    compact = (
        Column("latency", "median", "mean", MICROSECONDS_TO_MS, "ms"),
        Column("loss", "loss", "sum"),
        Column("results", "results", "sum"),
    )
    return _same(full, compact)


_DNS_FULL = (
    Column("latency", "rtt", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("min", "rtt", "min", MICROSECONDS_TO_MS, "ms"),
    Column("max", "rtt", "max", MICROSECONDS_TO_MS, "ms"),
    Column("loss", "lossrate", "sum"),
    Column("results", "requests", "sum"),
    Column("smoke", "rtt", "smoke", MICROSECONDS_TO_MS, "ms"),
)
_DNS_COMPACT = (
    Column("latency", "rtt", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("loss", "lossrate", "sum"),
    Column("results", "requests", "sum"),
)
_HTTP_FULL = (
    Column("duration", "duration", "mean", unit="ms"),
    Column("duration_smoke", "duration", "smoke", unit="ms"),
    Column("bytes", "bytes", "mean", unit="bytes"),
    Column("objects", "object_count", "mean"),
    Column("servers", "server_count", "mean"),
    Column("failed_objects", "failed_object_count", "sum"),
)
_HTTP_COMPACT = (
    Column("duration", "duration", "mean", unit="ms"),
    Column("bytes", "bytes", "mean", unit="bytes"),
)
_THROUGHPUT_FULL = (
    Column("rate", "rate", "mean", BITS_TO_MBITS, "Mbit/s"),
    Column("min", "rate", "min", BITS_TO_MBITS, "Mbit/s"),
    Column("max", "rate", "max", BITS_TO_MBITS, "Mbit/s"),
    Column("bytes", "bytes", "sum", unit="bytes"),
    Column("runtime", "runtime", "sum", unit="ms"),
    Column("tests", "bytes", "count"),
)
_THROUGHPUT_COMPACT = (
    Column("rate", "rate", "mean", BITS_TO_MBITS, "Mbit/s"),
    Column("tests", "bytes", "count"),
)
_JITTER_FULL = (
    Column("jitter", "mean_jitter", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("jitter_smoke", "mean_jitter", "smoke", MICROSECONDS_TO_MS, "ms"),
    Column("min_jitter", "min_jitter", "min", MICROSECONDS_TO_MS, "ms"),
    Column("max_jitter", "max_jitter", "max", MICROSECONDS_TO_MS, "ms"),
    Column("rtt", "mean_rtt", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("loss", "loss", "mean"),
    Column("mos", "itu_mos", "mean"),
)
_JITTER_COMPACT = (
    Column("jitter", "mean_jitter", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("loss", "loss", "mean"),
    Column("mos", "itu_mos", "mean"),
)
_PATH_FULL = (
    Column("path_length", "path_length", "mean", unit="hops"),
    Column("min", "path_length", "min", unit="hops"),
    Column("max", "path_length", "max", unit="hops"),
    Column("responded", "responded", "mean"),
)
_PATH_COMPACT = (Column("path_length", "path_length", "mean", unit="hops"),)
_AS_FULL = (
    Column("as_path_length", "as_path_length", "mean", unit="AS hops"),
    Column("min", "as_path_length", "min", unit="AS hops"),
    Column("max", "as_path_length", "max", unit="AS hops"),
    Column("responded", "responded", "mean"),
)
_AS_COMPACT = (Column("as_path_length", "as_path_length", "mean", unit="AS hops"),)

_LOSSRATE = (Derived("lossrate", ("loss", "results"), _lossrate, "fraction"),)

SPECS = {
    spec.collection: spec
    for spec in (
        SeriesSpec("amp-icmp", 60, "mean", _latency("rtts"), _LOSSRATE),
        SeriesSpec("amp-tcpping", 60, "mean", _latency("rtts"), _LOSSRATE),
        SeriesSpec("amp-dns", 60, "mean", _same(_DNS_FULL, _DNS_COMPACT), _LOSSRATE),
        SeriesSpec("amp-http", 300, "mean", _same(_HTTP_FULL, _HTTP_COMPACT)),
        SeriesSpec("amp-throughput", 3600, "mean", _same(_THROUGHPUT_FULL, _THROUGHPUT_COMPACT)),
        SeriesSpec("amp-udpstream", 300, "mean", _same(_JITTER_FULL, _JITTER_COMPACT)),
        SeriesSpec("amp-traceroute", 300, "mean", _same(_PATH_FULL, _PATH_COMPACT)),
        SeriesSpec("amp-astraceroute", 300, "mean", _same(_AS_FULL, _AS_COMPACT)),
    )
}


def spec_for(collection: str) -> SeriesSpec:
    """The graph columns of `collection`: its own spec, else the mean of every field.

    The generic spec lets scripts read any collection's history before a
    graph style for it exists; array fields give their min and max, and a
    field that keeps percentiles also its smoke.
    """
    spec = SPECS.get(collection)
    if spec is None:
        spec = SPECS[collection] = _generic_spec(get_collection(collection))
    return spec


def _generic_spec(collection: Collection) -> SeriesSpec:
    columns: list[Column] = []
    for fld in collection.fields:
        if fld.kind == "array":
            columns += [
                Column(f"{fld.name}_min", fld.name, "min", unit=fld.unit),
                Column(f"{fld.name}_max", fld.name, "max", unit=fld.unit),
            ]
            if fld.quantiles:
                columns.append(Column(f"{fld.name}_smoke", fld.name, "smoke", unit=fld.unit))
        else:
            columns.append(Column(fld.name, fld.name, "mean", unit=fld.unit))
            if fld.quantiles:
                columns.append(Column(f"{fld.name}_smoke", fld.name, "smoke", unit=fld.unit))
    detail = tuple(columns)
    compact = tuple(c for c in detail if c.function != "smoke")
    return SeriesSpec(
        collection=collection.name,
        minimum_binsize=60,
        label="mean",
        details=_same(detail, compact),
    )
