"""The Redis live feed: batches reach subscribers; nobody listening costs no encoding."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from nntsc import live
from nntsc.collections import Row

URL = "redis://127.0.0.1:6379/1"


def rows(count: int) -> list[Row]:
    return [Row(n, 1_700_000_000, {"median": 1.5, "rtts": [1, 2]}) for n in range(count)]


def received(pubsub: redis.client.PubSub, timeout: float = 5) -> list[dict]:
    found = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            found.append(json.loads(message["data"]))
        elif found:
            break
    return found


def test_subscribers_get_every_batch_and_an_unheard_channel_is_not_encoded(monkeypatch) -> None:
    monkeypatch.setattr(live, "LIVE_RECHECK", 0.3)
    encoded = []
    encode = live.encode_rows
    monkeypatch.setattr(
        live, "encode_rows", lambda batch: encoded.append(len(batch)) or encode(batch)
    )
    collection = f"test-{uuid.uuid4().hex[:8]}"
    feed = live.RedisLiveFeed(URL)
    listener = redis.Redis.from_url(URL).pubsub()
    try:
        for _ in range(5):
            feed.publish(collection, rows(100))
        assert encoded == []
        listener.subscribe(live.channel(collection))
        time.sleep(0.4)
        feed.publish(collection, rows(3))
        feed.publish(collection, rows(2))
        got = received(listener)
        assert [m["collection"] for m in got] == [collection, collection]
        assert [len(m["rows"]) for m in got] == [3, 2]
        assert got[0]["rows"][1] == {
            "stream_id": 1,
            "timestamp": 1_700_000_000,
            "values": {"median": 1.5, "rtts": [1, 2]},
        }
        listener.unsubscribe()
        received(listener, 0.3)
        # Encoded at most once more: by the check, or by the publish nobody received.
        for _ in range(3):
            feed.publish(collection, rows(4))
        assert encoded in ([3, 2], [3, 2, 4])
    finally:
        listener.close()
        feed.close()


def test_a_feed_that_is_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    feed = live.RedisLiveFeed("redis://127.0.0.1:9/0")
    feed.publish("amp-icmp", rows(1))
    assert "could not publish" in caplog.text
    feed.close()
