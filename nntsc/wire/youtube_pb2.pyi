from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Quality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[Quality]
    DEFAULT: _ClassVar[Quality]
    SMALL: _ClassVar[Quality]
    MEDIUM: _ClassVar[Quality]
    LARGE: _ClassVar[Quality]
    HD720: _ClassVar[Quality]
    HD1080: _ClassVar[Quality]
    HD1440: _ClassVar[Quality]
    HD2160: _ClassVar[Quality]
    HIGHRES: _ClassVar[Quality]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN_EVENT: _ClassVar[EventType]
    READY: _ClassVar[EventType]
    UNSTARTED: _ClassVar[EventType]
    BUFFERING: _ClassVar[EventType]
    QUALITY: _ClassVar[EventType]
    PLAYING: _ClassVar[EventType]
    ENDED: _ClassVar[EventType]
    ERROR: _ClassVar[EventType]
UNKNOWN: Quality
DEFAULT: Quality
SMALL: Quality
MEDIUM: Quality
LARGE: Quality
HD720: Quality
HD1080: Quality
HD1440: Quality
HD2160: Quality
HIGHRES: Quality
UNKNOWN_EVENT: EventType
READY: EventType
UNSTARTED: EventType
BUFFERING: EventType
QUALITY: EventType
PLAYING: EventType
ENDED: EventType
ERROR: EventType

class Report(_message.Message):
    __slots__ = ("header", "item")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    header: Header
    item: Item
    def __init__(self, header: _Optional[_Union[Header, _Mapping]] = ..., item: _Optional[_Union[Item, _Mapping]] = ...) -> None: ...

class Header(_message.Message):
    __slots__ = ("video", "quality", "dscp", "useragent", "maxruntime")
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    DSCP_FIELD_NUMBER: _ClassVar[int]
    USERAGENT_FIELD_NUMBER: _ClassVar[int]
    MAXRUNTIME_FIELD_NUMBER: _ClassVar[int]
    video: str
    quality: Quality
    dscp: int
    useragent: str
    maxruntime: int
    def __init__(self, video: _Optional[str] = ..., quality: _Optional[_Union[Quality, str]] = ..., dscp: _Optional[int] = ..., useragent: _Optional[str] = ..., maxruntime: _Optional[int] = ...) -> None: ...

class Item(_message.Message):
    __slots__ = ("title", "quality", "initial_buffering", "playing_time", "stall_time", "stall_count", "total_time", "pre_time", "reported_duration", "timeline")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BUFFERING_FIELD_NUMBER: _ClassVar[int]
    PLAYING_TIME_FIELD_NUMBER: _ClassVar[int]
    STALL_TIME_FIELD_NUMBER: _ClassVar[int]
    STALL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_FIELD_NUMBER: _ClassVar[int]
    PRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORTED_DURATION_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    title: str
    quality: Quality
    initial_buffering: int
    playing_time: int
    stall_time: int
    stall_count: int
    total_time: int
    pre_time: int
    reported_duration: int
    timeline: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, title: _Optional[str] = ..., quality: _Optional[_Union[Quality, str]] = ..., initial_buffering: _Optional[int] = ..., playing_time: _Optional[int] = ..., stall_time: _Optional[int] = ..., stall_count: _Optional[int] = ..., total_time: _Optional[int] = ..., pre_time: _Optional[int] = ..., reported_duration: _Optional[int] = ..., timeline: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp", "type", "quality")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    type: EventType
    quality: Quality
    def __init__(self, timestamp: _Optional[int] = ..., type: _Optional[_Union[EventType, str]] = ..., quality: _Optional[_Union[Quality, str]] = ...) -> None: ...
