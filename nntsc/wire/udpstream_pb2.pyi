from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Report(_message.Message):
    __slots__ = ("header", "reports")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    header: Header
    reports: _containers.RepeatedCompositeFieldContainer[Item]
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., reports: _Optional[_Iterable[_Union[Item, _Mapping]]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("address", "family", "schedule", "packet_size", "packet_spacing", "packet_count", "name", "dscp", "rtt_samples")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    PACKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    PACKET_SPACING_FIELD_NUMBER: _ClassVar[int]
    PACKET_COUNT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    RTT_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    schedule: str
    packet_size: int
    packet_spacing: int
    packet_count: int
    name: str
    dscp: int
    rtt_samples: int
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., schedule: _Optional[str] = ..., packet_size: _Optional[int] = ..., packet_spacing: _Optional[int] = ..., packet_count: _Optional[int] = ..., name: _Optional[str] = ..., dscp: _Optional[int] = ..., rtt_samples: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("direction", "rtt", "jitter", "percentiles", "packets_received", "loss_periods", "loss_percent", "voip")
    class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NULL: _ClassVar[Item.Direction]
        SERVER_TO_CLIENT: _ClassVar[Item.Direction]
        CLIENT_TO_SERVER: _ClassVar[Item.Direction]
    NULL: Item.Direction
    SERVER_TO_CLIENT: Item.Direction
    CLIENT_TO_SERVER: Item.Direction
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    PERCENTILES_FIELD_NUMBER: _ClassVar[int]
    PACKETS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    LOSS_PERIODS_FIELD_NUMBER: _ClassVar[int]
    LOSS_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VOIP_FIELD_NUMBER: _ClassVar[int]
    direction: Item.Direction
    rtt: SummaryStats
    jitter: SummaryStats
    percentiles: _containers.RepeatedScalarFieldContainer[int]
    packets_received: int
    loss_periods: _containers.RepeatedCompositeFieldContainer[Period]
    loss_percent: float
    voip: Voip
    def __init__(self, direction: _Optional[_Union[Item.Direction, str]] = ..., rtt: _Optional[_Union[SummaryStats, _Mapping]] = ..., jitter: _Optional[_Union[SummaryStats, _Mapping]] = ..., percentiles: _Optional[_Iterable[int]] = ..., packets_received: _Optional[int] = ..., loss_periods: _Optional[_Iterable[_Union[Period, _Mapping]]] = ..., loss_percent: _Optional[float] = ..., voip: _Optional[_Union[Voip, _Mapping]] = ...) -> None: ...

class Period(_message.Message):
    __slots__ = ("status", "length")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LOST: _ClassVar[Period.Status]
        RECEIVED: _ClassVar[Period.Status]
    LOST: Period.Status
    RECEIVED: Period.Status
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    status: Period.Status
    length: int
    def __init__(self, status: _Optional[_Union[Period.Status, str]] = ..., length: _Optional[int] = ...) -> None: ...

class SummaryStats(_message.Message):
    __slots__ = ("maximum", "minimum", "mean", "samples")
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    maximum: int
    minimum: int
    mean: int
    samples: int
    def __init__(self, maximum: _Optional[int] = ..., minimum: _Optional[int] = ..., mean: _Optional[int] = ..., samples: _Optional[int] = ...) -> None: ...

class Voip(_message.Message):
    __slots__ = ("icpif", "cisco_mos", "itu_rating", "itu_mos")
    ICPIF_FIELD_NUMBER: _ClassVar[int]
    CISCO_MOS_FIELD_NUMBER: _ClassVar[int]
    ITU_RATING_FIELD_NUMBER: _ClassVar[int]
    ITU_MOS_FIELD_NUMBER: _ClassVar[int]
    icpif: int
    cisco_mos: float
    itu_rating: float
    itu_mos: float
    def __init__(self, icpif: _Optional[int] = ..., cisco_mos: _Optional[float] = ..., itu_rating: _Optional[float] = ..., itu_mos: _Optional[float] = ...) -> None: ...
