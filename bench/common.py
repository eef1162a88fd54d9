"""Shared set-up for the benchmarks: throwaway PostgreSQL and InfluxDB databases."""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from sqlalchemy import create_engine, text

from nntsc.config import Services
from nntsc.store.schema import upgrade_all

POSTGRES = os.environ.get(
    "NNTSC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1/postgres"
)
INFLUX = os.environ.get("NNTSC_TEST_INFLUX", "127.0.0.1:8086")


@contextmanager
def bench_services(**settings: str) -> Iterator[Services]:
    """Services on a new PostgreSQL database and a new InfluxDB database, dropped afterwards."""
    name = f"nntsc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    services = Services.from_settings(
        {
            "nntsc.sql_url": POSTGRES.rsplit("/", 1)[0] + f"/{name}",
            "nntsc.timeseries_url": f"influxdb://{INFLUX}/{name}",
            **settings,
        },
        environ={},
    )
    try:
        upgrade_all(services)
        yield services
    finally:
        services.close()
        requests.post(f"http://{INFLUX}/query", data={"q": f'DROP DATABASE "{name}"'}, timeout=60)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(function: Callable[[], object], repeat: int = 7) -> float:
    """Median wall-clock seconds of `repeat` calls (after one warm-up call)."""
    function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
