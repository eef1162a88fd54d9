from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NONE: _ClassVar[Protocol]
    HTTP_POST: _ClassVar[Protocol]
NONE: Protocol
HTTP_POST: Protocol

class Report(_message.Message):
    __slots__ = ("header", "reports")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    header: Header
    reports: _containers.RepeatedCompositeFieldContainer[Item]
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., reports: _Optional[_Iterable[_Union[Item, _Mapping]]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("address", "family", "schedule", "write_size", "name", "dscp", "protocol")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    WRITE_SIZE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    schedule: str
    write_size: int
    name: str
    dscp: int
    protocol: Protocol
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., schedule: _Optional[str] = ..., write_size: _Optional[int] = ..., name: _Optional[str] = ..., dscp: _Optional[int] = ..., protocol: _Optional[_Union[Protocol, str]] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("duration", "bytes", "direction", "tcpinfo")
    class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NULL: _ClassVar[Item.Direction]
        SERVER_TO_CLIENT: _ClassVar[Item.Direction]
        CLIENT_TO_SERVER: _ClassVar[Item.Direction]
    NULL: Item.Direction
    SERVER_TO_CLIENT: Item.Direction
    CLIENT_TO_SERVER: Item.Direction
    DURATION_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TCPINFO_FIELD_NUMBER: _ClassVar[int]
    duration: int
    bytes: int
    direction: Item.Direction
    tcpinfo: TCPInfo
    def __init__(self, duration: _Optional[int] = ..., bytes: _Optional[int] = ..., direction: _Optional[_Union[Item.Direction, str]] = ..., tcpinfo: _Optional[_Union[TCPInfo, _Mapping]] = ...) -> None: ...

class TCPInfo(_message.Message):
    __slots__ = ("delivery_rate", "total_retrans", "rtt", "rttvar", "busy_time", "rwnd_limited", "sndbuf_limited", "min_rtt")
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RETRANS_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    RTTVAR_FIELD_NUMBER: _ClassVar[int]
    BUSY_TIME_FIELD_NUMBER: _ClassVar[int]
    RWND_LIMITED_FIELD_NUMBER: _ClassVar[int]
    SNDBUF_LIMITED_FIELD_NUMBER: _ClassVar[int]
    MIN_RTT_FIELD_NUMBER: _ClassVar[int]
    delivery_rate: int
    total_retrans: int
    rtt: int
    rttvar: int
    busy_time: int
    rwnd_limited: int
    sndbuf_limited: int
    min_rtt: int
    def __init__(self, delivery_rate: _Optional[int] = ..., total_retrans: _Optional[int] = ..., rtt: _Optional[int] = ..., rttvar: _Optional[int] = ..., busy_time: _Optional[int] = ..., rwnd_limited: _Optional[int] = ..., sndbuf_limited: _Optional[int] = ..., min_rtt: _Optional[int] = ...) -> None: ...
