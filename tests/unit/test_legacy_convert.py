"""Rebuilding amplet2 reports from NNTSC rows (`nntsc.legacy.convert`): what the stores hide."""

from __future__ import annotations

import pytest

from nntsc.collections import get as get_collection
from nntsc.legacy.convert import (
    LegacyRowError,
    array,
    expand_aspath,
    legacy_collection,
    traceroute_report,
)

TRACE = {"stream_id": 7, "source": "m", "destination": "t", "family": "ipv4", "packet_size": "60"}


def test_array_reads_nntscs_python_text_and_refuses_anything_else() -> None:
    assert array("[1000, 1201, None]") == [1000, 1201, None]
    assert array("[]") == []
    assert array([5, None]) == [5, None]
    assert array(None) is None
    # Not the integers the fast path splits: JSON after None -> null.
    assert array("[1.5, None]") == [1.5, None]
    with pytest.raises(LegacyRowError, match="not a list of numbers"):
        array("[1, two]")
    with pytest.raises(LegacyRowError, match="not a list"):
        array("17")


def test_aspath_text_expands_to_one_asn_per_hop() -> None:
    assert expand_aspath(["2.64496", "1.-1", "1.64497"]) == [64496, 64496, -1, 64497]
    assert expand_aspath(None) is None
    with pytest.raises(LegacyRowError, match=r"count\.asn"):
        expand_aspath(["AS64496"])


def test_an_aspath_that_does_not_cover_the_hops_is_left_out() -> None:
    # Two hops, an AS path of three: no AS numbers rather than wrong ones.
    row = {"kind": "ip", "path": ["10.0.0.1", "10.0.0.2"], "hop_rtt": [1, 2],
           "aspath": ["3.64496"], "packet_size": 60}  # fmt: skip
    report = traceroute_report(TRACE, [row])
    assert report["header"]["asn"] is False
    assert all("asn" not in hop for hop in report["reports"][0]["path"])
    assert get_collection("amp-astraceroute").parse(report, "m", 1) == []


def test_hop_addresses_of_the_wrong_family_are_refused() -> None:
    row = {"kind": "ip", "path": ["2001:db8::1"], "hop_rtt": [1], "aspath": None}
    with pytest.raises(LegacyRowError, match="not ipv4"):
        traceroute_report(TRACE, [row])


def test_collections_are_found_by_either_name() -> None:
    assert legacy_collection("amp-icmp") is legacy_collection("amp_icmp")
    assert legacy_collection("amp-astraceroute").name == "amp_traceroute"
    with pytest.raises(LegacyRowError, match="importable: amp_icmp"):
        legacy_collection("rrd_smokeping")
