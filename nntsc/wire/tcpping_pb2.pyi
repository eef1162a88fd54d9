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
    __slots__ = ("packet_size", "random", "port", "dscp")
    PACKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    packet_size: int
    random: bool
    port: int
    dscp: int
    def __init__(self, packet_size: _Optional[int] = ..., random: _Optional[bool] = ..., port: _Optional[int] = ..., dscp: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("address", "family", "rtt", "icmptype", "icmpcode", "flags", "name")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    ICMPTYPE_FIELD_NUMBER: _ClassVar[int]
    ICMPCODE_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    rtt: int
    icmptype: int
    icmpcode: int
    flags: TcpFlags
    name: str
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., rtt: _Optional[int] = ..., icmptype: _Optional[int] = ..., icmpcode: _Optional[int] = ..., flags: _Optional[_Union[TcpFlags, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class TcpFlags(_message.Message):
    __slots__ = ("fin", "syn", "rst", "psh", "ack", "urg")
    FIN_FIELD_NUMBER: _ClassVar[int]
    SYN_FIELD_NUMBER: _ClassVar[int]
    RST_FIELD_NUMBER: _ClassVar[int]
    PSH_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    URG_FIELD_NUMBER: _ClassVar[int]
    fin: bool
    syn: bool
    rst: bool
    psh: bool
    ack: bool
    urg: bool
    def __init__(self, fin: _Optional[bool] = ..., syn: _Optional[bool] = ..., rst: _Optional[bool] = ..., psh: _Optional[bool] = ..., ack: _Optional[bool] = ..., urg: _Optional[bool] = ...) -> None: ...
