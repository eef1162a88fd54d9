"""The AMQP collector against the real RabbitMQ: delivery, dead letters, crashes, outages."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from amqp.exceptions import NotFound
from kombu import Connection, Exchange, Producer, Queue

from nntsc import wire
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.demo import ALL_TESTS, SimulatedMesh
from nntsc.ingest.amqp import METRIC_PORTS, Collector, CollectorSettings, amplet_message
from nntsc.ingest.transport import ReadAheadTCPTransport
from tests.conftest import INFLUX_HOST, make_services

ICMP = get_collection("amp-icmp")
PUBLISHER = "nntsc-test-publisher"
BROKER = "127.0.0.1:5672"
# The InfluxDB the tests use (NNTSC_TEST_INFLUX), which the outage test puts a proxy before.
INFLUX_HOSTPORT = (INFLUX_HOST.rsplit(":", 1)[0], int(INFLUX_HOST.rsplit(":", 1)[1]))


@pytest.fixture(scope="session")
def publisher_url() -> str:
    """A broker login allowed to set any user_id, as the monitors' names require.

    RabbitMQ checks that a message's user_id is the publisher's login unless
    the login has the `impersonator` tag.
    """
    commands = [
        ["rabbitmqctl", "-q", "add_user", PUBLISHER, PUBLISHER],
        ["rabbitmqctl", "-q", "set_user_tags", PUBLISHER, "impersonator"],
        ["rabbitmqctl", "-q", "set_permissions", "-p", "/", PUBLISHER, ".*", ".*", ".*"],
    ]
    for command in commands:
        subprocess.run(command, capture_output=True, check=False, timeout=60)
    return f"amqp://{PUBLISHER}:{PUBLISHER}@{BROKER}//"


@pytest.fixture
def names() -> Iterator[CollectorSettings]:
    """Queue and exchange names of one test; deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    settings = CollectorSettings(
        amqp_url=f"amqp://guest:guest@{BROKER}//",
        queue=f"test-{tag}",
        exchange=f"test-ex-{tag}",
        routing_key="amp",
        dead_letter_exchange=f"test-dead-{tag}",
        prefetch=500,
        batch_size=2000,
        batch_timeout=0.3,
    )
    yield settings
    with Connection(settings.amqp_url) as connection:
        channel = connection.channel()
        for queue in (settings.queue, settings.dead_letter_queue):
            Queue(queue, channel=channel).delete()
        for exchange in (settings.exchange, settings.dead_letter_exchange):
            Exchange(exchange, channel=channel).delete()


def declare(settings: CollectorSettings) -> None:
    """The queue exists before anything is published, as amplet2-server sets it up."""
    collector_exchange = Exchange(settings.exchange, type="direct", durable=True)
    with Connection(settings.amqp_url) as connection:
        Queue(
            settings.queue,
            exchange=collector_exchange,
            routing_key=settings.routing_key,
            durable=True,
        )(connection.channel()).declare()


def publish(
    url: str,
    settings: CollectorSettings,
    messages: list[tuple[str, str, int, bytes]],
    headers_override: dict | None = None,
) -> None:
    """(test type, monitor, timestamp, body) as amplet2 publishes them (no test type: no
    ``x-amp-test-type`` header)."""
    with Connection(url) as connection:
        channel = connection.channel()
        for test, monitor, timestamp, body in messages:
            message = amplet_message(test, monitor, timestamp, body)
            if not test:
                message.properties["application_headers"] = {}
            channel.basic_publish(
                message, exchange=settings.exchange, routing_key=settings.routing_key
            )


def icmp_messages(sites: int = 3, hours: float = 2, interval: int = 60) -> list:
    end = int(time.time()) - 3600
    mesh = SimulatedMesh(sites, end - int(hours * 3600), end, interval, seed=11)
    return [
        ("icmp", source, ts, wire.encode("icmp", report)) for source, ts, report in mesh.reports()
    ]


def expected_rows(messages: list) -> int:
    return sum(
        len(ICMP.parse(wire.decode("icmp", body), source, ts)) for _, source, ts, body in messages
    )


def row_count(services: Services) -> int:
    ids = [s.stream_id for s in services.streams.find(ICMP, pagesize=1000).items]
    if not ids:
        return 0
    return len(services.timeseries.raw(ICMP, ids, 0, int(time.time()) + 86400))


def queue_depth(settings: CollectorSettings, queue: str) -> int:
    """Messages ready in `queue`; 0 while it does not exist yet."""
    with Connection(settings.amqp_url) as connection:
        try:
            _, count, _ = connection.channel().queue_declare(queue, passive=True)
        except NotFound:
            return 0
        return count


def run_until(collector: Collector, done, timeout: float = 60) -> None:
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not done():
            assert time.monotonic() < deadline, "collector did not finish in time"
            assert thread.is_alive(), "collector exited"
            time.sleep(0.2)
    finally:
        collector.stop()
        thread.join(30)
    assert not thread.is_alive()


@pytest.fixture
def pg_influx(postgres_url: str, influx_url: str) -> Iterator[Services]:
    services = make_services(postgres_url, influx_url)
    yield services
    services.close()


def test_reports_through_the_broker_are_stored(pg_influx, names, publisher_url) -> None:
    declare(names)
    messages = icmp_messages()
    publish(publisher_url, names, messages)
    # Queued with amplet2's properties only: no content encoding (kombu's Producer adds one).
    with Connection(names.amqp_url) as connection:
        channel = connection.channel()
        queued = channel.basic_get(names.queue)
        assert queued is not None
        assert queued.properties == {
            "content_type": "application/octet-stream",
            "delivery_mode": 2,
            "application_headers": {"x-amp-test-type": "icmp"},
            "timestamp": messages[0][2],
            "user_id": messages[0][1],
        }
        channel.basic_reject(queued.delivery_tag, requeue=True)
    want = expected_rows(messages)
    collector = Collector(pg_influx, names)
    run_until(collector, lambda: row_count(pg_influx) >= want)
    assert row_count(pg_influx) == want
    assert queue_depth(names, names.queue) == 0
    # The derived values come out as the parser makes them, e.g. one stream's rtts.
    _, source, ts, body = messages[0]
    parsed = ICMP.parse(wire.decode("icmp", body), source, ts)[0]
    stream_id = pg_influx.streams.stream_id(ICMP, parsed.properties)
    stored = pg_influx.timeseries.raw(ICMP, [stream_id], ts, ts + 1)
    assert [dict(row.values) for row in stored] == [dict(parsed.values)]
    metrics = collector.metrics
    assert metrics.consumed.labels("icmp")._value.get() == len(messages)
    assert metrics.rows_written.labels("amp-icmp")._value.get() == want


def test_the_collector_reads_through_the_read_ahead_transport(names) -> None:
    with names.connection() as connection:
        connection.ensure_connection(max_retries=1)
        assert isinstance(connection.connection.transport, ReadAheadTCPTransport)


def test_bad_messages_are_dead_lettered_and_good_ones_stored(
    tmp_path, names, publisher_url
) -> None:
    services = make_services(f"sqlite:///{tmp_path}/c.sqlite")
    declare(names)
    good = icmp_messages(sites=2, hours=1)
    now = int(time.time())
    bad = []
    for index in range(1000):
        kind = index % 5
        if kind == 0:
            bad.append(("icmp", "amp-bad", now, b"\xff\xfe not protobuf"))
        elif kind == 1:
            bad.append(("nosuchtest", "amp-bad", now, b""))
        elif kind == 2:
            bad.append(("", "amp-bad", now, good[0][3]))
        elif kind == 3:
            report = {
                "header": {"packet_size": 84},
                "reports": [
                    {"name": "x", "family": 2, "address": b"\x01\x02\x03\x04", "rtt": 99_000_000}
                ],
            }
            bad.append(("icmp", "amp-bad", now, wire.encode("icmp", report)))
        else:
            bad.append(("icmp", "amp-bad", 5, good[0][3]))
    mixed = [m for pair in zip(good, bad, strict=False) for m in pair] + bad[len(good) :]
    publish(publisher_url, names, mixed)
    collector = Collector(services, names)
    want = expected_rows(good)
    run_until(
        collector,
        lambda: (
            queue_depth(names, names.dead_letter_queue) >= len(bad) and row_count(services) >= want
        ),
    )
    assert row_count(services) == want
    assert queue_depth(names, names.dead_letter_queue) == len(bad)
    reasons = {}
    with Connection(names.amqp_url) as connection:
        queue = Queue(names.dead_letter_queue, channel=connection.channel())
        while (message := queue.get(no_ack=True)) is not None:
            reason = message.headers["x-nntsc-reason"]
            reasons[reason] = reasons.get(reason, 0) + 1
            assert message.headers["x-nntsc-error"]
            assert message.headers["x-amp-user-id"] == "amp-bad"
    assert reasons == {
        "undecodable": 200,
        "unknown-test-type": 200,
        "no-test-type": 200,
        "malformed": 200,
        "bad-timestamp": 200,
    }
    assert {s.properties["source"] for s in services.streams.find(ICMP).items} != {"amp-bad"}
    services.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_ini(path, settings: CollectorSettings, sql_url: str, ts_url: str) -> None:
    path.write_text(
        "[app:main]\nuse = egg:nntsc\n"
        f"nntsc.sql_url = {sql_url}\nnntsc.timeseries_url = {ts_url}\n"
        f"nntsc.amqp_url = {settings.amqp_url}\nnntsc.amqp_queue = {settings.queue}\n"
        f"nntsc.amqp_exchange = {settings.exchange}\n"
        f"nntsc.amqp_dead_letter_exchange = {settings.dead_letter_exchange}\n"
        "nntsc.amqp_prefetch = 500\nnntsc.batch_size = 2000\nnntsc.batch_timeout = 0.3\n"
    )


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    tmp_path, postgres_url, influx_url, names, publisher_url
) -> None:
    services = make_services(postgres_url, influx_url)
    declare(names)
    # 4000 reports (64,800 rows, over 30 batches): the kill comes after the first batch is
    # stored, with most still to come (asserted below).
    messages = icmp_messages(sites=10, hours=7, interval=60)[:4000]
    ini = tmp_path / "collector.ini"
    _write_ini(ini, names, postgres_url, influx_url)
    publish(publisher_url, names, messages)
    want = expected_rows(messages)
    command = [os.path.join(os.path.dirname(sys.executable), "nntsc"), "collect", "-c", str(ini)]
    first = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    # Kill as soon as some rows are stored: counting in InfluxDB is cheap
    # enough to catch the collector well before it is done.
    while stored_in_influx(services) == 0:
        assert time.monotonic() < deadline
        assert first.poll() is None
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert 0 < row_count(services) < want
    second = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 180
        while queue_depth(names, names.queue) > 0 or row_count(services) < want:
            assert time.monotonic() < deadline
            assert second.poll() is None
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
    # Every report's rows exactly once: the store keeps one row per (stream, time).
    assert row_count(services) == want
    services.close()


def stored_in_influx(services: Services) -> int:
    """Raw ICMP rows in the InfluxDB store, counted by the server."""
    store = services.timeseries
    points = store.backend.client.points(
        f'SELECT count("results") FROM "{store.backend.database}"."raw"."amp-icmp"'
    )
    return sum(point["count"] for point in points)


def wait_for_retries(
    caplog: pytest.LogCaptureFixture, thread: threading.Thread, retries: int = 2
) -> None:
    """Until the collector (in `thread`, alive throughout) has found the stores down `retries`
    times after the failure that started the outage; each retry waits longer (1 s, 2 s, ...)."""
    deadline = time.monotonic() + 90
    while True:
        assert thread.is_alive()
        failed = [
            r
            for r in caplog.records
            if r.name == "nntsc.ingest.amqp"
            and r.getMessage().startswith("stores still unavailable")
        ]
        if len(failed) >= retries:
            return
        assert time.monotonic() < deadline, "the outage was not noticed and retried"
        time.sleep(0.2)


class TcpProxy:
    """A loopback TCP proxy whose link can be cut and restored, to fake a server outage."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                # close() alone does not wake a thread blocked in accept().
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)


def test_influxdb_outage_loses_nothing_and_the_collector_keeps_running(
    postgres_url, influx_url, names, publisher_url, caplog
) -> None:
    """Also: the outage's start and its end are both logged at WARNING or above."""
    caplog.set_level(logging.WARNING, logger="nntsc.ingest.amqp")
    host, port = INFLUX_HOSTPORT
    proxy = TcpProxy((host, port))
    proxied = influx_url.replace(f"{host}:{port}", f"127.0.0.1:{proxy.port}")
    services = make_services(postgres_url, proxied)
    direct = make_services(postgres_url, influx_url)
    declare(names)
    messages = icmp_messages(sites=6, hours=6)
    want = expected_rows(messages)
    half = len(messages) // 2
    publish(publisher_url, names, messages[:half])
    collector = Collector(services, names)
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while row_count(direct) < expected_rows(messages[:half]):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proxy.cut()
        publish(publisher_url, names, messages[half:])
        # Through the outage: it is noticed and retried (twice, backing off) while
        # the collector keeps running.
        wait_for_retries(caplog, thread)
        assert collector.metrics.store_up._value.get() == 0
        assert row_count(direct) < want
        proxy.restore()
        deadline = time.monotonic() + 90
        while row_count(direct) < want or queue_depth(names, names.queue) > 0:
            assert time.monotonic() < deadline, "did not catch up after the outage"
            assert thread.is_alive()
            time.sleep(0.5)
        assert collector.metrics.store_up._value.get() == 1
        assert collector.metrics.store_errors._value.get() >= 1
        messages_logged = [
            (r.levelno, r.getMessage()) for r in caplog.records if r.name == "nntsc.ingest.amqp"
        ]
        failed = [i for i, (level, m) in enumerate(messages_logged) if level >= logging.ERROR]
        back = [
            i
            for i, (level, m) in enumerate(messages_logged)
            if level == logging.WARNING and m.startswith("stores answer again")
        ]
        assert failed, messages_logged
        assert back, messages_logged
        assert failed[0] < back[-1], messages_logged
    finally:
        collector.stop()
        thread.join(30)
        proxy.cut()
    assert row_count(direct) == want
    services.close()
    direct.close()


def test_every_test_type_through_the_broker(tmp_path, names, publisher_url) -> None:
    """A report of each test type, built from our .proto files, stored with its derived values."""
    from nntsc.collections import for_amp_test
    from tests.unit.test_wire import REPORTS

    services = make_services(f"sqlite:///{tmp_path}/all.sqlite")
    declare(names)
    timestamp = int(time.time()) - 600
    messages = []
    expected = {}
    for test, report in REPORTS.items():
        collections = for_amp_test(test)
        if not collections:
            continue
        body = wire.encode(test, report)
        messages.append((test, "amp-all", timestamp, body))
        for collection in collections:
            # Rows as stored: with SQL-side references (traceroute paths) resolved.
            expected[collection.name] = collection.resolve(
                services, collection.parse(wire.decode(test, body), "amp-all", timestamp)
            )
    assert set(expected) >= {
        "amp-icmp",
        "amp-dns",
        "amp-http",
        "amp-tcpping",
        "amp-throughput",
        "amp-udpstream",
    }
    publish(publisher_url, names, messages)
    collector = Collector(services, names)

    def stored(name: str) -> int:
        return int(collector.metrics.rows_written.labels(name)._value.get())

    run_until(collector, lambda: all(stored(n) >= len(rows) for n, rows in expected.items()))
    for name, rows in expected.items():
        collection = get_collection(name)
        for parsed in rows:
            stream_id = services.streams.stream_id(collection, parsed.properties)
            got = services.timeseries.raw(collection, [stream_id], timestamp, timestamp + 1)
            assert [dict(row.values) for row in got] == [dict(parsed.values)], name
    services.close()


def test_demo_mesh_via_amqp_covers_every_test(tmp_path, names, publisher_url) -> None:
    """`nntsc demo-data --via-amqp` publishes every test type; the collector stores them all."""
    sql_url = f"sqlite:///{tmp_path}/demo.sqlite"
    services = make_services(sql_url)
    ini = tmp_path / "demo.ini"
    _write_ini(ini, names, sql_url, "sql")
    ini.write_text(ini.read_text().replace(names.amqp_url, publisher_url))
    command = [
        os.path.join(os.path.dirname(sys.executable), "nntsc"),
        "demo-data",
        "-c",
        str(ini),
        "--via-amqp",
        "--sites",
        "3",
        "--days",
        "0.1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    published = int(done.stdout.split()[0])
    assert published > 0
    collector = Collector(services, names)
    run_until(
        collector,
        lambda: (
            queue_depth(names, names.queue) == 0
            and collector._unacked == 0
            and collector.metrics.consumed_by_test("icmp")._value.get() > 0
        ),
    )
    consumed = sum(collector.metrics.consumed_by_test(t)._value.get() for t in ALL_TESTS)
    assert consumed == published
    assert queue_depth(names, names.dead_letter_queue) == 0
    for name in (
        "amp-icmp",
        "amp-tcpping",
        "amp-dns",
        "amp-http",
        "amp-throughput",
        "amp-udpstream",
        "amp-traceroute",
        "amp-astraceroute",
        "amp-fastping",
        "amp-youtube",
        "amp-external",
        "amp-sip",
    ):
        assert services.streams.find(get_collection(name)).total > 0, name
    services.close()


def test_postgresql_outage_with_new_streams_loses_nothing(
    postgres_url, names, publisher_url, caplog
) -> None:
    """PostgreSQL gone while new monitors report: held, then stored, none dead-lettered."""
    caplog.set_level(logging.WARNING, logger="nntsc.ingest.amqp")
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxied = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    services = make_services(proxied)
    direct = make_services(postgres_url)
    declare(names)
    first = icmp_messages(sites=3, hours=1)
    later = [("icmp", "amp-new-" + source, ts, body) for _, source, ts, body in first]
    publish(publisher_url, names, first)
    collector = Collector(services, names)
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while row_count(direct) < expected_rows(first):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proxy.cut()
        publish(publisher_url, names, later)
        wait_for_retries(caplog, thread)
        assert collector.metrics.store_up._value.get() == 0
        proxy.restore()
        want = expected_rows(first) + expected_rows(later)
        deadline = time.monotonic() + 90
        while row_count(direct) < want or queue_depth(names, names.queue) > 0:
            assert time.monotonic() < deadline, "did not catch up after the outage"
            assert thread.is_alive()
            time.sleep(0.5)
    finally:
        collector.stop()
        thread.join(30)
        proxy.cut()
    assert row_count(direct) == want
    assert queue_depth(names, names.dead_letter_queue) == 0
    services.close()
    direct.close()


def test_a_header_of_the_wrong_type_is_dead_lettered(tmp_path, names, publisher_url) -> None:
    """A list where the test name belongs once crashed the consumer before validation."""
    services = make_services(f"sqlite:///{tmp_path}/h.sqlite")
    declare(names)
    good = icmp_messages(sites=2, hours=0.2)
    exchange = Exchange(names.exchange, type="direct", durable=True)
    with Connection(publisher_url) as connection:
        Producer(connection.channel(), exchange=exchange).publish(
            good[0][3],
            routing_key=names.routing_key,
            headers={"x-amp-test-type": ["icmp"]},
            user_id="amp-odd",
            timestamp=good[0][2],
            content_type="application/octet-stream",
            serializer=None,
        )
    publish(publisher_url, names, good)
    collector = Collector(services, names)
    want = expected_rows(good)
    run_until(
        collector,
        lambda: row_count(services) >= want and queue_depth(names, names.dead_letter_queue) == 1,
    )
    assert collector.metrics.consumed_by_test("invalid")._value.get() == 1
    services.close()


def test_a_body_kombu_cannot_unpack_is_dead_lettered(tmp_path, names, publisher_url) -> None:
    """A ``compression`` header kombu does not know once raised out of the consumer.

    kombu decompresses a body named in that header before the collector sees
    it; the error went past the consumer loop and stopped `nntsc collect`,
    and since the message was never acknowledged, every restart met it again.
    """
    services = make_services(f"sqlite:///{tmp_path}/z.sqlite")
    declare(names)
    good = icmp_messages(sites=2, hours=0.2)
    exchange = Exchange(names.exchange, type="direct", durable=True)
    with Connection(publisher_url) as connection:
        Producer(connection.channel(), exchange=exchange).publish(
            good[0][3],
            routing_key=names.routing_key,
            headers={"x-amp-test-type": "icmp", "compression": "application/x-nosuch"},
            user_id="amp-odd",
            timestamp=good[0][2],
            content_type="application/octet-stream",
            serializer=None,
        )
    publish(publisher_url, names, good)
    collector = Collector(services, names)
    want = expected_rows(good)
    run_until(
        collector,
        lambda: row_count(services) >= want and queue_depth(names, names.dead_letter_queue) == 1,
    )
    assert row_count(services) == want
    with Connection(names.amqp_url) as connection:
        # The copy keeps the header, so it is read raw: kombu would stumble again.
        message = connection.channel().basic_get(names.dead_letter_queue, no_ack=True)
    assert message is not None
    assert message.body == good[0][3]
    assert message.headers["x-nntsc-reason"] == "undecodable"
    assert message.headers["x-amp-user-id"] == "amp-odd"
    assert collector.metrics.consumed_by_test("invalid")._value.get() == 1
    services.close()


def test_a_compressed_report_is_stored(tmp_path, names, publisher_url) -> None:
    """A body named in a ``compression`` header is decompressed (kombu's codecs), the rest
    handed on as py-amqp made them (`Collector._on_delivery`): all stored, none dead-lettered."""
    services = make_services(f"sqlite:///{tmp_path}/c.sqlite")
    declare(names)
    good = icmp_messages(sites=2, hours=0.2)
    first = good[0]
    with Connection(publisher_url) as connection:
        message = amplet_message("icmp", first[1], first[2], zlib.compress(first[3]))
        message.properties["application_headers"]["compression"] = "application/x-gzip"
        connection.channel().basic_publish(
            message, exchange=names.exchange, routing_key=names.routing_key
        )
    publish(publisher_url, names, good[1:])
    collector = Collector(services, names)
    want = expected_rows(good)
    run_until(collector, lambda: row_count(services) >= want)
    assert row_count(services) == want
    assert queue_depth(names, names.dead_letter_queue) == 0
    assert collector.metrics.consumed_by_test("invalid")._value.get() == 0
    services.close()


def broker_counts(queue: str) -> tuple[int, int]:
    """(ready, unacknowledged) messages of `queue`, as RabbitMQ counts them."""
    listing = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages_ready", "messages_unacknowledged"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for line in listing.splitlines():
        name, *counts = line.split()
        if name == queue:
            return int(counts[0]), int(counts[1])
    raise AssertionError(f"queue {queue} not listed")


def test_acknowledged_reports_are_exactly_those_committed(pg_influx, names, publisher_url) -> None:
    """With a batch held at the store, the broker has acks only for reports whose rows are in.

    Batches commit in turn until the third reaches InfluxDB, which is held
    there. RabbitMQ's own counts then show which reports were acknowledged:
    being a single consumer of one queue, the oldest ones. Every one of them
    must have all its rows stored, and some must (acks are not held back to
    the end); after the store is released, every row is there once.
    """
    declare(names)
    messages = icmp_messages(sites=4, hours=3)
    publish(publisher_url, names, messages)
    store = pg_influx.timeseries
    write_prepared = store.write_prepared
    calls = 0
    held = threading.Event()
    release = threading.Event()

    def gated(prepared):
        nonlocal calls
        calls += 1
        if calls >= 3:
            held.set()
            assert release.wait(120)
        return write_prepared(prepared)

    store.write_prepared = gated
    # Small batches: 3780 rows make several, whatever the timing.
    collector = Collector(pg_influx, dataclasses.replace(names, batch_size=300))
    thread = threading.Thread(target=collector.run, daemon=True)
    thread.start()
    try:
        assert held.wait(60), "the third batch never reached the store"
        # Give the collector time to send any ack it (wrongly) would.
        time.sleep(1.5)
        ready, unacked = broker_counts(names.queue)
        acked = len(messages) - ready - unacked
        assert acked > 0
        stored = stored_points(pg_influx)
        for _, source, ts, body in messages[:acked]:
            for parsed in ICMP.parse(wire.decode("icmp", body), source, ts):
                stream_id = pg_influx.streams.stream_id(ICMP, parsed.properties)
                assert (stream_id, ts) in stored, "a report was acknowledged before its rows"
        release.set()
        want = expected_rows(messages)
        deadline = time.monotonic() + 60
        while row_count(pg_influx) < want or sum(broker_counts(names.queue)) > 0:
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        release.set()
        collector.stop()
        thread.join(30)
    assert row_count(pg_influx) == expected_rows(messages)


def stored_points(services: Services) -> set[tuple[int, int]]:
    """(stream, time) of every raw ICMP row in the InfluxDB store."""
    ids = [s.stream_id for s in services.streams.find(ICMP, pagesize=1000).items]
    rows = services.timeseries.raw(ICMP, ids, 0, int(time.time()) + 86400)
    return {(row.stream_id, row.timestamp) for row in rows}


def test_check_names_what_is_down(tmp_path, names) -> None:
    """`nntsc collect --check`: exit 0 when all answer, else 1 naming what is down."""
    sql_url = f"sqlite:///{tmp_path}/check.sqlite"
    make_services(sql_url).close()
    ini = tmp_path / "check.ini"
    _write_ini(ini, names, sql_url, "sql")
    nntsc = os.path.join(os.path.dirname(sys.executable), "nntsc")
    good = subprocess.run(
        [nntsc, "collect", "--check", "-c", str(ini)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert "broker and stores answer" in good.stdout
    ini.write_text(ini.read_text().replace("127.0.0.1:5672", "127.0.0.1:9"))
    bad = subprocess.run(
        [nntsc, "collect", "--check", "-c", str(ini)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "unavailable: broker 127.0.0.1:9" in bad.stderr


def _scrape(port: int) -> dict[str, float]:
    """A collector's metrics on `port`; empty when nothing (or something else) answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except (OSError, ValueError):
        return {}
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            name = name.split("{", 1)[0]
            try:
                found[name] = found.get(name, 0.0) + float(value)
            except ValueError:
                return {}
    return found if "nntsc_messages_acknowledged_total" in found else {}


def _metrics_port(log: Path, process: subprocess.Popen, deadline: float) -> int:
    """The port `nntsc collect` (its stderr in `log`) says it serves its metrics on."""
    while True:
        found = re.search(r"metrics on port (\d+)", log.read_text())
        if found:
            return int(found.group(1))
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def test_two_collectors_on_one_queue_lose_and_double_nothing(
    tmp_path, postgres_url, influx_url, names, publisher_url
) -> None:
    """Issue 17.6: two `nntsc collect` sharing one ini (so one metrics port: the second
    takes the next free one) drain one queue of reports of new streams together."""
    services = make_services(postgres_url, influx_url)
    declare(names)
    messages = icmp_messages(sites=8, hours=3, interval=60)
    want = expected_rows(messages)
    keys = {
        tuple(sorted(row.properties.items()))
        for _, source, ts, body in messages
        for row in ICMP.parse(wire.decode("icmp", body), source, ts)
    }
    ini = tmp_path / "collector.ini"
    _write_ini(ini, names, postgres_url, influx_url)
    port = _free_port()
    with ini.open("a") as out:
        out.write(f"nntsc.metrics_port = {port}\n")
    command = [os.path.join(os.path.dirname(sys.executable), "nntsc"), "collect", "-c", str(ini)]
    collectors: list[subprocess.Popen] = []
    candidates: list[int] = []
    deadline = time.monotonic() + 60
    for number in range(2):
        # Each says which port it took ("metrics on port N"): that one is read, not a range
        # of ports where anything else answering could be taken for it.
        log = tmp_path / f"collector-{number}.log"
        with log.open("w") as stderr:
            collectors.append(subprocess.Popen(command, stderr=stderr))
        candidates.append(_metrics_port(log, collectors[-1], deadline))
        while not _scrape(candidates[-1]):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    # The first took the ini's port, the second the next free one.
    assert candidates[0] == port
    assert port < candidates[1] < port + METRIC_PORTS
    # Both consume: the broker hands the reports to them in turn.
    time.sleep(1)
    publish(publisher_url, names, messages)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert time.monotonic() < deadline, "not drained"
            assert all(c.poll() is None for c in collectors)
            metrics = [m for m in (_scrape(p) for p in candidates) if m]
            acked = sum(m["nntsc_messages_acknowledged_total"] for m in metrics)
            if len(metrics) == 2 and acked >= len(messages):
                break
            time.sleep(0.2)
        written = [m.get("nntsc_rows_written_total", 0) for m in metrics]
    finally:
        for collector in collectors:
            collector.send_signal(signal.SIGTERM)
        for collector in collectors:
            assert collector.wait(60) == 0
    # Both worked, each row was written by exactly one of them, none is missing.
    assert all(count > 0 for count in written), written
    assert sum(written) == want
    assert row_count(services) == want
    assert queue_depth(names, names.queue) == 0
    # Both created streams at once: still one stream per key.
    assert services.streams.find(ICMP, pagesize=1).total == len(keys)
    services.close()


#: Modules a launched `nntsc collect` on PostgreSQL and InfluxDB has no use for, which
#: its start-up loaded before session 12 (docs/performance.md): the tables of the
#: other modules and plug-in packages, for ORM sessions (the stream registry's), with
#: the entry points naming them; SQLite's dialect.
NOT_COLLECTING = (
    "ampweb",
    "nntsc.plugins",
    "nntsc.events.models",
    "nntsc.schedules.models",
    "sqlalchemy.dialects.sqlite",
)


def test_a_launched_collector_loads_only_what_collecting_needs(
    tmp_path, postgres_url, influx_url, names, publisher_url
) -> None:
    """`nntsc collect` (production's stores and live feed) stores a report, creating its
    streams, and stops on SIGTERM without having imported `NOT_COLLECTING`."""
    services = make_services(postgres_url, influx_url)
    declare(names)
    messages = icmp_messages(sites=2, hours=0.05)[:1]
    ini = tmp_path / "collector.ini"
    _write_ini(ini, names, postgres_url, influx_url)
    with ini.open("a") as out:
        out.write("nntsc.live_url = redis://127.0.0.1:6379/1\n")
    publish(publisher_url, names, messages)
    modules = tmp_path / "modules.txt"
    # The console script's own code, and the modules loaded by the time it returns.
    launcher = (
        "import atexit, sys\n"
        "path = sys.argv[1]\n"
        "atexit.register(lambda: open(path, 'w').write('\\n'.join(sys.modules)))\n"
        "from nntsc.cli import run\n"
        "sys.argv[1:] = ['collect', '-c', sys.argv[2]]\n"
        "sys.exit(run())\n"
    )
    collector = subprocess.Popen([sys.executable, "-c", launcher, str(modules), str(ini)])
    try:
        deadline = time.monotonic() + 60
        while stored_in_influx(services) < expected_rows(messages):
            assert time.monotonic() < deadline, "the report was not stored"
            assert collector.poll() is None
            time.sleep(0.1)
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0
    finally:
        if collector.poll() is None:
            collector.kill()
        services.close()
    loaded = set(modules.read_text().split())
    assert "nntsc.store.streams" in loaded
    assert sorted(loaded.intersection(NOT_COLLECTING)) == []
