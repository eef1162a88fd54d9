"""The read-ahead AMQP transport against py-amqp's frame reader, over a socket pair."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import amqp
import pytest

from nntsc.ingest.transport import READ_AHEAD, ReadAheadTCPTransport


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
