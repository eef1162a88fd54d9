"""What each collection's graphs ask of the store, and in which units.

Per collection: for each detail level, the output columns (a field and an
aggregation, scaled into the unit the graph draws) and columns derived from
them. A collection's `SeriesSpec` is in its module (`ampy.collections`);
one without gets the mean of every field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ampy.collections import get as presentation
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


MICROSECONDS_TO_MS = 0.001
BITS_TO_MBITS = 1e-6

#: What the small displays need: a value and enough to weigh it.
COMPACT = ("matrix", "tooltip", "spark")


def same_columns(
    full: tuple[Column, ...], compact: tuple[Column, ...]
) -> dict[str, tuple[Column, ...]]:
    """Detail graphs and summaries draw `full`; matrix, tooltip and sparkline `compact`."""
    return {"full": full, "summary": full, **dict.fromkeys(COMPACT, compact)}


def lossrate(loss: float | None, results: float | None) -> float | None:
    """The share of probes lost: `loss` of `results` (None without results)."""
    if loss is None or not results:
        return None
    return loss / results


#: The loss rate of collections whose graphs have ``loss`` and ``results`` columns.
LOSSRATE = Derived("lossrate", ("loss", "results"), lossrate, "fraction")


def spec_for(collection: str) -> SeriesSpec:
    """The graph columns of `collection`: its own spec, else the mean of every field.

    The generic spec lets scripts read any collection's history before a
    graph style for it exists; array fields give their min and max, and a
    field that keeps percentiles also its smoke.
    """
    spec = presentation(collection).series
    if spec is None:
        spec = _generic_specs.get(collection)
        if spec is None:
            spec = _generic_specs[collection] = _generic_spec(get_collection(collection))
    return spec


_generic_specs: dict[str, SeriesSpec] = {}


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
        details=same_columns(detail, compact),
    )
