"""`nntsc collect`: the AMQP consumer of amplet2 reports.

Wire compatibility: a message's body is a serialized amplet2 `Report`, its
header ``x-amp-test-type`` names the test, its ``user_id`` property the
monitor (the stream's source) and its ``timestamp`` property the time of the
test. That is what amplet2 monitors publish, so they can be pointed at this
collector unchanged.

Delivery: reports go through the shared ingest pipeline; a message is
acknowledged only after every row it made is committed (the batch holding it
is done). A message that cannot become rows goes to the dead-letter queue
with the reason in its headers and is acknowledged once the broker has
confirmed that copy; it never stops the consumer. Acknowledgements go out as
one multiple-ack for the longest run of deliveries, oldest first, that are
all done, so none covers a message still waiting for its rows or its copy.
When a store fails, the collector stops acknowledging, drops what it
buffered, closes its channel so the broker keeps (and will deliver again)
every unacknowledged message, waits with bounded backoff until the stores
answer, and resumes. Delivering a message twice writes the same rows again,
which leaves one copy of each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import math
import signal
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import amqp
from amqp.exceptions import AMQPError
from kombu import Connection, Exchange, Producer, Queue
from kombu.compression import decompress
from kombu.exceptions import KombuError, OperationalError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from nntsc import wire
from nntsc.collections import for_amp_test
from nntsc.config import Services
from nntsc.errors import BadReport, ConfigurationError, NntscError, StoreUnavailable
from nntsc.ingest.pipeline import BatchOutcome, Ingestor, fewer_collections
from nntsc.ingest.transport import ReadAheadTransport, drain_buffered

log = logging.getLogger(__name__)

#: Timestamps before this are not measurements (1 January 2005).
EARLIEST_TIMESTAMP = 1_104_537_600
#: A monitor's clock may run ahead, but not by more than this.
FUTURE_SLACK = 86400
#: Longest pause between two attempts to reach a store or the broker.
MAX_BACKOFF = 30.0
#: Seconds without a delivery after which buffered rows are written.
IDLE_WITH_ROWS = 0.01
#: Deliveries already read from the socket that are handled in one turn.
BURST = 200
#: Seconds a reading of the rollup backlog is reused by metric scrapes.
BACKLOG_CACHE = 5.0
#: Ports tried, from ``nntsc.metrics_port`` up, for the metrics of one collector.
METRIC_PORTS = 16


@dataclass(frozen=True)
class CollectorSettings:
    """What `nntsc collect` reads from the ini file (keys in `from_settings`)."""

    amqp_url: str
    queue: str = "ampqueue"
    exchange: str = "amp_exchange"
    routing_key: str = "amp"
    dead_letter_exchange: str = "amp_dead_letter"
    prefetch: int = 8000
    batch_size: int = 5000
    batch_timeout: float = 1.0
    metrics_port: int = 0
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dead"

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> CollectorSettings:
        def get(key: str, default: Any) -> Any:
            value = settings.get(f"nntsc.{key}")
            return default if value in (None, "") else type(default)(value)

        return cls(
            amqp_url=settings["nntsc.amqp_url"],
            queue=get("amqp_queue", cls.queue),
            exchange=get("amqp_exchange", cls.exchange),
            routing_key=get("amqp_routing_key", cls.routing_key),
            dead_letter_exchange=get("amqp_dead_letter_exchange", cls.dead_letter_exchange),
            prefetch=get("amqp_prefetch", cls.prefetch),
            batch_size=get("batch_size", cls.batch_size),
            batch_timeout=get("batch_timeout", cls.batch_timeout),
            metrics_port=get("metrics_port", cls.metrics_port),
            ssl_cafile=settings.get("nntsc.amqp_ssl_cafile") or None,
            ssl_certfile=settings.get("nntsc.amqp_ssl_certfile") or None,
            ssl_keyfile=settings.get("nntsc.amqp_ssl_keyfile") or None,
        )

    def connection(self) -> Connection:
        """A kombu connection (TLS for ``amqps://`` URLs), confirming every publish.

        It reads from the broker through `ReadAheadTransport`, in large chunks.
        """
        ssl_options: Any = False
        if self.amqp_url.startswith("amqps://"):
            ssl_options = {"cert_reqs": ssl.CERT_REQUIRED}
            if self.ssl_cafile:
                ssl_options["ca_certs"] = self.ssl_cafile
            if self.ssl_certfile:
                ssl_options["certfile"] = self.ssl_certfile
                ssl_options["keyfile"] = self.ssl_keyfile
        return Connection(
            self.amqp_url,
            transport=ReadAheadTransport,
            heartbeat=30,
            ssl=ssl_options,
            connect_timeout=10,
            transport_options={"confirm_publish": True},
        )


class CollectorMetrics:
    """The collector's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.consumed = Counter(
            "nntsc_messages_consumed", "Messages taken from the queue", ["test"], registry=r
        )
        self.rows_written = Counter(
            "nntsc_rows_written", "Rows committed to the stores", ["collection"], registry=r
        )
        self.acknowledged = Counter(
            "nntsc_messages_acknowledged",
            "Messages acknowledged to the broker (stored, or dead-lettered)",
            registry=r,
        )
        self.dead_lettered = Counter(
            "nntsc_messages_dead_lettered",
            "Messages sent to the dead-letter queue",
            ["reason"],
            registry=r,
        )
        self.batch_rows = Histogram(
            "nntsc_batch_rows",
            "Rows per committed batch",
            buckets=(10, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "nntsc_commit_seconds",
            "Time from handing a batch to the stores to its commit",
            registry=r,
        )
        self.store_errors = Counter(
            "nntsc_store_errors", "Batches that failed to commit", registry=r
        )
        self.sql_statements = Counter(
            "nntsc_sql_statements",
            "SQL statements sent by the collector (each parameter set of an executemany)",
            registry=r,
        )
        self.store_up = Gauge(
            "nntsc_stores_up", "1 while the stores accept writes, 0 during an outage", registry=r
        )
        self.broker_up = Gauge("nntsc_broker_up", "1 while connected to the broker", registry=r)
        self.newest_result = Gauge(
            "nntsc_newest_result_timestamp",
            "Timestamp of the newest committed result",
            registry=r,
        )
        self.newest_age = Gauge(
            "nntsc_newest_result_age_seconds",
            "Seconds since the newest committed result was measured",
            registry=r,
        )
        self.newest_age.set_function(self.newest_result_age)
        # The same gauges as the web app's /metrics (nntsc.store's rollup backlog).
        self.rollup_backlog_marks = Gauge(
            "nntsc_rollup_backlog_marks",
            "Rollup marks due and waiting for the rollup pass",
            registry=r,
        )
        self.rollup_backlog_age = Gauge(
            "nntsc_rollup_backlog_age_seconds",
            "Seconds since the oldest waiting rollup mark's bin closed (0 when none)",
            registry=r,
        )
        self._backlog: tuple[float, tuple[float, float]] = (-BACKLOG_CACHE, (0.0, 0.0))
        self.newest = 0
        self.store_up.set(1)
        self._consumed: dict[Any, Any] = {}

    def watch_rollup_backlog(self, backlog: Callable[[], tuple[int, float | None]]) -> None:
        """Export `backlog()` (marks waiting, age of the oldest) on the two backlog gauges.

        Asked at most every `BACKLOG_CACHE` seconds, however often the
        metrics are scraped; NaN while the store does not answer.
        """

        def read() -> tuple[float, float]:
            now = time.monotonic()
            at, value = self._backlog
            if now - at >= BACKLOG_CACHE:
                try:
                    count, age = backlog()
                    value = (float(count), 0.0 if age is None else float(age))
                except (NntscError, SQLAlchemyError, OSError):
                    value = (math.nan, math.nan)
                self._backlog = (now, value)
            return value

        self.rollup_backlog_marks.set_function(lambda: read()[0])
        self.rollup_backlog_age.set_function(lambda: read()[1])

    def consumed_by_test(self, test: Any) -> Any:
        """The consumed-messages counter of `test` (children cached: called per message)."""
        child = self._consumed.get(test)
        if child is None:
            child = self._consumed[test] = self.consumed.labels(str(test))
        return child

    def saw_result(self, timestamp: int) -> None:
        """Note a committed result's time (the newest one is exported)."""
        if timestamp > self.newest:
            self.newest = timestamp
            self.newest_result.set(timestamp)

    def newest_result_age(self) -> float:
        """Seconds since the newest committed result was measured; NaN before the first."""
        return time.time() - self.newest if self.newest else float("nan")


class Collector:
    """Consumes amplet2 reports until `stop()` (or SIGTERM) and stores them."""

    def __init__(
        self,
        services: Services,
        settings: CollectorSettings,
        metrics: CollectorMetrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.services = services
        self.settings = settings
        self.metrics = metrics or CollectorMetrics()
        self.sleep = sleep
        self._stopping = False
        #: The port the metrics are served on, once `run` started them (0: none).
        self.metrics_port = 0
        # When the broker was lost (monotonic clock), while it is.
        self._broker_lost: float | None = None
        self._store_error: BaseException | None = None
        self._first_buffered: float | None = None
        # Delivery tags of this channel not yet acknowledged, oldest first, and
        # those of them whose work is done (see `_acknowledge_done`).
        self._delivered: deque[int] = deque()
        self._done: set[int] = set()
        self._rejected: deque[tuple[amqp.Message, str, str]] = deque()
        self._channel: Any = None
        # Opened now, not at the first commit: a bad ``nntsc.live_url`` stops
        # the collector here instead of failing every batch, and the writer
        # thread does not hold up the first batches importing the feed's client.
        self.live = services.live
        self.metrics.watch_rollup_backlog(services.timeseries.rollup_backlog)
        # The stream registry loads the SQL models: part of start-up
        # (`nntsc.cli.starting_up`), not of the first delivery.
        services.streams  # noqa: B018
        self.ingestor = Ingestor(
            services,
            batch_size=settings.batch_size,
            on_commit=self._published,
            on_batch_done=self._batch_done,
        )
        self.exchange = Exchange(settings.exchange, type="direct", durable=True)
        self.queue = Queue(
            settings.queue, exchange=self.exchange, routing_key=settings.routing_key, durable=True
        )
        self.dead_exchange = Exchange(settings.dead_letter_exchange, type="direct", durable=True)
        self.dead_queue = Queue(
            settings.dead_letter_queue,
            exchange=self.dead_exchange,
            routing_key=settings.dead_letter_queue,
            durable=True,
        )

    # -- running ------------------------------------------------------------------

    def stop(self, *_: Any) -> None:
        """Finish the current batch, acknowledge it and return from `run` (signal-safe)."""
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        """Consume until stopped, reconnecting to the broker and waiting out store outages."""
        if self.settings.metrics_port:
            self.metrics_port = serve_metrics(self.settings.metrics_port, self.metrics.registry)
        backoff = 1.0
        engines = {id(e): e for e in (self.services.engine, self.services.read_engine)}.values()
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._count_statement)
        with fewer_collections():
            try:
                while not self._stopping:
                    if self._store_error is not None:
                        self._wait_for_stores()
                        continue
                    try:
                        self._consume()
                        backoff = 1.0
                    except (OSError, KombuError, OperationalError, AMQPError) as error:
                        self.metrics.broker_up.set(0)
                        if self._broker_lost is None:
                            self._broker_lost = time.monotonic()
                        self._forget_unacknowledged()
                        log.warning("broker unavailable (%s); retrying in %.0f s", error, backoff)
                        self._pause(backoff)
                        backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                self.ingestor.close_writer()
                for engine in engines:
                    event.remove(engine, "before_cursor_execute", self._count_statement)

    def _count_statement(self, *args: Any) -> None:
        """SQLAlchemy event: count what the stores cost PostgreSQL (statements per batch)."""
        parameters, executemany = args[3], args[5]
        self.metrics.sql_statements.inc(len(parameters) if executemany else 1)

    def _consume(self) -> None:
        try:
            with self.settings.connection() as connection:
                connection.ensure_connection(max_retries=1)
                channel = connection.channel()
                for entity in (self.exchange, self.queue, self.dead_exchange, self.dead_queue):
                    entity.bind(channel).declare()
                channel.basic_qos(0, self.settings.prefetch, False)
                self._channel = channel
                self._producer = Producer(channel)
                if self._broker_lost is not None:
                    log.warning(
                        "broker answers again after %.0f s; consuming %s",
                        time.monotonic() - self._broker_lost,
                        self.settings.queue,
                    )
                    self._broker_lost = None
                self.metrics.broker_up.set(1)
                log.info("consuming %s on %s", self.settings.queue, connection.as_uri())
                # py-amqp's consumer, its messages to `_on_delivery` as it makes them.
                # kombu's `Consumer` would wrap each in a message of its own
                # (`kombu.message.Message`: the same body, headers and properties),
                # 2-3 us of CPU a report of 8 for the whole AMQP path below the
                # collector (docs/performance.md, session 11), and declare the queue
                # again; what its wrapping adds, decompressing a body named in a
                # ``compression`` header, `_on_delivery` does with kombu's codecs.
                consumer_tag = channel.basic_consume(
                    self.settings.queue, callback=self._on_delivery
                )
                with self._consuming(channel, consumer_tag):
                    while not self._stopping and self._store_error is None:
                        # Keeps the broker from closing a quiet connection.
                        connection.heartbeat_check()
                        idle = False
                        # With rows buffered, a short silence already means the
                        # queue is drained: write them now rather than later.
                        quiet = IDLE_WITH_ROWS if self._first_buffered is not None else 0.05
                        try:
                            self._drain(connection, min(quiet, self.settings.batch_timeout))
                        except TimeoutError:
                            idle = True
                        self._send_dead_letters()
                        self._maybe_submit(idle)
                        self.ingestor.poll()
                # No more deliveries: write what is buffered and acknowledge it.
                self._send_dead_letters()
                if self._store_error is None:
                    self._submit()
                    self.ingestor.wait()
                    if self._store_error is None:
                        log.info("stopped after acknowledging every committed report")
        finally:
            self._channel = None
            if self._store_error is not None:
                self._forget_unacknowledged()

    @contextlib.contextmanager
    def _consuming(self, channel: Any, consumer_tag: str) -> Iterator[None]:
        """Cancel the consumer `consumer_tag` of `channel` on leaving, as kombu's `Consumer`
        does: not when the connection failed (the broker dropped the consumer with it), and
        an error cancelling is left to the next use of the connection to meet."""
        try:
            yield
        except (OSError, KombuError, OperationalError, AMQPError):
            raise
        except BaseException:
            with contextlib.suppress(Exception):
                channel.basic_cancel(consumer_tag)
            raise
        with contextlib.suppress(Exception):
            channel.basic_cancel(consumer_tag)

    def _drain(self, connection: Connection, timeout: float) -> None:
        """Handle the next delivery, then up to `BURST` more that have already been read.

        The checks between two turns of the consumer loop (heartbeats,
        batch age, finished batches) need not run between deliveries that
        are already in memory. Raises `TimeoutError` when nothing arrives.
        """
        connection.drain_events(timeout=timeout)
        if not self._stopping and self._store_error is None:
            # A delivery `_on_message` meets after a store failed is left unacknowledged.
            drain_buffered(connection.connection, BURST)

    def _forget_unacknowledged(self) -> None:
        """Drop what was buffered: with the connection gone, the broker delivers it again."""
        self.ingestor.discard()
        self._rejected.clear()
        self._delivered.clear()
        self._done.clear()
        self._first_buffered = None

    @property
    def _unacked(self) -> int:
        """Messages delivered on this channel and not acknowledged yet."""
        return len(self._delivered)

    def _maybe_submit(self, idle: bool) -> None:
        """Send the buffer when the queue went quiet, when it is old enough, or when the
        prefetch window is nearly full (the broker would stop delivering before a batch
        fills up). A full batch is sent by the ingestor itself."""
        if self._first_buffered is None:
            return
        old = time.monotonic() - self._first_buffered >= self.settings.batch_timeout
        window_full = self._unacked >= self.settings.prefetch * 0.8
        if idle or old or window_full:
            self._submit()
            self._first_buffered = None

    def _submit(self) -> None:
        """Send the buffer; a store failing meanwhile (new streams need SQL) starts an outage."""
        try:
            self.ingestor.submit()
        except (StoreUnavailable, SQLAlchemyError) as error:
            self._store_failed(error, "while creating streams")

    def _store_failed(self, error: BaseException, where: str) -> None:
        """Stop acknowledging: what is not acknowledged comes again after the outage."""
        if self._store_error is None:
            log.error("a store failed %s: %s", where, error)
        self.metrics.store_errors.inc()
        self._store_error = error

    def _wait_for_stores(self) -> None:
        """Back off until every store answers again, then clear the failure."""
        backoff = 1.0
        self.metrics.store_up.set(0)
        began = time.monotonic()
        while not self._stopping:
            try:
                ping_stores(self.services)
            except (NntscError, OSError) as error:
                log.warning("stores still unavailable (%s); next try in %.0f s", error, backoff)
                self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            # WARNING, as the failure was: an operator reading the log sees the outage end.
            log.warning(
                "stores answer again after %.0f s; resuming (unacknowledged reports come again)",
                time.monotonic() - began,
            )
            self.metrics.store_up.set(1)
            self._store_error = None
            return

    def _pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            self.sleep(min(0.2, deadline - time.monotonic()))

    # -- messages -------------------------------------------------------------------

    def _on_delivery(self, message: amqp.Message) -> None:
        """py-amqp's callback for every delivery: `_on_message`, once a body named in a
        ``compression`` header is decompressed as kombu would (its codecs); a body they
        cannot decompress is undecodable (`_on_undecodable`)."""
        headers = message.headers
        if headers:
            compression = headers.get("compression")
            if compression:
                try:
                    message.body = decompress(message.body, compression)
                except Exception as error:
                    self._on_undecodable(message, error)
                    return
        self._on_message(message)

    def _on_message(self, message: amqp.Message) -> None:
        if self._store_error is not None:
            # Not acknowledged, so the broker delivers it again after the outage.
            return
        self._delivered.append(message.delivery_tag)
        headers = message.headers or {}
        # Untrusted: `_envelope` rejects anything but a non-empty str.
        test: Any = headers.get("x-amp-test-type")
        # Only known test names label the metric: a header is untrusted input.
        self.metrics.consumed_by_test(test if for_amp_test_safe(test) else "invalid").inc()
        try:
            source, timestamp = self._envelope(message, test)
            collections = for_amp_test(test)
            if not collections:
                raise _Rejected("unknown-test-type", f"no collection takes test type {test!r}")
            try:
                report: Any = wire.decode_message(test, _raw_body(message))
                if not all(collection.parses_messages for collection in collections):
                    report = wire.to_dict(report)
            except BadReport as error:
                raise _Rejected("undecodable", str(error)) from error
            try:
                self.ingestor.add_report(collections, report, source, timestamp, token=message)
            except BadReport as error:
                raise _Rejected("malformed", str(error)) from error
        except _Rejected as rejected:
            self._rejected.append((message, rejected.reason, rejected.detail))
            return
        except (StoreUnavailable, SQLAlchemyError) as error:
            # Creating a stream needs the SQL database: an outage, not a bad report.
            # The message stays unacknowledged and comes back after the outage.
            self._store_failed(error, f"while handling a {test} report")
            return
        except Exception as error:
            # A report that breaks our own code must not stop the consumer either.
            log.exception("could not handle a %s report", test)
            self._rejected.append((message, "internal-error", f"{type(error).__name__}: {error}"))
            return
        if self._first_buffered is None:
            self._first_buffered = time.monotonic()

    def _on_undecodable(self, message: amqp.Message, error: Exception) -> None:
        """The body could not be decompressed (e.g. an unknown ``compression``): a bad report."""
        if self._store_error is not None:
            return
        self._delivered.append(message.delivery_tag)
        self.metrics.consumed_by_test("invalid").inc()
        self._rejected.append((message, "undecodable", f"{type(error).__name__}: {error}"))

    def _envelope(self, message: amqp.Message, test: Any) -> tuple[str, int]:
        if test is None or test == "" or test == b"":
            raise _Rejected("no-test-type", "header x-amp-test-type is missing")
        if not isinstance(test, str):
            # A header of another AMQP type (an integer, a table) is there but
            # wrong: saying "missing" would send the sender looking elsewhere.
            raise _Rejected(
                "bad-test-type",
                f"header x-amp-test-type is not a string: {type(test).__name__} {repr(test)[:100]}",
            )
        properties = message.properties or {}
        source = properties.get("user_id")
        if isinstance(source, bytes):
            source = source.decode("utf-8", "replace")
        if not isinstance(source, str) or not source:
            raise _Rejected("no-source", "property user_id (the monitor's name) is missing")
        raw = properties.get("timestamp")
        if isinstance(raw, dt.datetime):
            if raw.tzinfo is None:
                raw = raw.replace(tzinfo=dt.UTC)
            timestamp = int(raw.timestamp())
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            timestamp = int(raw)
        else:
            raise _Rejected("no-timestamp", "property timestamp is missing")
        if not EARLIEST_TIMESTAMP <= timestamp <= time.time() + FUTURE_SLACK:
            raise _Rejected("bad-timestamp", f"timestamp {timestamp} is out of range")
        return source, timestamp

    def _send_dead_letters(self) -> None:
        """Publish the rejected messages, outside the delivery callback.

        Waiting for a publish confirmation reads from the connection, which
        delivers more messages; doing that inside the callback would recurse.
        """
        while self._rejected:
            self._dead_letter(*self._rejected.popleft())

    def _dead_letter(self, message: amqp.Message, reason: str, detail: str) -> None:
        """Send the message to the dead-letter queue with why, count it, log it, ack it.

        The publish returns once the broker confirmed the copy (the connection
        confirms every publish), so the original may be acknowledged then.
        """
        properties = message.properties or {}
        headers = dict(message.headers or {})
        headers.update(
            {
                "x-nntsc-reason": reason,
                "x-nntsc-error": detail[:1000],
                "x-nntsc-queue": self.settings.queue,
                # The broker checks user_id against our login, so it moves to a header.
                "x-amp-user-id": str(properties.get("user_id") or ""),
            }
        )
        timestamp = properties.get("timestamp")
        self._producer.publish(
            _raw_body(message),
            exchange=self.dead_exchange,
            routing_key=self.settings.dead_letter_queue,
            headers=headers,
            content_type=properties.get("content_type") or "application/octet-stream",
            content_encoding="binary",
            delivery_mode=2,
            timestamp=timestamp,
            serializer=None,
        )
        self._done.add(message.delivery_tag)
        self._acknowledge_done()
        self.metrics.dead_lettered.labels(reason).inc()
        log.warning(
            "dead-lettered a %s report from %s: %s (%s)",
            headers.get("x-amp-test-type"),
            headers["x-amp-user-id"] or "?",
            reason,
            detail,
        )

    # -- batches ----------------------------------------------------------------------

    def _published(self, collection: Any, rows: list[Any]) -> None:
        """Ingest thread, batches in order, after a commit: count the rows and feed them live."""
        self.metrics.rows_written.labels(collection.name).inc(len(rows))
        if rows:
            self.metrics.saw_result(max(row.timestamp for row in rows))
        self.live.publish(collection.name, rows)

    def _batch_done(self, outcome: BatchOutcome) -> None:
        """Ingest thread: acknowledge a committed batch's messages, or start an outage."""
        if outcome.error is not None:
            self.metrics.store_errors.inc()
            if self._store_error is None:
                log.error("a batch failed to commit, holding acknowledgements: %s", outcome.error)
            self._store_error = outcome.error
            return
        self.metrics.batch_rows.observe(outcome.rows)
        self.metrics.commit_seconds.observe(outcome.seconds)
        if outcome.tokens and self._store_error is None:
            if outcome.tokens[0].channel is not self._channel:
                # From a connection that has gone: the broker delivers these again.
                return
            self._done.update(message.delivery_tag for message in outcome.tokens)
            self._acknowledge_done()

    def _acknowledge_done(self) -> None:
        """Acknowledge, with one multiple-ack, the oldest deliveries that are all done.

        A multiple-ack covers every earlier delivery of the channel, so it
        stops before the oldest one not done yet: a report whose batch is
        still being written, or a rejected one whose dead-letter copy is not
        confirmed. Batches finish in order, dead letters within a moment, so
        the run rarely waits long.
        """
        delivered, done = self._delivered, self._done
        last = None
        count = 0
        while delivered and delivered[0] in done:
            last = delivered.popleft()
            done.discard(last)
            count += 1
        if last is None:
            return
        if not delivered:
            # Nothing is outstanding, so nothing else can be done.
            done.clear()
        self._channel.basic_ack(last, multiple=True)
        self.metrics.acknowledged.inc(count)


def serve_metrics(port: int, registry: CollectorRegistry) -> int:
    """Serve `registry` on `port`, or on the next free one of `METRIC_PORTS`; return it.

    Several collectors on one host (one ini file) thus each get a port of
    their own: 9110, 9111, ...; the port taken is logged.
    """
    for candidate in range(port, port + METRIC_PORTS):
        try:
            start_http_server(candidate, registry=registry)
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            continue
        if candidate != port:
            log.warning("metrics on port %d (%d was taken)", candidate, port)
        else:
            log.info("metrics on port %d", candidate)
        return candidate
    raise ConfigurationError(
        f"metrics ports {port}-{port + METRIC_PORTS - 1} are all taken: set nntsc.metrics_port"
    )


def for_amp_test_safe(test: Any) -> bool:
    """Whether `test` is a test type some collection takes (any header value is safe here)."""
    return isinstance(test, str) and bool(for_amp_test(test))


def _raw_body(message: amqp.Message) -> bytes:
    """The body as bytes: py-amqp turns a body with a content encoding (or none) into text."""
    body = message.body
    if isinstance(body, bytes):
        return body
    try:
        return body.encode((message.properties or {}).get("content_encoding") or "utf-8")
    except LookupError:
        return body.encode("utf-8")


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def amplet_message(test: str, monitor: str, timestamp: int, body: bytes) -> amqp.Message:
    """A report as an amplet2 monitor publishes it, with exactly its properties.

    amplet2's ``report_to_broker`` (src/measured/messaging.c) sets five:
    content type ``application/octet-stream``, persistent delivery, the
    header ``x-amp-test-type``, the test's timestamp and the monitor's name as
    ``user_id``; no content encoding (kombu's `Producer` would add
    ``binary`` to a body of bytes).
    """
    return amqp.Message(
        body,
        content_type="application/octet-stream",
        delivery_mode=2,
        application_headers={"x-amp-test-type": test},
        timestamp=timestamp,
        user_id=monitor,
    )


def publish_reports(
    settings: CollectorSettings, reports: Iterable[tuple[str, str, int, Mapping[str, Any]]]
) -> int:
    """Publish (test, monitor, timestamp, report) as amplet2 monitors do; return how many.

    Declares the collector's exchange and queue first, as amplet2-server's
    setup does, so nothing is lost when no collector runs yet.
    """
    exchange = Exchange(settings.exchange, type="direct", durable=True)
    queue = Queue(settings.queue, exchange=exchange, routing_key=settings.routing_key, durable=True)
    count = 0
    with settings.connection() as connection:
        channel = connection.channel()
        queue(channel).declare()
        for test, monitor, timestamp, report in reports:
            channel.basic_publish(
                amplet_message(test, monitor, timestamp, wire.encode(test, report)),
                exchange=settings.exchange,
                routing_key=settings.routing_key,
            )
            count += 1
    return count


def ping_stores(services: Services) -> None:
    """Raise `StoreUnavailable` unless the SQL database and the time-series store answer."""
    services.ping_sql()
    services.timeseries.ping()


def check(services: Services, settings: CollectorSettings) -> list[str]:
    """Reach the broker and every store; return the problems found (empty when all is well)."""
    problems = []
    try:
        with settings.connection() as connection:
            connection.ensure_connection(max_retries=1, timeout=10)
    except Exception as error:
        problems.append(f"broker {settings.amqp_url.split('@')[-1]}: {error}")
    try:
        ping_stores(services)
    except (NntscError, OSError) as error:
        problems.append(str(error))
    return problems
