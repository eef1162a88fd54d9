"""The collector's transport takes buffered deliveries in one step (`ReadAheadConnection`):
the messages it hands over are those py-amqp's own path makes of the same frames, from
RabbitMQ, whatever their properties, headers and bodies."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import amqp
import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from nntsc.ingest.amqp import amplet_message
from nntsc.ingest.transport import ReadAheadConnection, ReadAheadTransport, drain_buffered

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


def amplet_messages() -> list[amqp.Message]:
    """Messages with amplet2's five properties (user_id our login, as the broker checks it):
    as amplet2 sends them, and with headers it does not send under the same flags."""
    found = [
        amplet_message(test, "guest", 1_767_323_045 + n, bytes([n]) * (1 + n * 13 % 700))
        for n, test in enumerate(["icmp", "dns", "traceroute", "http", "\u00e9t\u00e9"] * 30)
    ]
    for headers in (
        {},
        {"x-amp-test-type": ""},
        {"x-amp-test-type": "icmp", "extra": "text", "count": 7},
        {"x-amp-test-type": 5},
        {"x-amp-test-type": "icmp", "nested": {"a": [1, "b"]}, "raw": b"\xff\xfe"},
    ):
        message = amplet_message("icmp", "guest", 1_767_323_045, b"body")
        message.properties["application_headers"] = headers
        found.append(message)
    # A compressed body: kombu's `Message` after the transport decompresses it.
    message = amplet_message("icmp", "guest", 1_767_323_045, zlib.compress(b"report"))
    message.properties["application_headers"] = {"compression": "application/x-gzip"}
    found.append(message)
    return found


def consumed(queue: Queue, transport: Any, count: int, requeue_first: int = 0) -> list[dict]:
    """`count` messages of `queue` as the collector's consumer sees them (no ack: they stay),
    through `transport`."""
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
                # As the collector does: what is buffered, in one loop (py-amqp's: none).
                drain_buffered(connection.connection, 50)
        channel.close()
    return got


def test_buffered_deliveries_are_the_messages_py_amqp_makes(
    queues: tuple[Queue, Queue],
) -> None:
    published: list[Any] = messages()
    amplet = amplet_messages()
    with Connection(BROKER) as connection:
        channel = connection.channel()
        producer = Producer(channel, exchange=queues[0].exchange)
        for body, options in published:
            producer.publish(body, routing_key="rk", serializer=None, **options)
        for message in amplet:
            channel.basic_publish(message, exchange=queues[0].exchange.name, routing_key="rk")
    published += amplet
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
    # amplet2's properties exactly, decoded (the direct reading of `decode_properties`).
    sent = [m for m in ours if m["properties"].get("user_id") == "guest"]
    assert len(sent) == len(amplet)
    compressed = [m for m in sent if m["headers"] == {"compression": "application/x-gzip"}]
    assert [m["body"] for m in compressed] == [b"report"]
    fifth = [m for m in sent if m["properties"]["timestamp"] == 1_767_323_045 + 4]
    assert fifth[0]["properties"] == {
        "content_type": "application/octet-stream",
        "application_headers": {"x-amp-test-type": "\u00e9t\u00e9"},
        "delivery_mode": 2,
        "timestamp": 1_767_323_045 + 4,
        "user_id": "guest",
    }
    # Most went the one-step way; the empty and the oversized body did not.
    assert 100 < taken < len(published) + 20 - 1
