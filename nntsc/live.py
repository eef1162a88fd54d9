"""The live feed: every committed batch, published per collection.

Consumers (the event detector, the dashboard) subscribe to a collection's
channel (`channel`: ``<prefix>.<db>.<collection>``, the prefix
``nntsc.live_channel_prefix``, by default ``nntsc.live``, and the database
number of ``nntsc.live_url``, so deployments sharing a Redis server on
different databases, or on one database with different prefixes, do not
hear each other). In production this is Redis
pub/sub, so any process can listen; the
embedded default delivers in-process. Publishing is best effort: the rows are
already stored, so a feed that is down is logged, never fatal.

A batch (`LiveBatch`) carries its rows and, per stream, the timestamp of the
stream's row before them as the publisher knew it: the newest row of the
stream it published (or saw committed) earlier. A consumer that went through
exactly that row knows the batch follows on from it, so it can use the rows
as they are instead of reading them back from the store (live detection,
`nntsc.events.live`); without it (first batch of a stream since the
publisher started, rows of one stream from several collectors, a message
lost) it reads the store.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

import msgpack
import redis

from nntsc.collections import Row
from nntsc.errors import ConfigurationError

log = logging.getLogger(__name__)

#: The default of ``nntsc.live_channel_prefix``, the first part of every channel's name.
CHANNEL_PREFIX = "nntsc.live"
#: What a channel prefix may hold: no spaces, control characters or glob characters.
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]+$")
#: Seconds between two asks whether a channel has subscribers (see `RedisLiveFeed`).
LIVE_RECHECK = 1.0


@dataclass(frozen=True)
class LiveBatch:
    """A committed batch of one collection's rows, as the live feed delivers it.

    `previous`: per stream of `rows`, the timestamp of its newest row
    committed before these, as the publisher knew it; a stream absent from
    it has no known previous row (the publisher has not seen one since it
    started, or the feed skipped batches).
    """

    collection: str
    rows: Sequence[Row]
    previous: Mapping[int, int] = field(default_factory=dict)


LiveListener = Callable[[LiveBatch], None]


def channel(collection: str, db: int, prefix: str = CHANNEL_PREFIX) -> str:
    """The pub/sub channel of `collection` on Redis database `db`: ``<prefix>.<db>.<collection>``.

    Pub/sub channels are the Redis server's, not a database's: without the
    database number, deployments (or test runs) sharing a server on
    different databases heard each other's batches, and a foreign batch
    naming rows this store does not have moved live detection's checkpoint
    past them. Deployments (or concurrent test runs) sharing one database
    of a server tell their channels apart by `prefix`
    (``nntsc.live_channel_prefix``).
    """
    return f"{prefix}.{db}.{collection}"


def check_prefix(prefix: str) -> str:
    """`prefix` if it can start a channel's name (`channel`); else ConfigurationError."""
    if not _PREFIX.match(prefix):
        raise ConfigurationError(
            f"nntsc.live_channel_prefix {prefix!r}: expected letters, digits and . _ : - only"
        )
    return prefix


class _Previous:
    """Per stream, the newest timestamp published: a batch's `previous` (thread-safe).

    Writer threads publish concurrently, so a batch's `previous` and the
    update are taken under a lock: each batch names the batch published
    before it, whatever order they committed in.
    """

    def __init__(self) -> None:
        self._newest: dict[int, int] = {}
        self._lock = threading.Lock()

    def follow(self, rows: Sequence[Row]) -> dict[int, int]:
        """The `previous` of a batch of `rows`, remembering its newest timestamps."""
        newest: dict[int, int] = {}
        get = newest.get
        for stream_id, timestamp, _ in rows:
            if timestamp > get(stream_id, -1):
                newest[stream_id] = timestamp
        with self._lock:
            known = self._newest
            previous = {s: known[s] for s in newest if s in known}
            for stream_id, timestamp in newest.items():
                if timestamp > known.get(stream_id, -1):
                    known[stream_id] = timestamp
        return previous

    def forget(self) -> None:
        """Batches go unpublished: the next one of each stream has no known previous row."""
        if self._newest:
            with self._lock:
                self._newest.clear()


def encode_batch(batch: LiveBatch) -> bytes:
    """A batch as a Redis message: msgpack of (collection, rows as arrays, previous)."""
    # Rows are tuples (stream id, timestamp, values): msgpack packs them as arrays.
    return cast(
        "bytes",
        msgpack.packb((batch.collection, batch.rows, batch.previous), use_bin_type=True),
    )


def decode_batch(data: bytes) -> LiveBatch:
    """The batch of a Redis message; ValueError when it is not one."""
    from nntsc.ingest.pipeline import fewer_collections

    # A batch is thousands of small dicts and lists: without the raised GC
    # threshold, young collections took two thirds of decoding.
    with fewer_collections():
        try:
            collection, rows, previous = msgpack.unpackb(data, raw=False, strict_map_key=False)
            batch = LiveBatch(
                collection,
                [
                    Row(s, t, v)
                    for s, t, v in rows
                    if type(s) is int and type(t) is int and type(v) is dict
                ],
                previous,
            )
        except (msgpack.UnpackException, ValueError, TypeError) as error:
            raise ValueError(f"not a live feed batch: {error}") from error
    if (
        type(collection) is not str
        or len(batch.rows) != len(rows)
        or type(previous) is not dict
        or not all(type(s) is int and type(t) is int for s, t in previous.items())
    ):
        raise ValueError(
            "not a live feed batch: expected (collection, [[stream id, timestamp, values], ...], "
            "{stream id: timestamp})"
        )
    return batch


class LiveFeed(Protocol):
    def publish(self, collection: str, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


class MemoryLiveFeed:
    """In-process delivery to listeners registered with `subscribe`: the rows themselves."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[LiveListener]] = defaultdict(list)
        self._lock = threading.Lock()
        self._previous = _Previous()

    def subscribe(self, collection: str, listener: LiveListener) -> None:
        with self._lock:
            self._listeners[collection].append(listener)

    def publish(self, collection: str, rows: Sequence[Row]) -> None:
        with self._lock:
            listeners = list(self._listeners.get(collection, ()))
        if not listeners:
            self._previous.forget()
            return
        batch = LiveBatch(collection, rows, self._previous.follow(rows))
        for listener in listeners:
            listener(batch)

    def close(self) -> None:
        self._listeners.clear()


class RedisLiveFeed:
    """Redis pub/sub: one msgpack message per committed batch and collection (`encode_batch`).

    A channel nobody listens to is not encoded for: whether anyone does is
    asked of Redis (``PUBSUB NUMSUB``) at most every `LIVE_RECHECK` seconds,
    and learnt from each publish (which answers how many received it). A
    subscriber thus gets every batch committed from at most that long after
    it subscribed.
    """

    def __init__(self, url: str, prefix: str = CHANNEL_PREFIX) -> None:
        #: The first part of every channel's name (``nntsc.live_channel_prefix``).
        self.prefix = check_prefix(prefix)
        self.client = redis.Redis.from_url(url, socket_timeout=5)
        #: The database number of `url` (``redis://host:port/db``, ``unix://path?db=N``),
        #: part of every channel name (`channel`).
        self.db = int(self.client.connection_pool.connection_kwargs.get("db") or 0)
        # Per channel: (monotonic time of the last check, whether anyone listened).
        self._listened: dict[str, tuple[float, bool]] = {}
        self._previous = _Previous()

    def channel(self, collection: str) -> str:
        """The channel of `collection` on this feed's Redis database, with its prefix."""
        return channel(collection, self.db, self.prefix)

    def _has_listeners(self, name: str) -> bool:
        now = time.monotonic()
        checked = self._listened.get(name)
        if checked is None or now - checked[0] >= LIVE_RECHECK:
            # redis-py types its sync and asyncio clients alike (Awaitable | list).
            ((_, count),) = cast("list[tuple[bytes, int]]", self.client.pubsub_numsub(name))
            checked = self._listened[name] = (now, count > 0)
        return checked[1]

    def publish(self, collection: str, rows: Sequence[Row]) -> None:
        name = self.channel(collection)
        try:
            if not self._has_listeners(name):
                self._previous.forget()
                return
            # The rows are committed: they are the streams' previous rows from
            # now on, whether or not this message reaches anyone.
            previous = self._previous.follow(rows)
            message = encode_batch(LiveBatch(collection, rows, previous))
            received = self.client.publish(name, message)
            if not received:
                self._listened[name] = (time.monotonic(), False)
        except redis.RedisError as error:
            # Unsure what was published: no batch names a previous row until one is.
            self._previous.forget()
            log.warning("live feed: could not publish %d %s rows: %s", len(rows), collection, error)

    def listen(
        self, listener: LiveListener, stop: threading.Event, collections: Sequence[str]
    ) -> None:
        """Call `listener` with the batches of `collections` until `stop` is set.

        Subscribes to each collection's channel by name, not by pattern:
        ``PUBSUB NUMSUB``, which tells publishers whether anyone listens,
        does not count pattern subscriptions. Reconnects after a Redis
        error, so a Redis restart only costs the messages published while it
        was down (a listener that must not miss rows reads them from the
        store, as live detection does).
        """
        backoff = 1.0
        while not stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*[self.channel(name) for name in collections])
                backoff = 1.0
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "message":
                        continue
                    try:
                        batch = decode_batch(message["data"])
                    except ValueError as error:
                        log.warning("live feed: ignoring a malformed message: %s", error)
                        continue
                    listener(batch)
            except redis.RedisError as error:
                log.warning("live feed: %s; listening again in %.0f s", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def close(self) -> None:
        self.client.close()


def open_live_feed(url: str, prefix: str = CHANNEL_PREFIX) -> MemoryLiveFeed | RedisLiveFeed:
    """The feed named by ``nntsc.live_url``: ``memory://`` or ``redis://host:port/db``, its
    channels' names starting with `prefix` (``nntsc.live_channel_prefix``; over Redis only)."""
    check_prefix(prefix)
    if url.startswith("memory://"):
        return MemoryLiveFeed()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLiveFeed(url, prefix)
    raise ConfigurationError(f"nntsc.live_url {url!r}: expected memory:// or redis://...")
