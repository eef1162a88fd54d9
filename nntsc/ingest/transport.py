"""A kombu transport for the collector that reads from the broker in large chunks.

py-amqp reads every frame with three exact-size ``recv`` calls (header,
payload, end byte), and sets and restores the socket timeout around each
frame. A delivery is three frames, so a collector taking thousands of reports
a second spends a good part of its time in those calls (about a fifth of the
consumer thread in `bench/collector.py`, profiled). This transport takes
whatever the socket has, up to `READ_AHEAD` bytes, and its connection reads a
frame that is already buffered without going to the socket at all.

Only plain TCP changes: a TLS connection keeps py-amqp's transport, whose TLS
layer buffers already. The classes lean on py-amqp's transport internals
(``_read``, ``_read_buffer``, ``_quick_recv``); `tests/unit/test_transport.py`
checks them against the installed version.
"""

from __future__ import annotations

import errno
from typing import Any

import amqp.transport
from kombu.transport import pyamqp

#: Bytes asked of the socket at once; a delivery of an ICMP report is about 600.
READ_AHEAD = 65536
#: An AMQP frame header (type, channel, size) and the frame-end octet.
_FRAME_OVERHEAD = 8


class ReadAheadTCPTransport(amqp.transport.TCPTransport):
    """py-amqp's TCP transport, buffering what the socket has beyond the bytes asked for."""

    # py-amqp keeps unread bytes in `_read_buffer` (and puts a half-read frame
    # back there after a timeout). Here they are a buffer and a position in it,
    # so taking a frame from a large buffer does not copy the rest each time.
    _buffer: bytes
    _position: int

    @property
    def _read_buffer(self) -> bytes:
        return self._buffer[self._position :]

    @_read_buffer.setter
    def _read_buffer(self, value: bytes) -> None:
        self._buffer = value
        self._position = 0

    def has_frame(self) -> bool:
        """Whether a whole frame is buffered, so that reading it needs no socket call."""
        available = len(self._buffer) - self._position
        if available < _FRAME_OVERHEAD:
            return False
        start = self._position + 3
        size = int.from_bytes(self._buffer[start : start + 4], "big")
        return available >= size + _FRAME_OVERHEAD

    def _read(
        self, n: int, initial: bool = False, _errnos: tuple[int, ...] = (errno.EAGAIN, errno.EINTR)
    ) -> bytes:
        """Exactly `n` bytes, from the buffer and, when it runs short, from the socket."""
        buffer, start = self._buffer, self._position
        end = start + n
        if end <= len(buffer):
            self._position = end
            return buffer[start:end]
        parts = [buffer[start:]]
        have = len(parts[0])
        recv = self._quick_recv
        try:
            while have < n:
                try:
                    chunk = recv(max(n - have, READ_AHEAD))
                except OSError as error:
                    # As py-amqp does: retry an interrupted call, except on a
                    # frame's first read, where it means "no frame yet".
                    if error.errno in _errnos:
                        if initial and self.raise_on_initial_eintr:
                            raise TimeoutError from None
                        continue
                    raise
                if not chunk:
                    raise OSError("Server unexpectedly closed connection")
                parts.append(chunk)
                have += len(chunk)
        except BaseException:
            # Keep what arrived: read_frame puts a half-read frame back in front of it.
            self._read_buffer = b"".join(parts)
            raise
        buffer = b"".join(parts)
        self._buffer, self._position = buffer, n
        return buffer[:n]


def has_frame(transport: Any) -> bool:
    """Whether `transport` (any py-amqp transport) holds a whole frame not yet handled."""
    return isinstance(transport, ReadAheadTCPTransport) and transport.has_frame()


class ReadAheadConnection(pyamqp.Connection):
    """kombu's py-amqp connection on `ReadAheadTCPTransport` (TLS unchanged)."""

    def Transport(
        self,
        host: str,
        connect_timeout: float | None,
        ssl: Any = False,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        socket_settings: Any = None,
        **kwargs: Any,
    ) -> amqp.transport._AbstractTransport:
        if ssl:
            return super().Transport(
                host, connect_timeout, ssl, read_timeout, write_timeout, socket_settings, **kwargs
            )
        return ReadAheadTCPTransport(
            host,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            socket_settings=socket_settings,
            **kwargs,
        )

    def blocking_read(self, timeout: float | None = None) -> Any:
        transport = self.transport
        if has_frame(transport):
            # Already here: no socket call, so no timeout to set and restore.
            return self.on_inbound_frame(transport.read_frame())
        return super().blocking_read(timeout)


class ReadAheadTransport(pyamqp.Transport):
    """The kombu transport to pass as ``Connection(url, transport=ReadAheadTransport)``."""

    Connection = ReadAheadConnection
