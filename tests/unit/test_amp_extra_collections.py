"""What amp-youtube, amp-fastping, amp-external and amp-sip make of amplet2 reports.

The reports are those of `tests.unit.test_wire.REPORTS` (built from our .proto
files), through the wire and back, plus the cases each module documents:
a test that could not run, one that ran and lost everything, malformed input.
"""

from __future__ import annotations

import copy

import pytest

from ampy.collections.amp_sip import COLLECTION, sip_site
from ampy.matrix import url_site
from nntsc import wire
from nntsc.collections import get
from nntsc.errors import BadReport
from tests.unit.test_wire import REPORTS

SOURCE = "amp-akl"
TIMESTAMP = 1_790_000_000


def parse(name: str, report: dict) -> list:
    test = name.removeprefix("amp-")
    decoded = wire.decode(test, wire.encode(test, report))
    return list(get(name).parse(decoded, SOURCE, TIMESTAMP))


def test_youtube_playback():
    [row] = parse("amp-youtube", REPORTS["youtube"])
    assert row.properties == {"source": SOURCE, "destination": "dQw4w9WgXcQ", "quality": "hd720"}
    assert row.values == {
        "total_time": 32_400,
        "pre_time": 1_350,
        "initial_buffering": 850,
        "playing_time": 29_000,
        "stall_time": 1_200,
        "stall_count": 2,
        "results": 1,
    }


def test_youtube_without_a_playback_is_not_tested_and_defaults_apply():
    [row] = parse("amp-youtube", {"header": {"video": "abc"}})
    assert row.properties["quality"] == "default"
    assert row.values["results"] == 0
    assert {v for k, v in row.values.items() if k != "results"} == {None}
    # Unset stalls are amplet2's default 0; an unset timing is null.
    [row] = parse("amp-youtube", {"header": {"video": "abc"}, "item": {"total_time": 5}})
    assert (row.values["stall_time"], row.values["stall_count"]) == (0, 0)
    assert row.values["pre_time"] is None


def test_fastping_stream():
    [row] = parse("amp-fastping", REPORTS["fastping"])
    assert row.properties == {
        "source": SOURCE,
        "destination": "fast.example.net",
        "family": "ipv4",
        "packet_size": "64",
        "packet_rate": "10",
        "packet_count": "60",
        "preprobe": "true",
    }
    percentiles = REPORTS["fastping"]["reports"][0]["rtt"]["percentiles"]
    assert row.values == {
        "median": 12_200.0,  # the 50th percentile, the ninth of 17
        "min": 11_800,
        "max": 21_000,
        "mean": 12_400,
        "loss": 2,
        "results": 60,
        "lossrate": 2 / 60,
        "percentiles": percentiles,
    }


def test_fastping_all_lost_differs_from_not_tested():
    report = copy.deepcopy(REPORTS["fastping"])
    report["reports"][0] = {"runtime": 6_000_000}
    [row] = parse("amp-fastping", report)
    assert (row.values["loss"], row.values["results"], row.values["lossrate"]) == (60, 60, 1.0)
    assert row.values["median"] is None
    report["reports"][0] = {}
    [row] = parse("amp-fastping", report)
    assert row.values["results"] == 0
    assert row.values["lossrate"] is None
    assert row.values["loss"] is None


def test_external_values_and_a_target_less_item():
    rows = parse("amp-external", REPORTS["external"])
    assert [(r.properties["destination"], r.values["value"]) for r in rows] == [
        ("www.example.org", 42),
        (SOURCE, -3),  # no target: the monitor itself, as the predecessor stored it
    ]
    assert {r.properties["command"] for r in rows} == {"count-users"}


def test_sip_call_is_two_rows_one_per_direction():
    rx, tx = parse("amp-sip", REPORTS["sip"])
    assert rx.properties == {
        "source": SOURCE,
        "destination": "sip:echo@voip.example.org",
        "proxy": "sip:proxy.example.org",
        "address": "192.0.2.50",
        "direction": "rx",
        "filename": "sip-test-8000.wav",
        "repeat": "true",
        "max_duration": "30",
        "dscp": "EF",
    }
    assert tx.properties == {**rx.properties, "direction": "tx"}
    shared = ("response_time", "connect_time", "duration", "rtt_mean", "rtt_min", "rtt_max")
    assert [rx.values[k] for k in shared] == [41_000, 180_000, 30_250_000, 41_000, 38_000, 52_000]
    assert all(rx.values[k] == tx.values[k] for k in (*shared, "rtt_sd"))
    assert (rx.values["packets"], rx.values["lost"], rx.values["results"]) == (1_490, 10, 1_500)
    assert rx.values["lossrate"] == 10 / 1_500
    assert (rx.values["mos"], tx.values["mos"]) == (4.31, 4.41)
    assert (rx.values["jitter_mean"], tx.values["jitter_mean"]) == (600, None)
    assert (tx.values["reordered"], tx.values["duplicated"], tx.values["lossrate"]) == (2, 1, 0.0)


def test_sip_direction_without_statistics_and_no_proxy():
    report = copy.deepcopy(REPORTS["sip"])
    report["header"]["proxy"] = []
    del report["reports"][0]["tx"]
    rx, tx = parse("amp-sip", report)
    assert rx.properties["proxy"] == tx.properties["proxy"] == "none"
    assert tx.values["results"] == 0
    assert tx.values["mos"] is None
    assert tx.values["packets"] is None
    assert tx.values["rtt_mean"] == rx.values["rtt_mean"]


@pytest.mark.parametrize(
    ("name", "report", "message"),
    [
        ("amp-youtube", {"header": {}}, "no video"),
        ("amp-youtube", {"header": {"video": "x"}, "item": {"total_time": 10**12}}, "outside"),
        ("amp-fastping", {"header": {"name": "x", "family": 2}, "reports": [{}, {}]}, "2 items"),
        (
            "amp-fastping",
            {
                "header": {"name": "x", "family": 2},
                "reports": [{"runtime": 1, "rtt": {"samples": 5, "percentiles": [9, 3]}}],
            },
            "not ascending",
        ),
        ("amp-fastping", {"header": {"name": "x"}, "reports": [{}]}, "neither a family"),
        ("amp-external", {"header": {"command": "c"}, "reports": [{"name": "x"}]}, "no value"),
        ("amp-external", {"header": {}, "reports": [{"value": 1}]}, "no command"),
        (
            "amp-external",
            {"header": {"command": "c"}, "reports": [{"value": 1}, {"value": 2}]},
            "two items",
        ),
        ("amp-sip", {"header": {"filename": "f"}, "reports": [{}]}, "no uri"),
        (
            "amp-sip",
            {
                "header": {"uri": "sip:x@y", "filename": "f"},
                "reports": [{"rx": {"mos": {"itu_mos": 7.5}}}],
            },
            "MOS",
        ),
    ],
)
def test_malformed_reports_are_refused_with_a_reason(name, report, message):
    test = name.removeprefix("amp-")
    decoded = wire.decode(test, wire.encode(test, report))
    with pytest.raises(BadReport, match=message):
        get(name).parse(decoded, SOURCE, TIMESTAMP)


@pytest.mark.parametrize(
    ("uri", "site"),
    [
        ("sip:echo@amp-akl", "amp-akl"),
        ("SIPS:echo@AMP-AKL:5061;transport=tls", "amp-akl"),
        ("sip:amp-wlg?subject=test", "amp-wlg"),
        ("sip:echo@[2001:db8::7]:5060", "2001:db8::7"),
        ("sip:echo@", None),
        ("https://amp-akl/", None),
        ("echo@amp-akl", None),
    ],
)
def test_a_sip_calls_column_is_the_site_its_uri_calls(uri: str, site: str | None) -> None:
    """The SIP collection declares how its destination names a site; the matrix only calls it."""
    assert sip_site(uri) == site
    (metric,) = COLLECTION.metrics
    assert metric.destination is sip_site
    assert url_site("https://amp-akl:8443/x") == "amp-akl"
