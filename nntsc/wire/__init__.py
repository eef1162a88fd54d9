"""amplet2 result reports on the wire: protobuf ``Report`` bytes <-> plain dicts.

An AMP monitor publishes one serialized ``Report`` per test run, with the test's
name in the AMQP header ``x-amp-test-type`` (`docs/wire.md`). The
messages are proto2, written here from the documented format
(``nntsc/wire/proto/<test>.proto``; regenerate the ``*_pb2.py`` modules with
``make protos``).

The contract of the dicts, in both directions ("absent = unset"):

* A singular field is a key only when the sender set it (proto2 presence). An
  unset field is **absent**, never ``None`` and never filled with its default:
  a lost ICMP probe has no ``"rtt"`` key, so ``item.get("rtt")`` is ``None``,
  and ``header.get("packet_size", 84)`` supplies the documented default. A
  field that was set to its default value *is* present.
* A repeated field is always a key, holding a list (possibly empty).
* Nested messages are dicts, enums are their integer values, ``bytes`` fields
  (packed addresses, NSID) stay ``bytes``, strings are ``str``, doubles
  ``float``.

`encode` takes the same shape; there a key whose value is ``None`` also means
"unset", enums may be given by name as well, and an unknown key is an error.
Fields on the wire that this version does not know (a newer amplet2) are
ignored by `decode`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, EncodeError, Message

from nntsc.errors import BadReport
from nntsc.wire import (
    dns_pb2,
    external_pb2,
    fastping_pb2,
    http_pb2,
    icmp_pb2,
    sip_pb2,
    tcpping_pb2,
    throughput_pb2,
    traceroute_pb2,
    udpstream_pb2,
    youtube_pb2,
)

__all__ = [
    "DEFAULTS",
    "TEST_TYPES",
    "UnknownTestType",
    "decode",
    "decode_message",
    "encode",
    "report_class",
    "to_dict",
]

_REPORTS: dict[str, type[Message]] = {
    "icmp": icmp_pb2.Report,
    "traceroute": traceroute_pb2.Report,
    "throughput": throughput_pb2.Report,
    "dns": dns_pb2.Report,
    "tcpping": tcpping_pb2.Report,
    "http": http_pb2.Report,
    "udpstream": udpstream_pb2.Report,
    "youtube": youtube_pb2.Report,
    "fastping": fastping_pb2.Report,
    "external": external_pb2.Report,
    "sip": sip_pb2.Report,
}

#: The ``x-amp-test-type`` values whose reports this package decodes: all eleven
#: amplet2 tests. Any other raises `UnknownTestType`.
TEST_TYPES: tuple[str, ...] = tuple(_REPORTS)

_INT_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_FLOAT_TYPES = frozenset({FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT})


class UnknownTestType(BadReport):
    """A report whose test type (``x-amp-test-type``) this package cannot decode."""

    def __init__(self, test_type: object) -> None:
        super().__init__(
            f"unknown amplet2 test type {test_type!r} (known: {', '.join(TEST_TYPES)})"
        )
        self.test_type = test_type


def report_class(test_type: str) -> type[Message]:
    """The generated ``Report`` class of a test; `UnknownTestType` if there is none."""
    try:
        return _REPORTS[test_type]
    except (KeyError, TypeError):
        raise UnknownTestType(test_type) from None


def decode(test_type: str, body: bytes) -> dict[str, Any]:
    """The ``Report`` of ``test_type`` serialized in ``body``, as a plain dict.

    Raises `UnknownTestType` for a test this package does not know and
    `BadReport` for a body that is not a valid serialized ``Report``.
    """
    return to_dict(decode_message(test_type, body))


def decode_message(test_type: str, body: bytes) -> Message:
    """The ``Report`` of ``test_type`` serialized in ``body``, as the protobuf message.

    What `decode` converts to a dict, for readers that take the message's
    fields directly (`nntsc.collections.Collection.parses_messages`): string
    fields are not checked here, and one with invalid UTF-8 reads as bytes.
    Raises like `decode`.
    """
    cls = report_class(test_type)
    if not isinstance(body, bytes | bytearray | memoryview):
        raise BadReport(f"{test_type} report body is {type(body).__name__}, not bytes")
    report = cls()
    try:
        report.ParseFromString(bytes(body))
    except DecodeError as exc:
        raise BadReport(
            f"{test_type} report body ({len(body)} bytes) is not a valid protobuf Report: {exc}"
        ) from None
    if not report.IsInitialized():
        # The runtime's Message has FindInitializationErrors; types-protobuf omits it.
        missing = ", ".join(report.FindInitializationErrors())  # type: ignore[attr-defined]
        raise BadReport(f"{test_type} report lacks required fields: {missing}")
    return report


def to_dict(message: Message) -> dict[str, Any]:
    """A message of `decode_message` as the dict `decode` returns (`BadReport` on bad UTF-8)."""
    return _to_dict(message)


def encode(test_type: str, report: Mapping[str, Any]) -> bytes:
    """Serialize a dict of the shape `decode` returns as the ``Report`` of ``test_type``.

    Raises `UnknownTestType` for an unknown test and `BadReport` for a dict that
    does not fit the message (unknown key, wrong type, value out of range).
    """
    message = report_class(test_type)()
    _fill(message, report, test_type)
    try:
        return message.SerializeToString()
    except EncodeError as exc:
        raise BadReport(f"{test_type} report cannot be encoded: {exc}") from None


@functools.cache
def _layout(descriptor: Any) -> tuple[dict[str, tuple[bool, bool, bool]], tuple[str, ...]]:
    """Per field name: (repeated, message, string); and the repeated fields' names."""
    kinds = {
        f.name: (
            f.is_repeated,
            f.type == FieldDescriptor.TYPE_MESSAGE,
            f.type == FieldDescriptor.TYPE_STRING,
        )
        for f in descriptor.fields
    }
    return kinds, tuple(f.name for f in descriptor.fields if f.is_repeated)


def _to_dict(message: Message) -> dict[str, Any]:
    # Runs for every item of every report: field facts come from a cache.
    kinds, repeated = _layout(message.DESCRIPTOR)
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        name = field.name
        is_repeated, is_message, is_string = kinds[name]
        if is_message:
            out[name] = [_to_dict(v) for v in value] if is_repeated else _to_dict(value)
            continue
        if is_string:
            for text in value if is_repeated else (value,):
                if type(text) is not str:
                    # proto2 does not check UTF-8 on the wire; upb then hands back bytes.
                    raise BadReport(
                        f"{message.DESCRIPTOR.full_name}.{name} is not valid UTF-8: {text!r}"
                    )
        out[name] = list(value) if is_repeated else value
    for name in repeated:
        if name not in out:
            out[name] = []
    return out


def _fill(message: Message, values: Mapping[str, Any], path: str) -> None:
    if not isinstance(values, Mapping):
        raise BadReport(f"{path} must be a mapping, not {type(values).__name__}")
    # types-protobuf also allows the upb runtime's Descriptor, which has the same interface.
    descriptor: Descriptor = message.DESCRIPTOR  # type: ignore[assignment]
    for name, value in values.items():
        field = descriptor.fields_by_name.get(name)
        where = f"{path}.{name}"
        if field is None:
            known = ", ".join(f.name for f in descriptor.fields)
            raise BadReport(f"{where}: {descriptor.full_name} has no such field (has {known})")
        if value is None:
            continue
        if field.is_repeated:
            if isinstance(value, str | bytes | bytearray | Mapping) or not hasattr(
                value, "__iter__"
            ):
                raise BadReport(f"{where} must be a list, not {type(value).__name__}")
            container = getattr(message, name)
            for index, item in enumerate(value):
                item_where = f"{where}[{index}]"
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    _fill(container.add(), item, item_where)
                else:
                    _set(container.append, field, item, item_where)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            sub = getattr(message, name)
            sub.SetInParent()  # present even when given as {}
            _fill(sub, value, where)
        else:
            _set(partial(setattr, message, name), field, value, where)


def _set(store: Any, field: FieldDescriptor, value: Any, where: str) -> None:
    """Check ``value`` against the field's type, then ``store`` it."""
    kind = field.type
    if kind == FieldDescriptor.TYPE_BOOL:
        ok = isinstance(value, bool)
    elif kind in _INT_TYPES:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in _FLOAT_TYPES:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == FieldDescriptor.TYPE_STRING:
        ok = isinstance(value, str)
    elif kind == FieldDescriptor.TYPE_BYTES:
        ok = isinstance(value, bytes | bytearray)
        value = bytes(value) if ok else value
    elif kind == FieldDescriptor.TYPE_ENUM:
        ok = (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)
        if isinstance(value, str):
            enum_type = field.enum_type
            assert enum_type is not None  # an enum field always has its enum type
            enum_value = enum_type.values_by_name.get(value)
            if enum_value is None:
                names = ", ".join(v.name for v in enum_type.values)
                raise BadReport(f"{where}: {value!r} is not one of {names}")
            value = enum_value.number
    else:  # pragma: no cover - the .proto files use no other scalar type
        ok = False
    if not ok:
        raise BadReport(f"{where}: {type(value).__name__} {value!r} does not fit this field")
    try:
        store(value)
    except (ValueError, TypeError) as exc:
        raise BadReport(f"{where}: {value!r} does not fit this field ({exc})") from None


#: The documented defaults, ``{test type: {message name: {field name: default}}}``
#: (only fields that declare one), for readers of decoded dicts:
#: ``header.get("packet_size", DEFAULTS["icmp"]["Header"]["packet_size"])``.
DEFAULTS: Mapping[str, Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        test: MappingProxyType(
            {
                desc.name: MappingProxyType(
                    {
                        f.name: f.default_value
                        for f in desc.fields
                        if f.has_default_value and not f.is_repeated
                    }
                )
                for desc in cls.DESCRIPTOR.file.message_types_by_name.values()
            }
        )
        for test, cls in _REPORTS.items()
    }
)
