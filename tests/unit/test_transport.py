"""The read-ahead AMQP transport against py-amqp's frame reader, over a socket pair."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import amqp
import pytest
from amqp.serialization import decode_properties_basic
from hypothesis import given
from hypothesis import strategies as st

from nntsc.ingest.amqp import amplet_message
from nntsc.ingest.transport import (
    READ_AHEAD,
    ReadAheadTCPTransport,
    _amplet_properties,
    decode_properties,
)


def frame(payload: bytes, channel: int = 1, kind: int = 1) -> bytes:
    return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"


class CountingRecv:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.calls = 0

    def __call__(self, size: int) -> bytes:
        self.calls += 1
        return self.sock.recv(size)


@pytest.fixture
def pair() -> Iterator[tuple[ReadAheadTCPTransport, socket.socket, CountingRecv]]:
    ours, theirs = socket.socketpair()
    transport = ReadAheadTCPTransport("127.0.0.1:5672")
    transport.sock = ours
    transport._setup_transport()
    recv = CountingRecv(ours)
    transport._quick_recv = recv
    yield transport, theirs, recv
    ours.close()
    theirs.close()


def test_many_frames_are_read_with_one_socket_call(pair) -> None:
    transport, peer, recv = pair
    payloads = [bytes([n]) * (n * 37 % 500) for n in range(100)]
    peer.sendall(b"".join(frame(p, channel=n) for n, p in enumerate(payloads)))
    assert not transport.has_frame()
    got = [transport.read_frame() for _ in payloads]
    assert got == [(1, n, p) for n, p in enumerate(payloads)]
    assert recv.calls == 1
    assert not transport.has_frame()
    assert transport._read_buffer == b""


def test_has_frame_only_when_the_whole_frame_is_buffered(pair) -> None:
    transport, peer, _ = pair
    whole = frame(b"x" * 100)
    peer.sendall(whole + whole[:50])
    transport.read_frame()
    assert not transport.has_frame()
    peer.sendall(whole[50:])
    transport._read(0)  # nothing asked, nothing read
    assert not transport.has_frame()
    assert transport.read_frame() == (1, 1, b"x" * 100)


def test_a_timeout_mid_frame_keeps_what_arrived(pair) -> None:
    """py-amqp puts a half-read frame back into `_read_buffer`; the next read completes it."""
    transport, peer, _ = pair
    whole = frame(b"abcdef" * 1000)
    peer.sendall(whole[:3000])
    with pytest.raises(TimeoutError), transport.having_timeout(0.1):
        transport.read_frame()
    assert transport._read_buffer == whole[:3000]
    peer.sendall(whole[3000:] + frame(b"next"))
    assert transport.read_frame() == (1, 1, b"abcdef" * 1000)
    assert transport.has_frame()
    assert transport.read_frame() == (1, 1, b"next")


def test_a_frame_larger_than_the_read_ahead(pair) -> None:
    transport, peer, _ = pair
    payload = bytes(range(256)) * (3 * READ_AHEAD // 256)
    peer.sendall(frame(payload) + frame(b"after"))
    assert transport.read_frame() == (1, 1, payload)
    assert transport.read_frame() == (1, 1, b"after")


def test_a_closed_peer_is_an_error(pair) -> None:
    transport, peer, _ = pair
    peer.sendall(frame(b"last")[:5])
    peer.close()
    with pytest.raises(OSError, match="unexpectedly closed"):
        transport.read_frame()


def delivery_frames(body: bytes, channel: int = 1) -> tuple[bytes, bytes, bytes]:
    """The method, content header and body frames of a ``basic.deliver`` of `body`."""
    tag, exchange, key = b"ctag", b"amp_exchange", b"amp"
    method = (
        b"\x00\x3c\x00\x3c"
        + bytes([len(tag)])
        + tag
        + struct.pack(">Q", 7)
        + b"\x00"
        + bytes([len(exchange)])
        + exchange
        + bytes([len(key)])
        + key
    )
    message = amqp.Message(body, content_type="application/octet-stream", delivery_mode=2)
    header = struct.pack(">HHQ", 60, 0, len(body)) + message._serialize_properties()
    return (
        frame(method, channel, kind=1),
        frame(header, channel, kind=2),
        frame(body, channel, kind=3) if body else b"",
    )


def corrupted(frames: bytes, at: int, value: int) -> bytes:
    return frames[:at] + bytes([value]) + frames[at + 1 :]


def test_a_delivery_is_taken_whole_only_when_its_three_frames_are_right() -> None:
    transport = ReadAheadTCPTransport("127.0.0.1:5672")
    method, header, body = delivery_frames(b"report" * 100, channel=3)
    whole = method + header + body

    def taken(buffer: bytes, position: int = 0) -> object:
        transport._buffer, transport._position = buffer, position
        return transport.buffered_delivery()

    assert taken(b"xy" + whole + frame(b"next"), 2) == (
        3,
        method[7:-1],
        header[7:-1],
        body[7:-1],
        2 + len(whole),
    )
    # Not all there yet: at any cut, nothing.
    assert all(taken(whole[:cut]) is None for cut in range(len(whole)))
    after_method, after_header = len(method), len(method) + len(header)
    refused = [
        corrupted(whole, 0, 8),  # not a method frame
        corrupted(whole, 10, 0x28),  # basic.deliver's method id, not another's
        corrupted(whole, after_method - 1, 0),  # a method frame's end octet
        corrupted(whole, after_method, 1),  # the header frame's type
        corrupted(whole, after_method + 2, 4),  # the header frame's channel
        corrupted(whole, after_header - 1, 0),  # the header frame's end octet
        corrupted(whole, after_header, 2),  # the body frame's type
        corrupted(whole, after_header + 2, 4),  # the body frame's channel
        corrupted(whole, len(whole) - 1, 0),  # the body frame's end octet
        # A body in two frames: the first is shorter than the size the header says.
        method + header + frame(b"report" * 50, 3, kind=3) + frame(b"report" * 50, 3, kind=3),
        # No body: no body frame follows (py-amqp's path takes it).
        b"".join(delivery_frames(b"", channel=3)) + frame(b"next"),
    ]
    assert [taken(buffer) for buffer in refused] == [None] * len(refused)


# -- content header properties ---------------------------------------------------------


def amplet_properties(
    headers: list[tuple[bytes, bytes, bytes]],
    content_type: bytes = b"application/octet-stream",
    user_id: bytes = b"amp-mon-001.example.net",
    timestamp: int = 1_767_323_045,
    delivery_mode: int = 2,
) -> bytes:
    """amplet2's five property flags and their values, the header table item by item as
    (name, type octet, encoded value): bytes no serializer would write (e.g. not UTF-8)."""
    table = b"".join(bytes([len(name)]) + name + kind + value for name, kind, value in headers)
    return (
        b"\xb0\x50"
        + bytes([len(content_type)])
        + content_type
        + struct.pack(">I", len(table))
        + table
        + bytes([delivery_mode])
        + struct.pack(">Q", timestamp)
        + bytes([len(user_id)])
        + user_id
    )


def long_string(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def outcome(decode: Any, buffer: bytes, offset: int = 0) -> Any:
    """What `decode` answers, or the type of what it raises."""
    try:
        return decode(buffer, offset)
    except Exception as error:
        return type(error)


def same_as_py_amqp(buffer: bytes, offset: int = 0) -> Any:
    answer = outcome(decode_properties, buffer, offset)
    assert answer == outcome(decode_properties_basic, buffer, offset)
    return answer


def test_amplet2_properties_are_read_directly_as_py_amqp_reads_them() -> None:
    for test, monitor, timestamp in (
        ("icmp", "amp-mon-001.example.net", 1_767_323_045),
        ("traceroute", "m\u00f6nitor-\u4e2d", 1_104_537_600),
        ("", "x" * 255, 2**64 - 1),
    ):
        properties = amplet_message(test, monitor, timestamp, b"report")._serialize_properties()
        # The direct reading answers (no fallback), and as py-amqp does, at an offset too.
        assert _amplet_properties(properties, 2) is not None
        answer, end = same_as_py_amqp(properties)
        assert end == len(properties)
        assert answer["application_headers"] == {"x-amp-test-type": test}
        assert answer["user_id"] == monitor
        assert answer["timestamp"] == timestamp
        same_as_py_amqp(b"\x00\x3c\x00\x00" + properties + b"trailing", 4)


def test_unusual_headers_under_amplet2s_flags_give_py_amqps_answer() -> None:
    unusual = [
        [],  # an empty table
        [(b"x-amp-test-type", b"S", long_string(b""))],
        [(b"a", b"S", long_string(b"1")), (b"b", b"S", long_string(b"2"))],
        [(b"a", b"S", long_string(b"1")), (b"a", b"S", long_string(b"2"))],  # twice
        [(b"x-amp-test-type", b"S", long_string(b"\xff\xfe"))],  # value not UTF-8
        [(b"\xff", b"S", long_string(b"icmp"))],  # name not UTF-8
        [(b"\xff", b"S", long_string(b"\xfe"))],  # neither
        [(b"compression", b"S", long_string(b"application/x-gzip"))],
        # Other types: py-amqp's decoder answers, the direct reading steps aside.
        [(b"x-amp-test-type", b"I", struct.pack(">i", 5))],
        [(b"x-amp-test-type", b"x", long_string(b"\x00\x01"))],
        [(b"n", b"F", long_string(b"\x01kS" + long_string(b"v")))],
        [(b"x-amp-test-type", b"S", long_string(b"icmp")), (b"t", b"t", b"\x01")],
    ]
    for headers in unusual:
        answer = same_as_py_amqp(amplet_properties(headers))
        assert isinstance(answer, tuple), headers
    # Long strings only are read directly.
    assert _amplet_properties(amplet_properties(unusual[8]), 2) is None
    assert _amplet_properties(amplet_properties(unusual[4]), 2) is not None
    # Not UTF-8 where py-amqp raises (content type, user id): the same error.
    assert same_as_py_amqp(amplet_properties([], content_type=b"\xff")) is UnicodeDecodeError
    assert same_as_py_amqp(amplet_properties([], user_id=b"\xc3")) is UnicodeDecodeError


def test_cut_or_corrupted_properties_give_py_amqps_answer() -> None:
    properties = amplet_properties(
        [(b"x-amp-test-type", b"S", long_string(b"icmp")), (b"k", b"S", long_string(b"v"))]
    )
    # Cut anywhere: the same answer or the same error.
    for cut in range(len(properties) + 1):
        same_as_py_amqp(properties[:cut])
    # Any octet changed to a few values (lengths too long or short, other types).
    for at in range(2, len(properties)):
        for value in (0, 1, 0x53, 0x7F, 0xFF):
            same_as_py_amqp(properties[:at] + bytes([value]) + properties[at + 1 :])


def test_other_property_sets_go_to_py_amqp() -> None:
    for options in (
        # What kombu's Producer sends (content encoding, priority), and others.
        {"content_type": "application/octet-stream", "content_encoding": "binary", "priority": 0},
        {"application_headers": {"x-amp-test-type": "icmp"}, "timestamp": 5, "user_id": "m"},
        {"content_type": "t", "correlation_id": "c", "reply_to": "r", "expiration": "60"},
        {},
    ):
        same_as_py_amqp(amqp.Message(b"", **options)._serialize_properties())


header_text = st.text(max_size=40)


@given(
    headers=st.dictionaries(st.text(max_size=20), header_text, max_size=5),
    content_type=st.text(max_size=30),
    user_id=st.text(max_size=60),
    timestamp=st.integers(0, 2**64 - 1),
    delivery_mode=st.integers(0, 255),
)
def test_any_amplet2_like_properties_give_py_amqps_answer(
    headers: dict[str, str], content_type: str, user_id: str, timestamp: int, delivery_mode: int
) -> None:
    message = amqp.Message(
        b"",
        content_type=content_type,
        application_headers=headers,
        delivery_mode=delivery_mode,
        timestamp=timestamp,
        user_id=user_id,
    )
    properties = message._serialize_properties()
    assert _amplet_properties(properties, 2) is not None
    answer, _ = same_as_py_amqp(properties)
    assert answer["application_headers"] == headers
