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
    __slots__ = ("uri", "hostname", "useragent", "filename", "max_duration", "proxy", "repeat", "dscp", "address", "family")
    URI_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    USERAGENT_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    PROXY_FIELD_NUMBER: _ClassVar[int]
    REPEAT_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    uri: str
    hostname: str
    useragent: str
    filename: str
    max_duration: int
    proxy: _containers.RepeatedScalarFieldContainer[str]
    repeat: bool
    dscp: int
    address: bytes
    family: int
    def __init__(self, uri: _Optional[str] = ..., hostname: _Optional[str] = ..., useragent: _Optional[str] = ..., filename: _Optional[str] = ..., max_duration: _Optional[int] = ..., proxy: _Optional[_Iterable[str]] = ..., repeat: _Optional[bool] = ..., dscp: _Optional[int] = ..., address: _Optional[bytes] = ..., family: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("time_till_first_response", "time_till_connected", "duration", "rtt", "rx", "tx")
    TIME_TILL_FIRST_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    TIME_TILL_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    RX_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    time_till_first_response: int
    time_till_connected: int
    duration: int
    rtt: SummaryStats
    rx: StreamStats
    tx: StreamStats
    def __init__(self, time_till_first_response: _Optional[int] = ..., time_till_connected: _Optional[int] = ..., duration: _Optional[int] = ..., rtt: _Optional[_Union[SummaryStats, _Mapping]] = ..., rx: _Optional[_Union[StreamStats, _Mapping]] = ..., tx: _Optional[_Union[StreamStats, _Mapping]] = ...) -> None: ...

class StreamStats(_message.Message):
    __slots__ = ("packets", "bytes", "lost", "discarded", "reordered", "duplicated", "jitter", "loss", "mos")
    PACKETS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_FIELD_NUMBER: _ClassVar[int]
    REORDERED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATED_FIELD_NUMBER: _ClassVar[int]
    JITTER_FIELD_NUMBER: _ClassVar[int]
    LOSS_FIELD_NUMBER: _ClassVar[int]
    MOS_FIELD_NUMBER: _ClassVar[int]
    packets: int
    bytes: int
    lost: int
    discarded: int
    reordered: int
    duplicated: int
    jitter: SummaryStats
    loss: SummaryStats
    mos: Mos
    def __init__(self, packets: _Optional[int] = ..., bytes: _Optional[int] = ..., lost: _Optional[int] = ..., discarded: _Optional[int] = ..., reordered: _Optional[int] = ..., duplicated: _Optional[int] = ..., jitter: _Optional[_Union[SummaryStats, _Mapping]] = ..., loss: _Optional[_Union[SummaryStats, _Mapping]] = ..., mos: _Optional[_Union[Mos, _Mapping]] = ...) -> None: ...

class SummaryStats(_message.Message):
    __slots__ = ("maximum", "minimum", "mean", "sd")
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SD_FIELD_NUMBER: _ClassVar[int]
    maximum: int
    minimum: int
    mean: int
    sd: int
    def __init__(self, maximum: _Optional[int] = ..., minimum: _Optional[int] = ..., mean: _Optional[int] = ..., sd: _Optional[int] = ...) -> None: ...

class Mos(_message.Message):
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
