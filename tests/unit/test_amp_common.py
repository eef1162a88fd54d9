"""What the AMP TCPping, DNS, HTTP, throughput and UDPstream collections share: their
declarations side by side, the address and DSCP helpers of amp_common, and the
source and timestamp checks every parse makes. Each collection's own parsing is
tested in tests/unit/test_amp_<test>.py.
"""

from __future__ import annotations

import pytest

from nntsc.collections.amp_common import address_text, dscp_name
from nntsc.collections.amp_dns import AmpDns
from nntsc.collections.amp_http import AmpHttp
from nntsc.collections.amp_tcpping import AmpTcpping
from nntsc.collections.amp_throughput import AmpThroughput
from nntsc.collections.amp_udpstream import AmpUdpstream
from nntsc.errors import BadReport
from nntsc.store.models import QUANTILE_POINTS, rollup_columns
from tests.unit.amp_reports import ANY_V4, SOURCE, TIMESTAMP, V4, V6, ip

COLLECTIONS = [AmpTcpping(), AmpDns(), AmpHttp(), AmpThroughput(), AmpUdpstream()]


# -- declarations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "name", "view_style", "amp_test"),
    [
        (COLLECTIONS[0], "amp-tcpping", "latency", "tcpping"),
        (COLLECTIONS[1], "amp-dns", "latency", "dns"),
        (COLLECTIONS[2], "amp-http", "http", "http"),
        (COLLECTIONS[3], "amp-throughput", "throughput", "throughput"),
        (COLLECTIONS[4], "amp-udpstream", "jitter", "udpstream"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_declaration(collection, name, view_style, amp_test):
    assert collection.name == name
    assert collection.view_style == view_style
    assert collection.amp_test == amp_test
    assert collection.description
    assert collection.property_names[:2] == ("source", "destination")
    assert len(set(collection.property_names)) == len(collection.property_names)
    assert len(set(collection.field_names)) == len(collection.field_names)
    assert collection.presence_field in collection.field_names
    assert all(fld.kind in ("int", "float", "array") for fld in collection.fields)
    columns = rollup_columns(collection)
    assert len(columns) == len(set(columns))
    for fld in collection.fields:
        assert f"{fld.name}_count" in columns
        assert (f"{fld.name}_p{QUANTILE_POINTS[-1]}" in columns) == fld.quantiles


def test_declared_fields_and_properties():
    tcpping, dns, http, throughput, udpstream = COLLECTIONS
    assert tcpping.property_names == ("source", "destination", "port", "family", "packet_size")
    assert tcpping.field_names == (
        "median",
        "min",
        "max",
        "loss",
        "icmperrors",
        "results",
        "lossrate",
        "rtts",
    )
    assert dns.property_names == (
        "source",
        "destination",
        "instance",
        "address",
        "query",
        "query_type",
        "query_class",
        "udp_payload_size",
        "recurse",
        "dnssec",
        "nsid",
    )
    assert http.property_names == (
        "source",
        "destination",
        "max_connections",
        "max_connections_per_server",
        "max_persistent_connections_per_server",
        "pipelining_max_requests",
        "persist",
        "pipelining",
        "caching",
    )
    assert throughput.property_names == (
        "source",
        "destination",
        "direction",
        "address",
        "duration",
        "writesize",
        "tcpreused",
        "protocol",
    )
    assert throughput.field_names == ("bytes", "runtime", "rate", "packets")
    assert udpstream.property_names == (
        "source",
        "destination",
        "address",
        "direction",
        "packet_size",
        "packet_spacing",
        "packet_count",
        "dscp",
    )
    quantiles = {c.name: [f.name for f in c.fields if f.quantiles] for c in COLLECTIONS}
    assert quantiles == {
        "amp-tcpping": ["rtts"],
        "amp-dns": ["rtt"],
        "amp-http": ["duration"],
        "amp-throughput": [],
        "amp-udpstream": ["mean_rtt", "mean_jitter"],
    }
    assert throughput.field("rate").unit == "bit/s"
    assert dns.field("rtt").unit == "us"
    assert http.field("duration").unit == "ms"


# -- shared helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "family", "expected"),
    [
        (ip("192.0.2.1"), V4, "192.0.2.1"),
        (ip("2001:db8::1"), V6, "2001:db8::1"),
        (ip("2001:db8::1"), None, "2001:db8::1"),
        ("2001:0db8:0:0::1", V6, "2001:db8::1"),
        (None, V4, ANY_V4),
        (None, V6, "::"),
        (b"", V6, "::"),
    ],
)
def test_address_text(address, family, expected):
    assert address_text(address, family, "item") == expected


@pytest.mark.parametrize(
    ("address", "family"),
    [(None, None), (b"\x01\x02\x03", None), (ip("192.0.2.1"), V6), ("nope", V4), (None, 99)],
)
def test_address_text_rejects(address, family):
    with pytest.raises(BadReport):
        address_text(address, family, "item")


@pytest.mark.parametrize(
    ("value", "name"),
    [(0, "Default"), (46, "EF"), (10, "AF11"), (8, "CS1"), (44, "VA"), (5, "0x05")],
)
def test_dscp_name(value, name):
    assert dscp_name(value) == name


@pytest.mark.parametrize("collection", COLLECTIONS, ids=lambda c: c.name)
@pytest.mark.parametrize(
    ("source", "timestamp"),
    [("", TIMESTAMP), (None, TIMESTAMP), (SOURCE, 0), (SOURCE, True), (SOURCE, 1.5)],
)
def test_bad_source_or_timestamp(collection, source, timestamp):
    with pytest.raises(BadReport):
        collection.parse({"reports": []}, source, timestamp)
