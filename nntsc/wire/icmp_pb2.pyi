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
    __slots__ = ("packet_size", "random", "dscp")
    PACKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    packet_size: int
    random: bool
    dscp: int
    def __init__(self, packet_size: _Optional[int] = ..., random: _Optional[bool] = ..., dscp: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("address", "family", "rtt", "err_type", "err_code", "ttl", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    ERR_TYPE_FIELD_NUMBER: _ClassVar[int]
    ERR_CODE_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    rtt: int
    err_type: int
    err_code: int
    ttl: int
    name: str
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., rtt: _Optional[int] = ..., err_type: _Optional[int] = ..., err_code: _Optional[int] = ..., ttl: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...
