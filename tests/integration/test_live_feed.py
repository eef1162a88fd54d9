"""The Redis live feed: batches reach subscribers; nobody listening costs no encoding."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from nntsc import live
from nntsc.collections import Row
from nntsc.config import Services
from nntsc.errors import ConfigurationError
from tests.conftest import LIVE_PREFIX

URL = "redis://127.0.0.1:6379/1"


def rows(count: int) -> list[Row]:
    return [Row(n, 1_700_000_000, {"median": 1.5, "rtts": [1, 2]}) for n in range(count)]


def received(pubsub: redis.client.PubSub, timeout: float = 5) -> list[live.LiveBatch]:
    found = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            found.append(live.decode_batch(message["data"]))
        elif found:
            break
    return found


def test_subscribers_get_every_batch_and_an_unheard_channel_is_not_encoded(monkeypatch) -> None:
    monkeypatch.setattr(live, "LIVE_RECHECK", 0.3)
    encoded = []
    encode = live.encode_batch
    monkeypatch.setattr(
        live, "encode_batch", lambda batch: encoded.append(len(batch.rows)) or encode(batch)
    )
    collection = f"test-{uuid.uuid4().hex[:8]}"
    feed = live.RedisLiveFeed(URL, LIVE_PREFIX)
    listener = redis.Redis.from_url(URL).pubsub()
    try:
        for _ in range(5):
            feed.publish(collection, rows(100))
        assert encoded == []
        listener.subscribe(feed.channel(collection))
        time.sleep(0.4)
        feed.publish(collection, rows(3))
        feed.publish(collection, rows(2))
        got = received(listener)
        assert [m.collection for m in got] == [collection, collection]
        assert [len(m.rows) for m in got] == [3, 2]
        assert got[0].rows[1] == Row(1, 1_700_000_000, {"median": 1.5, "rtts": [1, 2]})
        # Nobody listened to the batches before: the first names no previous rows.
        assert got[0].previous == {}
        assert got[1].previous == {0: 1_700_000_000, 1: 1_700_000_000}
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


def test_listeners_get_batches_with_previous_rows_and_a_failed_publish_forgets_them() -> None:
    collection = f"test-{uuid.uuid4().hex[:8]}"
    feed = live.RedisLiveFeed(URL, LIVE_PREFIX)
    got: list[live.LiveBatch] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=feed.listen, args=(got.append, stop, [collection]), daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not feed._has_listeners(feed.channel(collection)):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        feed.publish(collection, [Row(7, 100, {"median": 2.5}), Row(7, 160, {"median": None})])
        feed.publish(collection, [Row(7, 220, {"median": 3.0})])
        # Redis is unreachable for one batch: nobody knows whether it went out,
        # so the next batch names no previous row (its reader reads the store).
        working, feed.client = feed.client, redis.Redis.from_url("redis://127.0.0.1:9/0")
        feed.publish(collection, [Row(7, 280, {"median": 3.0})])
        feed.client = working
        feed.publish(collection, [Row(7, 340, {"median": 3.5})])
        feed.publish(collection, [Row(7, 400, {"median": 3.5})])
        deadline = time.monotonic() + 10
        while len(got) < 4:
            assert time.monotonic() < deadline, got
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
        feed.close()
    assert [b.previous for b in got] == [{}, {7: 160}, {}, {7: 340}]
    assert got[0].rows == [Row(7, 100, {"median": 2.5}), Row(7, 160, {"median": None})]
    assert got[3].rows == [Row(7, 400, {"median": 3.5})]


def test_feeds_on_different_databases_of_one_server_do_not_hear_each_other() -> None:
    """Pub/sub channels are the server's: each feed's carry its database number.

    Before, two deployments (or test runs) sharing a Redis server on
    different databases heard each other's batches, and live detection
    moved a stream's checkpoint past rows its store did not have.
    """
    collection = f"test-{uuid.uuid4().hex[:8]}"
    one = live.RedisLiveFeed("redis://127.0.0.1:6379/1")
    two = live.RedisLiveFeed("redis://127.0.0.1:6379/2")
    assert (one.db, two.db) == (1, 2)
    assert one.channel(collection) == f"nntsc.live.1.{collection}"
    heard: dict[int, list[live.LiveBatch]] = {1: [], 2: []}
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=feed.listen, args=(heard[feed.db].append, stop, [collection]), daemon=True
        )
        for feed in (one, two)
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not (
            one._has_listeners(one.channel(collection))
            and two._has_listeners(two.channel(collection))
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        one.publish(collection, [Row(7, 100, {"median": 1.0})])
        two.publish(collection, [Row(8, 200, {"median": 2.0})])
        two.publish(collection, [Row(8, 260, {"median": 2.5})])
        deadline = time.monotonic() + 10
        while len(heard[1]) < 1 or len(heard[2]) < 2:
            assert time.monotonic() < deadline, heard
            time.sleep(0.05)
        time.sleep(0.5)  # anything misdelivered has arrived by now
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        one.close()
        two.close()
    assert [b.rows for b in heard[1]] == [[Row(7, 100, {"median": 1.0})]]
    assert [b.rows for b in heard[2]] == [
        [Row(8, 200, {"median": 2.0})],
        [Row(8, 260, {"median": 2.5})],
    ]


def test_feeds_with_different_prefixes_on_one_database_do_not_hear_each_other() -> None:
    """Each feed's channels start with its ``nntsc.live_channel_prefix``.

    Before, test runs sharing the Redis database (two checkouts' suites at
    once) published the same collection's batches on the same channel, for
    streams of the same ids: one run's live detection took the other's
    batches for its own and moved its checkpoints past rows its store did
    not have yet.
    """
    collection = "amp-icmp"
    one = live.RedisLiveFeed(URL, f"{LIVE_PREFIX}.one")
    two = live.RedisLiveFeed(URL, f"{LIVE_PREFIX}.two")
    assert one.channel(collection) == f"{LIVE_PREFIX}.one.1.amp-icmp"
    heard: dict[str, list[live.LiveBatch]] = {"one": [], "two": []}
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=feed.listen, args=(heard[name].append, stop, [collection]), daemon=True
        )
        for name, feed in (("one", one), ("two", two))
    ]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 10
        while not (
            one._has_listeners(one.channel(collection))
            and two._has_listeners(two.channel(collection))
        ):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        one.publish(collection, [Row(1, 100, {"median": 1.0})])
        two.publish(collection, [Row(1, 200, {"median": 2.0})])
        two.publish(collection, [Row(1, 260, {"median": 2.5})])
        deadline = time.monotonic() + 10
        while len(heard["one"]) < 1 or len(heard["two"]) < 2:
            assert time.monotonic() < deadline, heard
            time.sleep(0.05)
        time.sleep(0.5)  # anything misdelivered has arrived by now
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        one.close()
        two.close()
    assert [b.rows for b in heard["one"]] == [[Row(1, 100, {"median": 1.0})]]
    assert [b.rows for b in heard["two"]] == [
        [Row(1, 200, {"median": 2.0})],
        [Row(1, 260, {"median": 2.5})],
    ]


def test_the_channel_prefix_is_a_setting() -> None:
    settings = {"nntsc.sql_url": "sqlite://", "nntsc.live_url": URL}
    default = Services.from_settings(settings, environ={})
    chosen = Services.from_settings({**settings, "nntsc.live_channel_prefix": "site-a.live"}, {})
    from_environment = Services.from_settings(
        {**settings, "nntsc.live_channel_prefix": "site-a.live"},
        {"NNTSC_LIVE_CHANNEL_PREFIX": "site-b.live"},
    )
    try:
        channels = [
            services.live.channel("amp-icmp")  # type: ignore[attr-defined]
            for services in (default, chosen, from_environment)
        ]
    finally:
        for services in (default, chosen, from_environment):
            services.close()
    assert channels == ["nntsc.live.1.amp-icmp", "site-a.live.1.amp-icmp", "site-b.live.1.amp-icmp"]
    for bad in ("", "two words", "nntsc.*", "tab\there"):
        with pytest.raises(ConfigurationError, match=r"nntsc\.live_channel_prefix"):
            live.open_live_feed(URL, bad)


def test_a_malformed_message_is_not_a_batch() -> None:
    import msgpack

    for data in (
        b"{not msgpack",
        msgpack.packb(["amp-icmp", [[1, "noon", {}]], {}]),
        msgpack.packb(["amp-icmp", [[1, 2]], {}]),
        msgpack.packb(["amp-icmp", [[1, 2, []]], {}]),
        msgpack.packb(["amp-icmp", [], {"1": 2}]),
        msgpack.packb([7, [], {}]),
        msgpack.packb(["amp-icmp", []]),
    ):
        with pytest.raises(ValueError, match="not a live feed batch"):
            live.decode_batch(data)
    batch = live.decode_batch(msgpack.packb(["amp-icmp", [[1, 2, {"median": 1.5}]], {1: 1}]))
    assert batch == live.LiveBatch("amp-icmp", [Row(1, 2, {"median": 1.5})], {1: 1})
