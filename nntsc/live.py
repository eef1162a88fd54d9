"""The live feed: every committed batch, published per collection.

Consumers (the event detector, the dashboard) subscribe to a collection's
channel. In production this is Redis pub/sub, so any process can listen; the
embedded default delivers in-process. Publishing is best effort: the rows are
already stored, so a feed that is down is logged, never fatal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, cast

import redis

from nntsc.collections import Row
from nntsc.errors import ConfigurationError

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "nntsc.live."
#: Seconds between two asks whether a channel has subscribers (see `RedisLiveFeed`).
LIVE_RECHECK = 1.0

LiveListener = Callable[[str, list[dict[str, Any]]], None]


def channel(collection: str) -> str:
    """The pub/sub channel of `collection`."""
    return CHANNEL_PREFIX + collection


def encode_rows(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {"stream_id": row.stream_id, "timestamp": row.timestamp, "values": dict(row.values)}
        for row in rows
    ]


class LiveFeed(Protocol):
    def publish(self, collection: str, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


class MemoryLiveFeed:
    """In-process delivery to listeners registered with `subscribe`."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[LiveListener]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, collection: str, listener: LiveListener) -> None:
        with self._lock:
            self._listeners[collection].append(listener)

    def publish(self, collection: str, rows: Sequence[Row]) -> None:
        with self._lock:
            listeners = list(self._listeners.get(collection, ()))
        if listeners:
            payload = encode_rows(rows)
            for listener in listeners:
                listener(collection, payload)

    def close(self) -> None:
        self._listeners.clear()


class RedisLiveFeed:
    """Redis pub/sub: one JSON message per committed batch and collection.

    Encoding a batch costs the collector about 5 us a row, so a channel
    nobody listens to is not encoded for: whether anyone does is asked of
    Redis (``PUBSUB NUMSUB``) at most every `LIVE_RECHECK` seconds, and
    learnt from each publish (which answers how many received it). A
    subscriber thus gets every batch committed from at most that long after
    it subscribed.
    """

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5)
        # Per channel: (monotonic time of the last check, whether anyone listened).
        self._listened: dict[str, tuple[float, bool]] = {}

    def _has_listeners(self, name: str) -> bool:
        now = time.monotonic()
        checked = self._listened.get(name)
        if checked is None or now - checked[0] >= LIVE_RECHECK:
            # redis-py types its sync and asyncio clients alike (Awaitable | list).
            ((_, count),) = cast("list[tuple[bytes, int]]", self.client.pubsub_numsub(name))
            checked = self._listened[name] = (now, count > 0)
        return checked[1]

    def publish(self, collection: str, rows: Sequence[Row]) -> None:
        name = channel(collection)
        try:
            if not self._has_listeners(name):
                return
            message = json.dumps({"collection": collection, "rows": encode_rows(rows)})
            received = self.client.publish(name, message)
            if not received:
                self._listened[name] = (time.monotonic(), False)
        except redis.RedisError as error:
            log.warning("live feed: could not publish %d %s rows: %s", len(rows), collection, error)

    def listen(self, listener: LiveListener, stop: threading.Event) -> None:
        """Call `listener` with every collection's batches until `stop` is set.

        Reconnects after a Redis error, so a Redis restart only costs the
        messages published while it was down (a listener that must not miss
        rows reads them from the store, as live detection does).
        """
        backoff = 1.0
        while not stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe(CHANNEL_PREFIX + "*")
                backoff = 1.0
                while not stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None or message["type"] != "pmessage":
                        continue
                    try:
                        batch = json.loads(message["data"])
                        listener(batch["collection"], batch["rows"])
                    except (ValueError, KeyError, TypeError) as error:
                        log.warning("live feed: ignoring a malformed message: %s", error)
            except redis.RedisError as error:
                log.warning("live feed: %s; listening again in %.0f s", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def close(self) -> None:
        self.client.close()


def open_live_feed(url: str) -> MemoryLiveFeed | RedisLiveFeed:
    """The feed named by ``nntsc.live_url``: ``memory://`` or ``redis://host:port/db``."""
    if url.startswith("memory://"):
        return MemoryLiveFeed()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLiveFeed(url)
    raise ConfigurationError(f"nntsc.live_url {url!r}: expected memory:// or redis://...")
