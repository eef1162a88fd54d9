"""The web app's Prometheus metrics: requests, their latency, the cache and the rollup backlog.

- ``nntsc_web_requests_total{route, method, status}``: answered requests, by
  route name (``unmatched`` when no route matched, so that made-up URLs
  cannot grow the label set);
- ``nntsc_web_request_seconds{route}``: time to answer, a histogram;
- ``ampy_cache_hits_total{kind}``, ``ampy_cache_misses_total{kind}``
  (`ampy.cache`): whole answers and blocks of history;
- ``nntsc_rollup_backlog_marks`` and ``nntsc_rollup_backlog_age_seconds``:
  rollup marks due and waiting for the rollup pass, and how long ago the
  oldest one's hour (or day) closed; read from SQL at each scrape;
- ``nntsc_rows_expired_total{collection, kind}``: rows deleted for being older
  than the raw or rollup retention, whichever process deleted them (a Celery
  worker, a thread of this app); read from SQL at each scrape
  (`nntsc.store.retention.ExpiredRowsCollector`);
- ``nntsc_notification_deliveries_total{channel_kind, outcome}``,
  ``nntsc_notification_queue_messages`` and
  ``nntsc_notification_queue_age_seconds``: notifications sent, failed,
  given up and deferred, and the messages waiting; read from SQL at each
  scrape (`nntsc.notifications.metrics`);
- ``nntsc_events_total{kind, detector}`` and ``nntsc_event_groups{status}``:
  events stored and event groups open, closed and merged; one query per
  scrape (`nntsc.events.metrics`).

Under gunicorn every worker is a process of its own: with
``PROMETHEUS_MULTIPROC_DIR`` set (deploy/gunicorn.conf.py sets it) counters
and histograms are kept in files there and a scrape answered by any worker
sums them over all workers, dead ones included until gunicorn reaps them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import EXCVIEW

from nntsc.events.metrics import EventCollector
from nntsc.notifications.metrics import NotificationCollector
from nntsc.store.retention import ExpiredRowsCollector

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "nntsc_web_requests", "Requests answered by the web app", ["route", "method", "status"]
)
LATENCY = Histogram(
    "nntsc_web_request_seconds",
    "Seconds the web app took to answer a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
#: Methods counted by name; anything else is counted as ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})

Handler = Callable[[Request], Response]


def request_metrics_tween_factory(handler: Handler, registry: Registry) -> Handler:
    """Count and time every request, with the status it was finally answered with."""

    # The counter and histogram of each (route, method, status) seen, looked up once: the
    # labels are bounded (routes, methods, statuses), and `labels` checks and locks each call.
    series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def measure(request: Request) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = handler(request)
            status = response.status_code
            return response
        finally:
            route = request.matched_route.name if request.matched_route else "unmatched"
            method = request.method if request.method in METHODS else "other"
            key = (route, method, status)
            found = series.get(key)
            if found is None:
                found = series[key] = (
                    REQUESTS.labels(route, method, str(status)),
                    LATENCY.labels(route),
                )
            found[0].inc()
            found[1].observe(time.perf_counter() - started)

    return measure


class RollupBacklog(Collector):
    """The rollup marks waiting, read from the SQL store when scraped."""

    def __init__(self, timeseries_backlog: Callable[[], tuple[int, float | None]]) -> None:
        self.backlog = timeseries_backlog

    def collect(self) -> Iterator[Metric]:
        try:
            marks, age = self.backlog()
        except Exception as error:
            # A scrape during a database outage still answers the other metrics;
            # the missing gauges are the sign (and /healthz says why).
            log.warning("rollup backlog unavailable for /metrics: %s", error)
            return
        yield GaugeMetricFamily(
            "nntsc_rollup_backlog_marks",
            "Rollup marks (hours, days of a stream) due and waiting for the rollup pass",
            value=marks,
        )
        yield GaugeMetricFamily(
            "nntsc_rollup_backlog_age_seconds",
            "Seconds since the oldest waiting rollup mark's bin closed (0 when none waits)",
            value=age or 0.0,
        )


def exposition(app_registry: CollectorRegistry) -> bytes:
    """The text a scrape gets: the process's (or every worker's) metrics, then the app's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        shared = generate_latest(workers)
    else:
        shared = generate_latest(REGISTRY)
    return shared + generate_latest(app_registry)


def includeme(config: Configurator) -> None:
    # Over the exception view tween: errors are counted with the status they answer.
    config.add_tween("ampweb.metrics.request_metrics_tween_factory", over=EXCVIEW)
    # Gauges read at scrape time belong to this app (not the process-wide
    # registry), so that several apps in one process (tests) do not collide.
    app_registry = CollectorRegistry()
    services = config.registry["ampy"].services
    # Looked up at scrape time: the store is built on first use, not at startup.
    app_registry.register(RollupBacklog(lambda: services.timeseries.rollup_backlog()))
    app_registry.register(ExpiredRowsCollector(services.engine))
    app_registry.register(NotificationCollector(services.engine))
    app_registry.register(EventCollector(services.read_engine))
    config.registry["metrics_registry"] = app_registry
