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
    __slots__ = ("query_type", "query_class", "udp_payload_size", "recurse", "dnssec", "nsid", "query", "dscp")
    QUERY_TYPE_FIELD_NUMBER: _ClassVar[int]
    QUERY_CLASS_FIELD_NUMBER: _ClassVar[int]
    UDP_PAYLOAD_SIZE_FIELD_NUMBER: _ClassVar[int]
    RECURSE_FIELD_NUMBER: _ClassVar[int]
    DNSSEC_FIELD_NUMBER: _ClassVar[int]
    NSID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    query_type: int
    query_class: int
    udp_payload_size: int
    recurse: bool
    dnssec: bool
    nsid: bool
    query: str
    dscp: int
    def __init__(self, query_type: _Optional[int] = ..., query_class: _Optional[int] = ..., udp_payload_size: _Optional[int] = ..., recurse: _Optional[bool] = ..., dnssec: _Optional[bool] = ..., nsid: _Optional[bool] = ..., query: _Optional[str] = ..., dscp: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("address", "family", "rtt", "query_length", "response_size", "total_answer", "total_authority", "total_additional", "flags", "ttl", "name", "instance", "rrsig")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    RTT_FIELD_NUMBER: _ClassVar[int]
    QUERY_LENGTH_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ANSWER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ADDITIONAL_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    RRSIG_FIELD_NUMBER: _ClassVar[int]
    address: bytes
    family: int
    rtt: int
    query_length: int
    response_size: int
    total_answer: int
    total_authority: int
    total_additional: int
    flags: DnsFlags
    ttl: int
    name: str
    instance: bytes
    rrsig: bool
    def __init__(self, address: _Optional[bytes] = ..., family: _Optional[int] = ..., rtt: _Optional[int] = ..., query_length: _Optional[int] = ..., response_size: _Optional[int] = ..., total_answer: _Optional[int] = ..., total_authority: _Optional[int] = ..., total_additional: _Optional[int] = ..., flags: _Optional[_Union[DnsFlags, _Mapping]] = ..., ttl: _Optional[int] = ..., name: _Optional[str] = ..., instance: _Optional[bytes] = ..., rrsig: _Optional[bool] = ...) -> None: ...

class DnsFlags(_message.Message):
    __slots__ = ("qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad", "cd", "rcode")
    QR_FIELD_NUMBER: _ClassVar[int]
    OPCODE_FIELD_NUMBER: _ClassVar[int]
    AA_FIELD_NUMBER: _ClassVar[int]
    TC_FIELD_NUMBER: _ClassVar[int]
    RD_FIELD_NUMBER: _ClassVar[int]
    RA_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    AD_FIELD_NUMBER: _ClassVar[int]
    CD_FIELD_NUMBER: _ClassVar[int]
    RCODE_FIELD_NUMBER: _ClassVar[int]
    qr: bool
    opcode: int
    aa: bool
    tc: bool
    rd: bool
    ra: bool
    z: bool
    ad: bool
    cd: bool
    rcode: int
    def __init__(self, qr: _Optional[bool] = ..., opcode: _Optional[int] = ..., aa: _Optional[bool] = ..., tc: _Optional[bool] = ..., rd: _Optional[bool] = ..., ra: _Optional[bool] = ..., z: _Optional[bool] = ..., ad: _Optional[bool] = ..., cd: _Optional[bool] = ..., rcode: _Optional[int] = ...) -> None: ...
