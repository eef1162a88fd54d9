"""AMP HTTP report parsing.

Reports are dicts shaped as `nntsc.wire.decode` returns them: only set fields
present, repeated fields as lists, packed addresses as bytes. Expected rows
are worked out by hand from the derivation rules in the collection module's
docstring; tests/unit/amp_reports.py has the helpers the AMP collections' tests share.
"""

from __future__ import annotations

import pytest

from nntsc.collections.amp_http import MAX_URL_LENGTH, AmpHttp
from nntsc.errors import BadReport
from tests.unit.amp_reports import SOURCE, parse


def obj(code, path="/"):
    return {"path": path, "code": code, "size": 100, "lookup": 0.01, "total_time": 0.1}


def http_report(servers, **header):
    head = {
        "url": "https://www.example.com/index.html",
        "duration": 842,
        "total_bytes": 153_421,
        "total_objects": 4,
        "max_connections": 24,
        "max_connections_per_server": 4,
        "pipelining_maxrequests": 6,
        "max_persistent_connections_per_server": 3,
        "persist": True,
        "pipelining": False,
        "caching": False,
        "dscp": 0,
        "useragent": "AMP HTTP test agent",
    }
    head.update(header)
    return {"header": {k: v for k, v in head.items() if v is not None}, "servers": servers}


REALISTIC_SERVERS = [
    {
        "hostname": "www.example.com",
        "address": "192.0.2.80",
        "total_bytes": 150_000,
        "objects": [obj(200), obj(200, "/a.css"), obj(304, "/b.js")],
    },
    {"hostname": "cdn.example.net", "address": "198.51.100.8", "objects": [obj(0, "/c.png")]},
]


def test_http_realistic_report():
    (row,) = parse(AmpHttp(), http_report(REALISTIC_SERVERS))
    assert row.properties == {
        "source": SOURCE,
        "destination": "https://www.example.com/index.html",
        "max_connections": "24",
        "max_connections_per_server": "4",
        "max_persistent_connections_per_server": "3",
        "pipelining_max_requests": "6",
        "persist": "true",
        "pipelining": "false",
        "caching": "false",
    }
    assert row.values == {
        "server_count": 2,
        "object_count": 4,
        "failed_object_count": 1,
        "duration": 842,
        "bytes": 153_421,
    }


def test_http_defaults_when_options_unset():
    (row,) = parse(
        AmpHttp(), {"header": {"url": "http://x.example/"}, "servers": [{"objects": [obj(200)]}]}
    )
    assert row.properties == {
        "source": SOURCE,
        "destination": "http://x.example/",
        "max_connections": "24",
        "max_connections_per_server": "8",
        "max_persistent_connections_per_server": "2",
        "pipelining_max_requests": "4",
        "persist": "true",
        "pipelining": "false",
        "caching": "false",
    }
    # No duration, size or object total in the header: nulls and the listed count.
    assert row.values == {
        "server_count": 1,
        "object_count": 1,
        "failed_object_count": 0,
        "duration": None,
        "bytes": None,
    }


def test_http_every_object_failed_has_no_duration_or_size():
    report = http_report(
        [{"hostname": "www.example.com", "objects": [obj(0)]}],
        duration=3012,
        total_bytes=0,
        total_objects=1,
    )
    (row,) = parse(AmpHttp(), report)
    assert row.values == {
        "server_count": 1,
        "object_count": 1,
        "failed_object_count": 1,
        "duration": None,
        "bytes": None,
    }


def test_http_no_servers():
    (row,) = parse(AmpHttp(), http_report([], duration=5, total_bytes=0, total_objects=0))
    assert row.values == {
        "server_count": 0,
        "object_count": 0,
        "failed_object_count": 0,
        "duration": None,
        "bytes": None,
    }
    (row,) = parse(AmpHttp(), {"header": {"url": "http://x.example/"}})
    assert row.values["server_count"] == 0


def test_http_fetched_page_keeps_zero_values():
    report = http_report([{"objects": [obj(204)]}], duration=0, total_bytes=0, total_objects=1)
    (row,) = parse(AmpHttp(), report)
    assert (row.values["duration"], row.values["bytes"]) == (0, 0)


def test_http_long_url_accepted_up_to_limit():
    url = "https://example.com/" + "a" * (MAX_URL_LENGTH - 20)
    (row,) = parse(AmpHttp(), http_report(REALISTIC_SERVERS, url=url))
    assert row.properties["destination"] == url


@pytest.mark.parametrize(
    "report",
    [
        {"servers": []},
        http_report(REALISTIC_SERVERS, url=""),
        http_report(REALISTIC_SERVERS, url="https://example.com/" + "a" * MAX_URL_LENGTH),
        http_report("servers"),
        http_report(["server"]),
        http_report([{"objects": "x"}]),
        http_report([{"objects": [obj(1000)]}]),
        http_report([{"objects": [obj(-1)]}]),
        http_report(REALISTIC_SERVERS, duration=-1),
        http_report(REALISTIC_SERVERS, duration=86_400_001),
        http_report(REALISTIC_SERVERS, total_bytes=1.5),
        http_report(REALISTIC_SERVERS, max_connections="24"),
        http_report(REALISTIC_SERVERS, persist=1),
        http_report(REALISTIC_SERVERS, pipelining_maxrequests=-4),
    ],
    ids=lambda report: repr(report)[:70],
)
def test_http_malformed(report):
    with pytest.raises(BadReport):
        parse(AmpHttp(), report)


# -- through the protobuf codec ------------------------------------------------------


def test_report_decoded_from_protobuf():
    """A report that went through the wire codec parses as the hand-made dict does."""
    report = http_report(REALISTIC_SERVERS)
    wire = pytest.importorskip("nntsc.wire")
    decoded = wire.decode("http", wire.encode("http", report))
    assert parse(AmpHttp(), decoded) == parse(AmpHttp(), report)
