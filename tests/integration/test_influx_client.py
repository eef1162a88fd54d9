"""The thin InfluxDB v1 client (issue 14.8) against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from nntsc.store.influx_client import InfluxClient, InfluxClientError


@pytest.fixture(params=[False, True], ids=["plain", "gzip"])
def client(request, influx_url: str) -> Iterator[InfluxClient]:
    parts = urlsplit(influx_url)
    database = parts.path.strip("/")
    made = InfluxClient(parts.hostname or "", parts.port or 8086, gzip=request.param)
    made.query(f'CREATE DATABASE "{database}"')
    made.database = database
    yield made
    made.close()


def test_writes_and_reads_back_over_one_reused_connection(client: InfluxClient) -> None:
    assert client.ping()
    lines = [f'm,stream={n % 3} v={n}i,s="[{n},null]" {1_700_000_000 + n}' for n in range(500)]
    for start in range(0, 500, 100):
        client.write(lines[start : start + 100])
    points = client.points('SELECT count("v") FROM "m" GROUP BY "stream"')
    assert sorted((p["stream"], p["count"]) for p in points) == [("0", 167), ("1", 167), ("2", 166)]
    (last,) = client.points('SELECT "v", "s" FROM "m" ORDER BY time DESC LIMIT 1')
    assert (last["time"], last["v"], last["s"]) == (1_700_000_499, 499, "[499,null]")
    # Keep-alive: every request above went over one connection.
    pools = client.session.get_adapter(client.base_url).poolmanager.pools
    assert [pools[key].num_connections for key in list(pools.keys())] == [1]


def test_a_partial_write_is_a_client_error_naming_what_was_dropped(client: InfluxClient) -> None:
    with pytest.raises(InfluxClientError) as raised:
        client.write(["m v=1i 1700000000", "m v= garbage", "m v=2i 1700000060"])
    assert raised.value.status == 400
    assert "partial write" in raised.value.content
    assert "unable to parse" in raised.value.content
    assert len(client.points('SELECT "v" FROM "m"')) == 2


def test_a_bad_query_is_a_client_error_with_influxdbs_message(client: InfluxClient) -> None:
    with pytest.raises(InfluxClientError, match="error parsing query"):
        client.query("SELECT FROM WHERE")
    with pytest.raises(InfluxClientError, match="not found"):
        client.points('SELECT "v" FROM "nosuchdb"."autogen"."m"')


def test_an_unreachable_server_is_a_transport_error() -> None:
    client = InfluxClient("127.0.0.1", 9, timeout=2)
    with pytest.raises(requests.ConnectionError):
        client.ping()
    client.close()
