"""ampy fails fast, with a type, when a store is out of reach."""

from __future__ import annotations

import time

import pytest

from ampy import Ampy
from ampy.errors import StoreUnavailable, UnknownView
from nntsc.config import Services


def unreachable_ampy() -> Ampy:
    # Port 1 on loopback refuses connections at once: the database is "down".
    services = Services.from_settings(
        {
            "nntsc.sql_url": "postgresql+psycopg2://postgres@127.0.0.1:1/nntsc",
            "nntsc.timeseries_url": "sql",
        },
        environ={},
    )
    return Ampy(services, cache_url="null://")


@pytest.mark.parametrize(
    "call",
    [
        lambda ampy: ampy.options("amp-icmp"),
        lambda ampy: ampy.legend("aaaaaaaaaaaa"),
        lambda ampy: ampy.create_view("latency", []),
        lambda ampy: ampy.find_streams("amp-icmp"),
    ],
)
def test_sql_outage_raises_store_unavailable_after_one_retry(call) -> None:
    ampy = unreachable_ampy()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="SQL database is unavailable"):
        call(ampy)
    # One retry after a short pause, never an open-ended wait.
    assert time.monotonic() - started < 5
    ampy.close()


def test_a_malformed_view_id_is_unknown_without_touching_the_database() -> None:
    ampy = unreachable_ampy()
    with pytest.raises(UnknownView):
        ampy.legend("not a view id")
    ampy.close()


def test_history_refuses_too_many_bins_before_splitting_into_blocks() -> None:
    """A 1-second binsize over 30 days once became thousands of cached block queries."""
    from ampy.errors import BadQuery
    from ampy.history import _check_cost

    with pytest.raises(BadQuery, match="bins"):
        _check_cost(0, 30 * 86400, 1)
    with pytest.raises(BadQuery, match="days of raw rows"):
        _check_cost(0, 30 * 86400, 7 * 60)
    _check_cost(0, 30 * 86400, 300)
