"""The collector's acknowledgements: one multiple-ack per run of finished deliveries.

The broker is replaced by a recording channel (the outside world); parsing,
the ingest pipeline and the SQL store are the real ones. Every ack is checked,
when it is sent, against the store: each message it covers has all its rows
committed, or its dead-letter copy published.
"""

from __future__ import annotations

import random
import socket
import time
import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from nntsc import wire
from nntsc.collections import get as get_collection
from nntsc.demo import SimulatedMesh
from nntsc.errors import ConfigurationError
from nntsc.ingest import amqp
from nntsc.ingest.amqp import METRIC_PORTS, Collector, CollectorSettings, serve_metrics
from tests.conftest import make_services

ICMP = get_collection("amp-icmp")


class FakeMessage:
    """What the collector reads of a py-amqp message."""

    def __init__(self, channel: Any, tag: int, body: bytes, source: str, timestamp: int) -> None:
        self.channel = channel
        self.delivery_tag = tag
        self.body = body
        self.headers = {"x-amp-test-type": "icmp"}
        self.properties = {
            "content_type": "application/octet-stream",
            "user_id": source,
            "timestamp": timestamp,
        }


class Broker:
    """A channel and a producer that record acks and dead letters, checking every ack."""

    def __init__(self, check_ack: Any) -> None:
        self.acks: list[tuple[int, bool]] = []
        self.dead: set[int] = set()
        self.check_ack = check_ack
        self._publishing: int | None = None
        self.headers: list[dict[str, Any]] = []

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.check_ack(delivery_tag, multiple)
        self.acks.append((delivery_tag, multiple))

    def publish(self, body: bytes, **kwargs: Any) -> None:
        self.dead.add(kwargs["headers"]["x-nntsc-tag"])
        self.headers.append(kwargs["headers"])


class Harness:
    """A collector fed by hand: deliveries, dead-letter sends and batch completions."""

    def __init__(self, tmp_path: Any, seed: int) -> None:
        self.services = make_services(f"sqlite:///{tmp_path}/acks.sqlite")
        settings = CollectorSettings(amqp_url="amqp://unused//", batch_size=40)
        self.collector = Collector(self.services, settings)
        self.broker = Broker(self.check_ack)
        self.collector._channel = self.broker
        self.collector._producer = self.broker
        end = int(time.time()) - 3600
        mesh = SimulatedMesh(2, end - 7200, end, 60, seed=seed)
        self.reports = list(mesh.reports())
        self.messages: dict[int, FakeMessage] = {}
        self.bad: set[int] = set()
        self.acked_upto = 0

    def deliver(self, tag: int, bad: bool) -> None:
        source, timestamp, report = self.reports[tag % len(self.reports)]
        body = b"\xff not protobuf" if bad else wire.encode("icmp", report)
        message = FakeMessage(self.broker, tag, body, source, timestamp)
        # The dead-letter copy carries the tag, so the recording producer knows it.
        message.headers["x-nntsc-tag"] = tag  # type: ignore[assignment]
        self.messages[tag] = message
        if bad:
            self.bad.add(tag)
        self.collector._on_message(message)  # type: ignore[arg-type]

    def committed(self, tag: int) -> bool:
        """Whether every row of message `tag` is in the store."""
        source, timestamp, report = self.reports[tag % len(self.reports)]
        for parsed in ICMP.parse(report, source, timestamp):
            stream_id = self.services.streams.known_id(ICMP, parsed.properties)
            if stream_id is None:
                return False
            rows = self.services.timeseries.raw(ICMP, [stream_id], timestamp, timestamp + 1)
            if len(rows) != 1:
                return False
        return True

    def check_ack(self, tag: int, multiple: bool) -> None:
        covered = range(self.acked_upto + 1, tag + 1) if multiple else [tag]
        for earlier in covered:
            if earlier in self.bad:
                assert earlier in self.broker.dead, f"ack {tag} covers {earlier} before its copy"
            else:
                assert self.committed(earlier), f"ack {tag} covers {earlier} before its rows"
        self.acked_upto = max(self.acked_upto, tag)


@pytest.fixture
def harness(tmp_path, request):
    made = Harness(tmp_path, getattr(request, "param", 1))
    yield made
    made.collector.ingestor.close_writer()
    made.services.close()


def test_nothing_is_acked_before_dead_letters_are_sent_and_batches_committed(harness) -> None:
    for tag, bad in enumerate([False, False, True, False, False, True], start=1):
        harness.deliver(tag, bad)
    assert harness.broker.acks == []
    # The dead letters go out first: the good reports before them are not committed yet.
    harness.collector._send_dead_letters()
    assert harness.broker.dead == {3, 6}
    assert harness.broker.acks == []
    harness.collector.ingestor.submit()
    harness.collector.ingestor.wait()
    assert harness.broker.acks == [(6, True)]
    assert harness.collector._unacked == 0


def test_committed_batches_are_acked_up_to_a_dead_letter_not_yet_sent(harness) -> None:
    for tag, bad in enumerate([False, False, True, False], start=1):
        harness.deliver(tag, bad)
    harness.collector.ingestor.submit()
    harness.collector.ingestor.wait()
    assert harness.broker.acks == [(2, True)]
    assert harness.collector._unacked == 2
    harness.collector._send_dead_letters()
    assert harness.broker.acks == [(2, True), (4, True)]
    assert harness.collector._unacked == 0


@pytest.mark.parametrize("harness", [1, 2, 3, 4, 5], indirect=True)
def test_random_interleavings_never_ack_unfinished_work(harness) -> None:
    rnd = random.Random(harness.reports[0][1])
    tag = 0
    for _ in range(300):
        step = rnd.random()
        if step < 0.7:
            tag += 1
            harness.deliver(tag, bad=rnd.random() < 0.15)
        elif step < 0.8:
            harness.collector._send_dead_letters()
        elif step < 0.9:
            harness.collector.ingestor.submit()
        else:
            harness.collector.ingestor.poll()
    harness.collector._send_dead_letters()
    harness.collector.ingestor.submit()
    harness.collector.ingestor.wait()
    # Everything is done, so everything is acked, in few acks, each checked above.
    assert harness.acked_upto == tag
    assert harness.collector._unacked == 0
    assert len(harness.broker.acks) < tag / 3


def test_a_bad_live_feed_url_stops_the_collector_at_start(tmp_path) -> None:
    """It was opened at the first commit, on a writer thread, so every batch failed
    there and the collector took it for a store outage, retrying for ever."""
    services = make_services(f"sqlite:///{tmp_path}/live.sqlite", **{"nntsc.live_url": "nosuch://"})
    with pytest.raises(ConfigurationError, match="live_url"):
        Collector(services, CollectorSettings(amqp_url="amqp://unused//"))
    services.close()


def test_acknowledged_messages_are_counted(harness) -> None:
    """`nntsc_messages_acknowledged` counts messages, not acks (one ack covers many)."""
    for tag in range(1, 31):
        harness.deliver(tag, bad=tag % 7 == 0)
    harness.collector._send_dead_letters()
    harness.collector.ingestor.submit()
    harness.collector.ingestor.wait()
    assert harness.acked_upto == 30
    assert len(harness.broker.acks) < 30
    assert harness.collector.metrics.acknowledged._value.get() == 30


def test_a_taken_metrics_port_moves_to_the_next_free_one() -> None:
    """Several collectors sharing one ini file each get a metrics port (issue 17.6)."""
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chosen = serve_metrics(port, CollectorRegistry())
    assert chosen != port
    assert port < chosen < port + METRIC_PORTS
    with urllib.request.urlopen(f"http://127.0.0.1:{chosen}/metrics", timeout=5) as answer:
        assert answer.status == 200


@pytest.mark.parametrize(
    ("value", "reason", "detail"),
    [
        (7, "bad-test-type", "header x-amp-test-type is not a string: int 7"),
        ({"a": 1}, "bad-test-type", "header x-amp-test-type is not a string: dict {'a': 1}"),
        (None, "no-test-type", "header x-amp-test-type is missing"),
        ("", "no-test-type", "header x-amp-test-type is missing"),
    ],
)
def test_a_test_type_header_that_is_not_a_string_is_dead_lettered_as_such(
    harness, value: Any, reason: str, detail: str
) -> None:
    """An integer header is there but wrong: the reason says so instead of "missing"."""
    source, timestamp, report = harness.reports[0]
    message = FakeMessage(harness.broker, 1, wire.encode("icmp", report), source, timestamp)
    message.headers = {"x-amp-test-type": value, "x-nntsc-tag": 1}
    if value is None:
        del message.headers["x-amp-test-type"]
    harness.bad.add(1)
    harness.collector._on_message(message)
    harness.collector._send_dead_letters()
    assert [(h["x-nntsc-reason"], h["x-nntsc-error"]) for h in harness.broker.headers] == [
        (reason, detail)
    ]


def test_the_rollup_backlog_is_on_the_collectors_metrics(harness, monkeypatch) -> None:
    """The web app's backlog gauges, also where the collector's metrics are scraped."""
    monkeypatch.setattr(amqp, "BACKLOG_CACHE", 0.0)
    registry = harness.collector.metrics.registry

    def gauges() -> tuple[float | None, float | None]:
        return (
            registry.get_sample_value("nntsc_rollup_backlog_marks"),
            registry.get_sample_value("nntsc_rollup_backlog_age_seconds"),
        )

    assert gauges() == (0.0, 0.0)
    for tag in range(1, 41):
        harness.deliver(tag, bad=False)
    harness.collector.ingestor.submit()
    harness.collector.ingestor.wait()
    marks, age = gauges()
    assert marks == harness.services.timeseries.rollup_backlog()[0] > 0
    assert age > 3600
    harness.services.timeseries.process_rollups()
    assert gauges() == (0.0, 0.0)
