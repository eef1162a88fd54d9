"""The `Ampy` object: one entry point for the web app and for scripts."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ampy.binsize import choose_binsize, describe_binsize
from ampy.series import spec_for
from nntsc.collections import all_collections
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.errors import BadQuery
from nntsc.store.streams import Page, StreamInfo

#: The longest range a single history call may cover (about 10 years).
MAX_RANGE = 3660 * 86400


@dataclass(frozen=True)
class History:
    """Aggregated rows for a set of streams: one row per bin, nulls where no data."""

    collection: str
    start: int
    end: int
    binsize: int
    aggregation_label: str
    columns: list[str]
    units: dict[str, str]
    rows: list[list[Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "start": self.start,
            "end": self.end,
            "binsize": self.binsize,
            "aggregation": "mean",
            "aggregation_label": self.aggregation_label,
            "columns": self.columns,
            "units": self.units,
            "rows": self.rows,
        }


class Ampy:
    """Queries over the configured stores. Build one per process from settings."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> Ampy:
        return cls(Services.from_settings(settings))

    def close(self) -> None:
        self.services.close()

    def collections(self) -> list[dict[str, Any]]:
        """Every collection: name, view style, description and its stream properties."""
        return [
            {
                "name": c.name,
                "view_style": c.view_style,
                "description": c.description,
                "properties": list(c.property_names),
            }
            for c in all_collections()
        ]

    def find_streams(
        self,
        collection: str,
        filters: Mapping[str, str] | None = None,
        page: int = 1,
        pagesize: int = 100,
    ) -> Page:
        """Streams of `collection` whose properties match `filters`, paginated."""
        return self.services.streams.find(get_collection(collection), filters, page, pagesize)

    def stream(self, stream_id: int) -> StreamInfo:
        """One stream; raises `UnknownStream`."""
        return self.services.streams.get(stream_id)

    def history(
        self,
        collection: str,
        stream_ids: Sequence[int],
        start: int,
        end: int,
        detail: str = "full",
        binsize: int | None = None,
    ) -> History:
        """The streams' rows aggregated together over [start, end), in graph units.

        Without `binsize`, one is chosen for about 300 points (see
        `choose_binsize`), never below the collection's minimum.
        """
        _check_range(start, end)
        spec = spec_for(collection)
        if binsize is None:
            binsize = choose_binsize(start, end, spec.minimum_binsize)
        elif binsize < 1:
            raise BadQuery("binsize must be at least 1 second (0 asks for raw rows)")
        columns = spec.columns(detail)
        result = self.services.timeseries.aggregate(
            get_collection(collection),
            stream_ids,
            start,
            end,
            binsize,
            [column.aggregation for column in columns],
        )
        names, rows = spec.shape(detail, result.rows)
        return History(
            collection=collection,
            start=start,
            end=end,
            binsize=binsize,
            aggregation_label=f"{spec.label} over {describe_binsize(binsize)}",
            columns=names,
            units=spec.units(detail),
            rows=rows,
        )

    def raw(
        self, collection: str, stream_ids: Sequence[int], start: int, end: int
    ) -> tuple[list[str], list[list[Any]]]:
        """Raw rows as stored (stored units), columns ``stream_id, timestamp, fields...``."""
        _check_range(start, end)
        coll = get_collection(collection)
        rows = self.services.timeseries.raw(coll, stream_ids, start, end)
        names = ["stream_id", "timestamp", *coll.field_names]
        return names, [
            [row.stream_id, row.timestamp, *(row.values.get(f) for f in coll.field_names)]
            for row in rows
        ]

    def ping(self) -> dict[str, str]:
        """Reach every store; the answer names each and says ``ok`` or what failed."""
        return self.services.health()


def _check_range(start: int, end: int) -> None:
    if end <= start:
        raise BadQuery("end must be after start")
    if end - start > MAX_RANGE:
        raise BadQuery("the range may cover at most 10 years")
    if start < 0 or end > time.time() + 366 * 86400:
        raise BadQuery("start and end must be Unix times between 1970 and next year")
