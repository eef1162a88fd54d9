"""The read-ahead AMQP transport against py-amqp's frame reader, over a socket pair."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

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
