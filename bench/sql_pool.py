"""What pinging every checkout costs the transactions of `Services.engine`.

`nntsc.config.make_engine` gives the transactional engine SQLAlchemy's
``pool_pre_ping`` (a round trip at every checkout), so that the first
transaction after a PostgreSQL restart runs on a new connection; the read
engine pings only a connection idle for `PING_AFTER_IDLE`. This measures a
short transaction (BEGIN, one indexed read of a site, COMMIT, through a
Session as the accounts and saved views are read) on an engine that pings at
every checkout against one that pings only idle connections (the engine's
behaviour before), calls alternating, and prints the medians and their ratio.

    .venv/bin/python bench/sql_pool.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bench.common import POSTGRES
from nntsc import config
from nntsc.config import make_engine
from nntsc.store.models import Site
from nntsc.store.schema import upgrade_sql


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    name = f"nntsc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    pinging = make_engine(url)
    assert pinging.pool._pre_ping
    # Before: the same engine without pool_pre_ping, pinging only idle connections.
    idle = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        executemany_mode="values_plus_batch",
        connect_args={"connect_timeout": 5},
    )
    config._ping_when_idle(idle)
    try:
        upgrade_sql(pinging)
        with pinging.begin() as connection:
            connection.execute(Site.__table__.insert(), [{"name": f"s{i}"} for i in range(100)])
        makers = {"every checkout": sessionmaker(pinging), "idle only": sessionmaker(idle)}
        samples: dict[str, list[float]] = {label: [] for label in makers}
        for i in range(args.calls + 100):
            for label, sessions in makers.items():
                started = time.perf_counter()
                with sessions.begin() as session:
                    session.get(Site, f"s{i % 100}")
                if i >= 100:  # the first calls warm up
                    samples[label].append(time.perf_counter() - started)
        medians = {label: statistics.median(values) * 1000 for label, values in samples.items()}
        for label, value in medians.items():
            print(f"transaction (get one site), ping {label:>14}: {value:.3f} ms median")
        every, only_idle = medians["every checkout"], medians["idle only"]
        print(
            f"ratio every checkout / idle only: {every / only_idle:.2f}"
            f" (+{every - only_idle:.3f} ms a transaction)"
        )
    finally:
        pinging.dispose()
        idle.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
