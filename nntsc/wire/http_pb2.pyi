from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Report(_message.Message):
    __slots__ = ("header", "servers")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SERVERS_FIELD_NUMBER: _ClassVar[int]
    header: Header
    servers: _containers.RepeatedCompositeFieldContainer[Server]
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., servers: _Optional[_Iterable[_Union[Server, _Mapping]]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("url", "duration", "total_bytes", "total_objects", "max_connections", "max_connections_per_server", "pipelining_maxrequests", "max_persistent_connections_per_server", "persist", "pipelining", "caching", "dscp", "useragent", "proxy")
    URL_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OBJECTS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_PER_SERVER_FIELD_NUMBER: _ClassVar[int]
    PIPELINING_MAXREQUESTS_FIELD_NUMBER: _ClassVar[int]
    MAX_PERSISTENT_CONNECTIONS_PER_SERVER_FIELD_NUMBER: _ClassVar[int]
    PERSIST_FIELD_NUMBER: _ClassVar[int]
    PIPELINING_FIELD_NUMBER: _ClassVar[int]
    CACHING_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    USERAGENT_FIELD_NUMBER: _ClassVar[int]
    PROXY_FIELD_NUMBER: _ClassVar[int]
    url: str
    duration: int
    total_bytes: int
    total_objects: int
    max_connections: int
    max_connections_per_server: int
    pipelining_maxrequests: int
    max_persistent_connections_per_server: int
    persist: bool
    pipelining: bool
    caching: bool
    dscp: int
    useragent: str
    proxy: str
    def __init__(self, url: _Optional[str] = ..., duration: _Optional[int] = ..., total_bytes: _Optional[int] = ..., total_objects: _Optional[int] = ..., max_connections: _Optional[int] = ..., max_connections_per_server: _Optional[int] = ..., pipelining_maxrequests: _Optional[int] = ..., max_persistent_connections_per_server: _Optional[int] = ..., persist: _Optional[bool] = ..., pipelining: _Optional[bool] = ..., caching: _Optional[bool] = ..., dscp: _Optional[int] = ..., useragent: _Optional[str] = ..., proxy: _Optional[str] = ...) -> None: ...

class Server(_message.Message):
    __slots__ = ("hostname", "start", "end", "address", "total_bytes", "objects")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    start: float
    end: float
    address: str
    total_bytes: int
    objects: _containers.RepeatedCompositeFieldContainer[Object]
    def __init__(self, hostname: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., address: _Optional[str] = ..., total_bytes: _Optional[int] = ..., objects: _Optional[_Iterable[_Union[Object, _Mapping]]] = ...) -> None: ...

class Object(_message.Message):
    __slots__ = ("path", "start", "end", "lookup", "connect", "start_transfer", "total_time", "code", "size", "connect_count", "pipeline", "cache_headers")
    PATH_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_FIELD_NUMBER: _ClassVar[int]
    CONNECT_FIELD_NUMBER: _ClassVar[int]
    START_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CONNECT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PIPELINE_FIELD_NUMBER: _ClassVar[int]
    CACHE_HEADERS_FIELD_NUMBER: _ClassVar[int]
    path: str
    start: float
    end: float
    lookup: float
    connect: float
    start_transfer: float
    total_time: float
    code: int
    size: int
    connect_count: int
    pipeline: int
    cache_headers: CacheHeaders
    def __init__(self, path: _Optional[str] = ..., start: _Optional[float] = ..., end: _Optional[float] = ..., lookup: _Optional[float] = ..., connect: _Optional[float] = ..., start_transfer: _Optional[float] = ..., total_time: _Optional[float] = ..., code: _Optional[int] = ..., size: _Optional[int] = ..., connect_count: _Optional[int] = ..., pipeline: _Optional[int] = ..., cache_headers: _Optional[_Union[CacheHeaders, _Mapping]] = ...) -> None: ...

class CacheHeaders(_message.Message):
    __slots__ = ("max_age", "s_maxage", "x_cache", "x_cache_lookup", "pub", "priv", "no_cache", "no_store", "no_transform", "must_revalidate", "proxy_revalidate")
    MAX_AGE_FIELD_NUMBER: _ClassVar[int]
    S_MAXAGE_FIELD_NUMBER: _ClassVar[int]
    X_CACHE_FIELD_NUMBER: _ClassVar[int]
    X_CACHE_LOOKUP_FIELD_NUMBER: _ClassVar[int]
    PUB_FIELD_NUMBER: _ClassVar[int]
    PRIV_FIELD_NUMBER: _ClassVar[int]
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    NO_STORE_FIELD_NUMBER: _ClassVar[int]
    NO_TRANSFORM_FIELD_NUMBER: _ClassVar[int]
    MUST_REVALIDATE_FIELD_NUMBER: _ClassVar[int]
    PROXY_REVALIDATE_FIELD_NUMBER: _ClassVar[int]
    max_age: int
    s_maxage: int
    x_cache: bool
    x_cache_lookup: bool
    pub: bool
    priv: bool
    no_cache: bool
    no_store: bool
    no_transform: bool
    must_revalidate: bool
    proxy_revalidate: bool
    def __init__(self, max_age: _Optional[int] = ..., s_maxage: _Optional[int] = ..., x_cache: _Optional[bool] = ..., x_cache_lookup: _Optional[bool] = ..., pub: _Optional[bool] = ..., priv: _Optional[bool] = ..., no_cache: _Optional[bool] = ..., no_store: _Optional[bool] = ..., no_transform: _Optional[bool] = ..., must_revalidate: _Optional[bool] = ..., proxy_revalidate: _Optional[bool] = ...) -> None: ...
