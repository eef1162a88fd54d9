from google.protobuf.internal import containers as _containers
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
    __slots__ = ("address", "family", "name", "count", "rate", "size", "preprobe", "dscp")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    PREPROBE_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    name: str
    count: int
    rate: int
    size: int
    preprobe: bool
    dscp: int
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., name: _Optional[str] = ..., count: _Optional[int] = ..., rate: _Optional[int] = ..., size: _Optional[int] = ..., preprobe: _Optional[bool] = ..., dscp: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("runtime", "rtt", "jitter")
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    runtime: int
    rtt: SummaryStats
    jitter: SummaryStats
    def __init__(self, runtime: _Optional[int] = ..., rtt: _Optional[_Union[SummaryStats, _Mapping]] = ..., jitter: _Optional[_Union[SummaryStats, _Mapping]] = ...) -> None: ...

class SummaryStats(_message.Message):
    __slots__ = ("maximum", "minimum", "mean", "samples", "sd", "percentiles")
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SD_FIELD_NUMBER: _ClassVar[int]
    PERCENTILES_FIELD_NUMBER: _ClassVar[int]
    maximum: int
    minimum: int
    mean: int
    samples: int
    sd: int
    percentiles: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, maximum: _Optional[int] = ..., minimum: _Optional[int] = ..., mean: _Optional[int] = ..., samples: _Optional[int] = ..., sd: _Optional[int] = ..., percentiles: _Optional[_Iterable[int]] = ...) -> None: ...
