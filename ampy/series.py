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

DETAILS = ("full", "summary")


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
        return Aggregation(self.name, self.field, self.function)


@dataclass(frozen=True)
class Derived:
    """A column computed from other output columns of the same bin."""

    name: str
    compute: Callable[[dict[str, Any]], Any]
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
        """Scale raw aggregate rows into graph units and append the derived columns."""
        columns = self.columns(detail)
        names = ["timestamp", *(c.name for c in columns), *(d.name for d in self.derived)]
        shaped = []
        for row in rows:
            values: dict[str, Any] = {"timestamp": row[0]}
            for column, value in zip(columns, row[1:], strict=True):
                values[column.name] = _scale(value, column.scale)
            for derived in self.derived:
                values[derived.name] = derived.compute(values)
            shaped.append([values[name] for name in names])
        return names, shaped

    def units(self, detail: str) -> dict[str, str]:
        units = {c.name: c.unit for c in self.columns(detail) if c.unit}
        units.update({d.name: d.unit for d in self.derived if d.unit})
        return units


def _scale(value: Any, scale: float) -> Any:
    if value is None or scale == 1.0:
        return value
    if type(value) is list:
        return [None if v is None else v * scale for v in value]
    return value * scale


def _lossrate(values: dict[str, Any]) -> float | None:
    loss, results = values.get("loss"), values.get("results")
    if loss is None or not results:
        return None
    return loss / results


MICROSECONDS_TO_MS = 0.001

_LATENCY = (
    Column("latency", "median", "mean", MICROSECONDS_TO_MS, "ms"),
    Column("min", "rtts", "min", MICROSECONDS_TO_MS, "ms"),
    Column("max", "rtts", "max", MICROSECONDS_TO_MS, "ms"),
    Column("loss", "loss", "sum"),
    Column("results", "results", "sum"),
    Column("smoke", "rtts", "smoke", MICROSECONDS_TO_MS, "ms"),
)

SPECS = {
    spec.collection: spec
    for spec in (
        SeriesSpec(
            collection="amp-icmp",
            minimum_binsize=60,
            label="mean",
            details={"full": _LATENCY, "summary": _LATENCY},
            derived=(Derived("lossrate", _lossrate, "fraction"),),
        ),
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
    return SeriesSpec(
        collection=collection.name,
        minimum_binsize=60,
        label="mean",
        details={"full": detail, "summary": detail},
    )
