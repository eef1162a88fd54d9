"""The collector's transport takes buffered deliveries in one step (`ReadAheadConnection`):
the messages it hands over are those py-amqp's own path makes of the same frames, from
RabbitMQ, whatever their properties, headers and bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from nntsc.ingest.transport import ReadAheadConnection, ReadAheadTransport

BROKER = "amqp://guest:guest@127.0.0.1:5672//"


class CountingConnection(ReadAheadConnection):
    """Counts the deliveries taken in one step (the rest went through py-amqp's path)."""

    taken = 0

    def _take_delivery(self, transport: Any, delivery: Any) -> bool:
        taken = super()._take_delivery(transport, delivery)
        CountingConnection.taken += taken
        return taken


class CountingTransport(ReadAheadTransport):
    Connection = CountingConnection


@pytest.fixture
def queues() -> Iterator[tuple[Queue, Queue]]:
    """Two queues bound alike: each gets its copy of every message published."""
    tag = uuid.uuid4().hex[:8]
    exchange = Exchange(f"test-transport-{tag}", type="direct", durable=False)
    made = tuple(
        Queue(f"test-transport-{tag}-{n}", exchange=exchange, routing_key="rk", durable=False)
        for n in range(2)
    )
    with Connection(BROKER) as connection:
        for queue in made:
            queue(connection.channel()).declare()
    yield made  # type: ignore[misc]
    with Connection(BROKER) as connection:
        channel = connection.channel()
        for queue in made:
            queue(channel).delete()
        exchange(channel).delete()


def messages() -> list[tuple[bytes, dict[str, Any]]]:
    """Bodies and publish options: properties, header types, sizes py-amqp's path must take."""
    found: list[tuple[bytes, dict[str, Any]]] = []
    for n in range(300):
        found.append(
            (
                bytes([n % 256]) * (1 + n * 7 % 900),
                {
                    "headers": {"x-amp-test-type": "icmp", "n": n, "nested": {"a": [1, "b"]}},
                    "timestamp": 1_700_000_000 + n,
                    "content_type": "application/octet-stream",
                    "delivery_mode": 2,
                },
            )
        )
    found += [
        # No body (no body frame), a body larger than a frame, text with an encoding
        # (and one it cannot decode), no headers at all, a header of every common type.
        (b"", {"headers": {"x-amp-test-type": "icmp"}}),
        (b"z" * 300_000, {"headers": {"x-amp-test-type": "dns"}}),
        ("caf\u00e9".encode(), {"content_type": "text/plain", "content_encoding": "utf-8"}),
        (b"\xff\xfe", {"content_type": "text/plain", "content_encoding": "utf-8"}),
        (
            b"stamp",
            {"timestamp": 1_767_323_045, "priority": 3, "correlation_id": "c", "reply_to": "r"},
        ),
        (b"bare", {}),
        (
            b"types",
            {
                "headers": {
                    "s": "text",
                    "i": -5,
                    "big": 2**40,
                    "f": 1.5,
                    "t": True,
                    "none": None,
                    "b": b"\x00\x01",
                    "list": [1, 2.5, "x", {"k": "v"}],
                },
                "expiration": 60,
                "message_id": "m-1",
                "type": "t",
                "app_id": "a",
            },
        ),
    ]
    return found


def consumed(queue: Queue, transport: Any, count: int, requeue_first: int = 0) -> list[dict]:
    """`count` messages of `queue` as the collector's consumer sees them (no ack: they stay)."""
    got: list[dict] = []

    def on_message(message: Any) -> None:
        # The first `requeue_first` of the numbered messages go back once each, whatever
        # order the broker sends them in, so both consumers end with the same messages.
        number = (message.headers or {}).get("n")
        if (
            isinstance(number, int)
            and number < requeue_first
            and not message.delivery_info["redelivered"]
        ):
            message.requeue()
            return
        got.append(
            {
                "body": message.body,
                "headers": message.headers,
                "properties": message.properties,
                "content_type": message.content_type,
                "content_encoding": message.content_encoding,
                "delivery_info": {
                    k: v for k, v in message.delivery_info.items() if k != "consumer_tag"
                },
            }
        )

    with Connection(BROKER, transport=transport) as connection:
        channel = connection.channel()
        channel.basic_qos(0, 1000, False)
        with Consumer(channel, queues=[queue], on_message=on_message):
            while len(got) < count:
                connection.drain_events(timeout=10)
        channel.close()
    return got


def test_buffered_deliveries_are_the_messages_py_amqp_makes(
    queues: tuple[Queue, Queue],
) -> None:
    published = messages()
    with Connection(BROKER) as connection:
        producer = Producer(connection.channel(), exchange=queues[0].exchange)
        for body, options in published:
            producer.publish(body, routing_key="rk", serializer=None, **options)
    CountingConnection.taken = 0
    # Some are first requeued, so that both paths also see redelivered messages.
    ours = consumed(queues[0], CountingTransport, len(published), requeue_first=20)
    taken = CountingConnection.taken
    theirs = consumed(queues[1], "pyamqp", len(published), requeue_first=20)
    assert len(ours) == len(theirs) == len(published)
    # Where a requeued message comes back among the rest depends on timing, so the two
    # are compared as sets of messages, not in arrival order (delivery tags differ too).
    for message in ours + theirs:
        message["delivery_info"].pop("delivery_tag")
    ours_sorted = sorted(ours, key=repr)
    theirs_sorted = sorted(theirs, key=repr)
    for mine, reference in zip(ours_sorted, theirs_sorted, strict=True):
        assert mine == reference
    assert sum(m["delivery_info"]["redelivered"] for m in ours) == 20
    # py-amqp gives a message without a body the text "".
    assert {m["body"] for m in ours} >= {"", b"z" * 300_000, b"bare", "caf\u00e9", b"\xff\xfe"}
    # Most went the one-step way; the empty and the oversized body did not.
    assert 100 < taken < len(published) + 20 - 1
