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

A delivery (``basic.deliver``: method, content header and body frames) whose
three frames are all buffered is also taken in one step: py-amqp handles
each frame in turn (read it, dispatch it by type, keep a partial message per
channel, decode the method's arguments with its general-purpose decoder,
find the channel's listener): under cProfile 2.2 s of the consuming
thread's 5.2 s in a warm drain of bench/collector.py's amplet workload (the
profiler inflates code made of many small calls, as this is; measured
without it, taking deliveries in one step saved 0.005 ms of CPU a report,
0.098 -> 0.093). Here the method's arguments are read directly and
the message is built and handed to the same listener as py-amqp's own path
would (`ReadAheadConnection._take_delivery`); anything else (other methods,
a body in several frames or none, a frame not all there yet, a channel
closing) goes through py-amqp unchanged. `tests/integration/test_amqp_transport.py`
checks that both paths give the same messages from RabbitMQ.

Two more steps of that path are cut for the collector (session 11 of
docs/performance.md; the AMQP stack with a handler doing nothing, 20,000
amplet2 reports from RabbitMQ, went 11.9 -> 8.2 us of CPU a delivery):
amplet2's five properties are read directly (`decode_properties`; any other
properties by py-amqp's decoder), and the deliveries already buffered are
handled in one loop (`drain_buffered`) instead of one call down from kombu's
``drain_events`` for each.
"""

from __future__ import annotations

import contextlib
import errno
import struct
from typing import Any

import amqp.transport
from amqp.basic_message import Message
from amqp.serialization import decode_properties_basic
from kombu.transport import pyamqp

#: Bytes asked of the socket at once; a delivery of an ICMP report is about 600.
READ_AHEAD = 65536
#: An AMQP frame header (type, channel, size) and the frame-end octet.
_FRAME_OVERHEAD = 8
_FRAME_END = 0xCE
#: basic.deliver's (class, method), and how they start its method frame's payload.
_DELIVER = (60, 60)
_DELIVER_PREFIX = b"\x00\x3c\x00\x3c"
_frame_header = struct.Struct(">BHI").unpack_from
_long = struct.Struct(">I").unpack_from
_long_long = struct.Struct(">Q").unpack_from
#: The basic class's id, first in a content header's payload.
_BASIC = 60
#: The property flags of amplet2's reports: content type, headers, delivery mode,
#: timestamp and user id (its report_to_broker sets these five and no others).
_AMPLET_FLAGS = (0x8000 | 0x2000 | 0x1000 | 0x0040 | 0x0010).to_bytes(2, "big")
#: A long string's type in a field table.
_LONG_STRING = ord("S")
#: A delivery's three buffered frames: channel, method payload, content header payload,
#: body, and the buffer position after them.
Delivery = tuple[int, bytes, bytes, bytes, int]


def _frame_at(buffer: bytes, position: int, end: int) -> tuple[int, int, int, int] | None:
    """The frame at `position` of `buffer` when it is whole before `end` and ends with the
    frame-end octet: its type, channel, and where its payload starts and ends; else ``None``.
    """
    if position + _FRAME_OVERHEAD > end:
        return None
    kind, channel, size = _frame_header(buffer, position)
    payload_end = position + 7 + size
    if payload_end >= end or buffer[payload_end] != _FRAME_END:
        return None
    return kind, channel, position + 7, payload_end


def decode_properties(buffer: bytes, offset: int) -> tuple[dict[str, Any], int]:
    """The basic properties at `offset` of a content header's payload, and where they end:
    py-amqp's answer (`decode_properties_basic`), found sooner for amplet2's.

    An amplet2 report has five properties (content type, a header table, delivery
    mode, timestamp, user id), its headers long strings. py-amqp's general
    decoder tests every flag and reads the table item by item through its
    general reader: 2.4 us a report here against under 1 us read directly.
    Properties with any other flags, a header of another type, or anything the
    direct reading stumbles on (a length past the end, a content type that is
    not UTF-8) go to py-amqp's decoder, which answers or raises as it always
    does. `tests/unit/test_transport.py` compares the two on amplet2's
    properties, unusual headers, and every cut and many corruptions of them.
    """
    if buffer[offset : offset + 2] == _AMPLET_FLAGS:
        try:
            found = _amplet_properties(buffer, offset + 2)
        except (IndexError, UnicodeDecodeError, struct.error):
            found = None
        if found is not None:
            return found
    return decode_properties_basic(buffer, offset)


def _amplet_properties(buffer: bytes, position: int) -> tuple[dict[str, Any], int] | None:
    """`decode_properties_basic` for amplet2's five properties from after their flags, read
    as it reads them (a string cut short by the buffer's end too); ``None`` when a header
    is not a long string."""
    end = position + 1 + buffer[position]
    content_type = buffer[position + 1 : end].decode("utf-8", "surrogatepass")
    (size,) = _long(buffer, end)
    position = end + 4
    limit = position + size
    headers: dict[Any, Any] = {}
    while position < limit:
        end = position + 1 + buffer[position]
        name = buffer[position + 1 : end]
        if buffer[end] != _LONG_STRING:
            return None
        (size,) = _long(buffer, end + 1)
        position = end + 5 + size
        value = buffer[end + 5 : position]
        try:
            headers[name.decode("utf-8", "surrogatepass")] = value.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            headers[_text(name)] = _text(value)
    delivery_mode = buffer[position]
    (timestamp,) = _long_long(buffer, position + 1)
    position += 9
    end = position + 1 + buffer[position]
    user_id = buffer[position + 1 : end].decode("utf-8", "surrogatepass")
    return {
        "content_type": content_type,
        "application_headers": headers,
        "delivery_mode": delivery_mode,
        "timestamp": timestamp,
        "user_id": user_id,
    }, end


def _text(raw: bytes) -> Any:
    """A table's name or long string as py-amqp reads it: text, or bytes when not UTF-8."""
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw


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

    def buffered_delivery(self) -> Delivery | None:
        """The frames of a ``basic.deliver`` next in the buffer, whole, its body in one frame;
        ``None`` otherwise. Nothing is consumed: the caller moves `_position` past them.
        """
        buffer = self._buffer
        end = len(buffer)
        frame = _frame_at(buffer, self._position, end)
        if frame is None:
            return None
        kind, channel, method, method_end = frame
        if kind != 1 or not buffer.startswith(_DELIVER_PREFIX, method):
            return None
        frame = _frame_at(buffer, method_end + 1, end)
        if frame is None:
            return None
        kind, header_channel, header, header_end = frame
        if kind != 2 or header_channel != channel or header_end - header < 14:
            return None
        (body_size,) = _long_long(buffer, header + 4)
        if not body_size:
            # No body frame follows: py-amqp's path.
            return None
        frame = _frame_at(buffer, header_end + 1, end)
        if frame is None:
            return None
        kind, body_channel, body, body_end = frame
        if kind != 3 or body_channel != channel or body_end - body != body_size:
            return None
        return (
            channel,
            buffer[method:method_end],
            buffer[header:header_end],
            buffer[body:body_end],
            body_end + 1,
        )

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


#: `ReadAheadConnection._handle_buffered`'s answer when no frame is buffered whole.
_NOTHING_BUFFERED = object()


def drain_buffered(connection: Any, limit: int) -> int:
    """Handle up to `limit` frames that `connection` (py-amqp's) has already read; how many.

    No socket call: 0 when nothing whole is buffered, or when the connection
    does not read ahead.
    """
    if isinstance(connection, ReadAheadConnection):
        return connection.drain_buffered(limit)
    return 0


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
        if isinstance(transport, ReadAheadTCPTransport):
            # Already here: no socket call, so no timeout to set and restore.
            handled = self._handle_buffered(transport)
            if handled is not _NOTHING_BUFFERED:
                return handled
        return super().blocking_read(timeout)

    def drain_buffered(self, limit: int) -> int:
        """Handle up to `limit` frames already buffered (a delivery counts once); how many.

        What `blocking_read` does for each, without the calls from kombu's
        ``drain_events`` down to it for every delivery. A frame that is not
        all there yet stops it: reading it needs the socket.
        """
        transport = self.transport
        if not isinstance(transport, ReadAheadTCPTransport):
            return 0
        for handled in range(limit):
            if self._handle_buffered(transport) is _NOTHING_BUFFERED:
                return handled
        return limit

    def _handle_buffered(self, transport: ReadAheadTCPTransport) -> Any:
        """Handle one frame `transport` already holds whole (a delivery's three at once): what
        `blocking_read` answers for it, or `_NOTHING_BUFFERED` (nothing whole is there).

        A delivery found whole is a whole frame: `has_frame` is asked only when
        none was taken.
        """
        delivery = transport.buffered_delivery()
        if delivery is not None and self._take_delivery(transport, delivery):
            return True
        if transport.has_frame():
            return self.on_inbound_frame(transport.read_frame())
        return _NOTHING_BUFFERED

    def _take_delivery(self, transport: ReadAheadTCPTransport, delivery: Delivery) -> bool:
        """Hand a buffered delivery to its channel's listener as py-amqp would; False (nothing
        consumed) when py-amqp's own path must take it.

        py-amqp's path for the same frames: `amqp.method_framing.frame_handler`
        (a `Message` from the method frame, `inbound_header`, `inbound_body`),
        then `AbstractChannel.dispatch_method` (decode the body when the
        channel auto-decodes and a content encoding is given, the arguments
        ``sLbss``, the listener: `Channel._on_basic_deliver`).
        """
        channel_id, method, header, body, after = delivery
        channels = self.channels
        channel = channels.get(channel_id) if channels else None
        if channel is None or channel.is_closing or _DELIVER in channel._pending:
            return False
        listener = channel._callbacks.get(_DELIVER)
        if listener is None:
            return False
        try:
            # consumer_tag (shortstr), delivery_tag (longlong), redelivered (bit),
            # exchange and routing_key (shortstr).
            end = 5 + method[4]
            consumer_tag = method[5:end].decode("utf-8", "surrogatepass")
            (delivery_tag,) = _long_long(method, end)
            redelivered = (method[end + 8] & 1) == 1
            start = end + 10
            end = start + method[start - 1]
            exchange = method[start:end].decode("utf-8", "surrogatepass")
            start = end + 1
            end = start + method[start - 1]
            routing_key = method[start:end].decode("utf-8", "surrogatepass")
            if end > len(method):
                return False
            # What `Message.inbound_header` does, with the faster property decoder; the
            # body size is known (not 0) and the body whole (`buffered_delivery`).
            if header[0] != 0 or header[1] != _BASIC:
                return False
            properties, _ = decode_properties(header, 12)
        except (IndexError, ValueError, KeyError, struct.error):
            # Malformed: py-amqp's path raises what it raises for it.
            return False
        message = Message(frame_method=_DELIVER, frame_args=method)
        message.properties = properties
        message.body_size = len(body)
        message.inbound_body(body)
        transport._position = after
        self.bytes_recv += 3
        if channel.auto_decode and "content_encoding" in message.properties:
            # As py-amqp: a body its encoding cannot decode stays bytes.
            with contextlib.suppress(Exception):
                message.body = message.body.decode(message.properties["content_encoding"])
        listener(consumer_tag, delivery_tag, redelivered, exchange, routing_key, message)
        return True


class ReadAheadTransport(pyamqp.Transport):
    """The kombu transport to pass as ``Connection(url, transport=ReadAheadTransport)``."""

    Connection = ReadAheadConnection
