"""What a collection declares: its stream key, its fields and how a report becomes rows.

A collection module defines one `Collection` subclass instance; everything
else (SQL tables, InfluxDB measurements, rollups, selection levels) is derived
from the declaration, so adding a measurement type means adding one module.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property
from typing import Any, ClassVar, Literal, NamedTuple

FieldKind = Literal["int", "float", "array"]


@dataclass(frozen=True)
class Field:
    """One stored value of a row.

    `kind` is ``int`` or ``float`` for scalars and ``array`` for a list of
    numbers (e.g. the per-probe round-trip times). `quantiles` asks the
    rollups to keep 20 percentiles of the field so that percentile and smoke
    aggregations work on long ranges; `unit` is the stored unit.
    """

    name: str
    kind: FieldKind
    unit: str | None = None
    quantiles: bool = False
    description: str = ""


@dataclass(frozen=True)
class Property:
    """One part of the stream key, in selection-hierarchy order."""

    name: str
    label: str
    max_length: int = 255
    #: The unit of a numeric property ("bytes"), shown after its values in lists.
    unit: str | None = None


class ParsedRow(NamedTuple):
    """A row before its stream has an id: the stream's properties and the row's values."""

    properties: Mapping[str, str]
    values: Mapping[str, Any]


class Row(NamedTuple):
    """One timestamped row of one stream, ready for a store.

    A named tuple rather than a dataclass: ingest makes one per measurement.
    """

    stream_id: int
    timestamp: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Detection:
    """That a detector watches one field of a collection's streams (`nntsc.events`).

    `detector` names a class of `nntsc.events.detectors.DETECTORS`: ``level``
    (level shifts of a continuous value), ``loss`` (runs of lost
    measurements, `field` a 0..1 loss fraction), ``path`` (`field` an AS or IP
    path id) or ``mode`` (change of the dominant value of a quantised
    series). Values are shown and scored in `unit`: the stored value times
    `scale` (us -> ms is 0.001). `metric` names the watched series in events
    (default: the field); `options` override the detector's parameters.
    """

    detector: str
    field: str
    unit: str = ""
    scale: float = 1.0
    metric: str = ""
    options: Mapping[str, Any] = dataclass_field(default_factory=dict)

    @property
    def metric_name(self) -> str:
        return self.metric or self.field


class Collection:
    """Base class of collection declarations; subclasses fill the class attributes."""

    name: ClassVar[str]
    view_style: ClassVar[str]
    description: ClassVar[str] = ""
    #: A short name for tabs and lists ("ICMP"); the name where empty.
    title: ClassVar[str] = ""
    properties: ClassVar[tuple[Property, ...]]
    fields: ClassVar[tuple[Field, ...]]
    #: A field that every row has a value for, used to find a stream's newest row.
    presence_field: ClassVar[str]
    #: The amplet2 test (AMQP header ``x-amp-test-type``) whose reports feed it.
    amp_test: ClassVar[str | None] = None
    #: Whether `parse` also takes the report as the protobuf message off the wire
    #: (`nntsc.wire.decode_message`): reading its fields directly costs a fraction
    #: of building the dict first. Other collections get `nntsc.wire.to_dict` of it.
    parses_messages: ClassVar[bool] = False
    #: What the event detectors watch in this collection's rows (none by default).
    detections: ClassVar[tuple[Detection, ...]] = ()
    #: The stream properties that name an event's source and target, for grouping.
    endpoint_properties: ClassVar[tuple[str, str]] = ("source", "destination")

    @cached_property
    def property_names(self) -> tuple[str, ...]:
        return tuple(prop.name for prop in self.properties)

    @cached_property
    def key_getter(self) -> Callable[[Mapping[str, str]], tuple[str, ...]]:
        """A function taking a properties mapping to the stream key tuple (KeyError if short)."""
        getter = operator.itemgetter(*self.property_names)
        if len(self.property_names) == 1:
            return lambda properties: (getter(properties),)
        return getter

    @cached_property
    def field_names(self) -> tuple[str, ...]:
        return tuple(fld.name for fld in self.fields)

    @property
    def slug(self) -> str:
        """The name as an SQL identifier fragment: ``amp-icmp`` -> ``amp_icmp``."""
        return self.name.replace("-", "_")

    def field(self, name: str) -> Field:
        for fld in self.fields:
            if fld.name == name:
                return fld
        raise KeyError(name)

    def parse(self, report: Any, source: str, timestamp: int) -> Sequence[ParsedRow]:
        """Turn one decoded report into rows; raise `BadReport` and return nothing if malformed.

        `report` is a dict as `nntsc.wire.decode` returns, or with
        `parses_messages` also the message of `nntsc.wire.decode_message`.
        """
        raise NotImplementedError

    def resolve(self, services: Any, rows: Sequence[ParsedRow]) -> Sequence[ParsedRow]:
        """Rows with references to SQL-side records filled in, before they are buffered.

        `parse` is pure; a collection whose rows point at deduplicated SQL
        records (e.g. traceroute paths) looks them up or creates them here,
        with `services` (a `nntsc.config.Services`). Most collections need
        nothing.
        """
        return rows

    def __repr__(self) -> str:
        return f"<Collection {self.name}>"
