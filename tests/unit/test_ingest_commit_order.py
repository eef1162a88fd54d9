"""Committed batches reach `on_commit` in the order they were submitted, whatever order they
commit in: the live feed's `previous` rows (nntsc.live.LiveBatch) are true of the store."""

from __future__ import annotations

import threading

from nntsc.collections import get as get_collection
from nntsc.ingest.pipeline import Ingestor
from tests.conftest import make_services

ICMP = get_collection("amp-icmp")


def report(rtt: int) -> dict:
    return {
        "header": {"packet_size": 84},
        "reports": [{"name": "t1", "address": "192.0.2.1", "rtt": rtt}],
    }


def test_a_batch_that_commits_first_is_heard_of_after_the_one_before_it(tmp_path) -> None:
    services = make_services(f"sqlite:///{tmp_path}/order.sqlite")
    heard: list[list[int]] = []
    store = services.timeseries
    write = store.write_prepared
    first_held = threading.Event()
    second_done = threading.Event()

    def held_write(prepared):
        # The first batch's write waits until the second batch has committed.
        if prepared.fresh[0].timestamp == 1_700_000_000:
            first_held.set()
            second_done.wait(30)
            return write(prepared)
        try:
            return write(prepared)
        finally:
            second_done.set()

    store.write_prepared = held_write  # type: ignore[method-assign]
    ingestor = Ingestor(
        services,
        batch_size=1,
        on_commit=lambda collection, rows: heard.append([r.timestamp for r in rows]),
    )
    try:
        ingestor.add(ICMP, report(1000), "mon-a", 1_700_000_000)
        assert first_held.wait(30)
        ingestor.add(ICMP, report(2000), "mon-a", 1_700_000_060)
        assert second_done.wait(30)
        ingestor.flush()
    finally:
        ingestor.close()
        services.close()
    assert heard == [[1_700_000_000], [1_700_000_060]]
