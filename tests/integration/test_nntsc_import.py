"""`nntsc import nntsc` from an NNTSC-shaped PostgreSQL + InfluxDB into PostgreSQL + InfluxDB.

The old deployment is built as NNTSC 2.x kept it (`tests/tools/nntsc_legacy.py`):
the importer must give the streams and the values our collector derives from
the reports NNTSC had stored, change nothing when run again, and resume
after an interruption without duplicates.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from nntsc.cli import main
from nntsc.collections import get as get_collection
from nntsc.config import Services
from nntsc.legacy.convert import LEGACY_COLLECTIONS, legacy_collection
from nntsc.legacy.importer import NntscImport
from nntsc.legacy.models import ImportCheckpoint
from nntsc.legacy.source import LegacySource
from tests.conftest import make_services
from tests.tools.nntsc_legacy import LegacyDeployment

T0 = 1_780_000_000
END = T0 + 86_400


@pytest.fixture
def legacy() -> Iterator[LegacyDeployment]:
    deployment = LegacyDeployment()
    try:
        yield deployment
    finally:
        deployment.drop()


@pytest.fixture
def services(postgres_url: str, influx_url: str) -> Iterator[Services]:
    built = make_services(postgres_url, influx_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def ini(tmp_path, postgres_url: str, influx_url: str) -> str:
    path = tmp_path / "import.ini"
    path.write_text(
        "[app:main]\n"
        f"nntsc.sql_url = {postgres_url}\n"
        f"nntsc.timeseries_url = {influx_url}\n"
        "nntsc.live_url = memory://\n"
    )
    return str(path)


def fill(legacy: LegacyDeployment) -> None:
    """A few streams per collection, with the cases NNTSC stored specially."""
    icmp = legacy.add_stream(
        "amp_icmp", source="mon-a", destination="www.example.org", family="ipv4", packet_size="84"
    )
    unresolved = legacy.add_stream(
        "amp_icmp", source="mon-a", destination="gone.example", family="ipv6", packet_size="84"
    )
    # Rows from before NNTSC kept ICMP in InfluxDB stay in a per-stream table.
    legacy.add_icmp_sql_rows(
        icmp,
        [(T0 - 86_400, {"median": 800, "packet_size": 84, "loss": 0, "results": 2,
                        "lossrate": 0.0, "rtts": [800, 810]})],
    )  # fmt: skip
    rand = legacy.add_stream(
        "amp_icmp",
        source="mon-b",
        destination="www.example.org",
        family="ipv4",
        packet_size="random",
    )
    legacy.add_points(
        "amp_icmp",
        [
            # NNTSC forced the median to an integer: 1100 for rtts 1000 and 1201.
            (icmp, T0, {"median": 1100, "packet_size": 84, "loss": 1, "results": 3,
                        "lossrate": 1 / 3, "rtts": [1000, 1201, None]}),
            (icmp, T0 + 60, {"median": 900, "packet_size": 84, "loss": 0, "results": 1,
                             "lossrate": 0.0, "rtts": [900]}),
            (unresolved, T0, {"packet_size": 84}),
            (rand, T0, {"median": 700, "packet_size": 312, "loss": 0, "results": 1,
                        "lossrate": 0.0, "rtts": [700]}),
        ],
    )  # fmt: skip
    tcp = legacy.add_stream(
        "amp_tcpping", source="mon-a", destination="web.example", port=443, family="ipv6",
        packet_size="64",
    )  # fmt: skip
    legacy.add_points(
        "amp_tcpping",
        [(tcp, T0, {"median": 500, "packet_size": 64, "loss": 1, "results": 3, "icmperrors": 1,
                    "lossrate": 1 / 3, "rtts": [500, None, None]})],
    )  # fmt: skip
    dns = legacy.add_stream(
        "amp_dns", source="mon-a", destination="ns1.example", instance="ns1.example",
        address="192.0.2.53", query="example.org", query_type="0x63", query_class="IN",
        udp_payload_size=4096, recurse=False, dnssec=True, nsid=False,
    )  # fmt: skip
    legacy.add_points(
        "amp_dns",
        [
            (dns, T0, {"rtt": 20500, "query_len": 40, "response_size": 120, "ttl": 300,
                       "total_answer": 1, "total_authority": 0, "total_additional": 1,
                       "opcode": 0, "rcode": 0, "flag_rd": False, "flag_tc": False,
                       "flag_aa": True, "flag_qr": True, "flag_cd": False, "flag_ad": False,
                       "flag_ra": False, "requests": 1, "lossrate": 0.0}),
            (dns, T0 + 600, {"query_len": 40, "requests": 1, "lossrate": 1.0}),
        ],
    )  # fmt: skip
    http = legacy.add_stream(
        "amp_http", source="mon-a", destination="https://www.example.org/", max_connections=24,
        max_connections_per_server=8, max_persistent_connections_per_server=2,
        pipelining_max_requests=4, persist=True, pipelining=False, caching=False,
    )  # fmt: skip
    legacy.add_points(
        "amp_http",
        [
            (http, T0, {"server_count": 2, "object_count": 5, "duration": 1500, "bytes": 20000}),
            (http, T0 + 600, {"server_count": 0, "object_count": 0}),
        ],
    )
    thr = legacy.add_stream(
        "amp_throughput", source="mon-a", destination="tput.example", direction="in",
        address="2001:db8::1", duration=10000, writesize=131072, tcpreused=False,
        protocol="default",
    )  # fmt: skip
    legacy.add_points(
        "amp_throughput",
        # NNTSC's rate: bytes per millisecond.
        [(thr, T0, {"bytes": 125_000_000, "runtime": 10000, "rate": 12500.0, "unused": True})],
    )
    udp = legacy.add_stream(
        "amp_udpstream", source="mon-a", destination="voip.example", address="192.0.2.9",
        direction="in", packet_size=100, packet_spacing=20000, packet_count=21, dscp="EF",
    )  # fmt: skip
    legacy.add_points(
        "amp_udpstream",
        [(udp, T0, {"mean_rtt": 30000, "mean_jitter": 150, "min_jitter": -900,
                    "max_jitter": 1200, "packets_sent": 21, "packets_recvd": 20,
                    "itu_mos": 4.3, "lossrate": 4.761904761904762,  # a percentage
                    **{f"jitter_percentile_{p}": p * 10 for p in range(10, 101, 10)}})],
    )  # fmt: skip
    trace = legacy.add_stream(
        "amp_traceroute", source="mon-a", destination="www.example.org", family="ipv4",
        packet_size="60",
    )  # fmt: skip
    # Two addresses of the name in one run: NNTSC kept two rows.
    for _ in range(2):
        legacy.add_traceroute(
            trace, T0, ["10.0.0.1", None, "192.0.2.80"], [1000, None, 3000],
            ["1.64496", "1.-1", "1.64497"],
        )  # fmt: skip
    legacy.add_traceroute(trace, T0 + 900, ["10.0.0.1", None, None], [1000, None, None])
    as_only = legacy.add_stream(
        "amp_traceroute", source="mon-b", destination="www.example.org", family="ipv4",
        packet_size="60",
    )  # fmt: skip
    legacy.add_astraceroute(as_only, T0, ["2.64496", "1.64497"])


def stored(services: Services) -> dict[str, dict[tuple[str, ...], list[tuple[int, dict]]]]:
    """Every stored row, per collection, by stream key."""
    found: dict[str, dict[tuple[str, ...], list[tuple[int, dict]]]] = {}
    for name in ("amp-icmp", "amp-tcpping", "amp-dns", "amp-http", "amp-throughput",
                 "amp-udpstream", "amp-traceroute", "amp-astraceroute"):  # fmt: skip
        collection = get_collection(name)
        streams = services.streams.find(collection, {}, pagesize=1000).items
        keys = {s.stream_id: collection.key_getter(s.properties) for s in streams}
        rows: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
        for row in services.timeseries.raw(collection, list(keys), 0, END + 86_400):
            rows.setdefault(keys[row.stream_id], []).append((row.timestamp, dict(row.values)))
        found[name] = rows
    return found


def parsed(name: str, report: dict[str, Any], source: str) -> dict[str, Any]:
    """What our collector makes of `report`: the values of its only row."""
    (row,) = get_collection(name).parse(report, source, T0)
    return dict(row.values)


def run_cli(ini: str, legacy: LegacyDeployment, *extra: str) -> Any:
    return CliRunner().invoke(
        main,
        ["import", "nntsc", "-c", ini, "--sql", legacy.sql_url, "--influx", legacy.influx_url,
         "--end", str(END), *extra],
    )  # fmt: skip


def test_import_gives_our_collectors_values_and_again_changes_nothing(
    legacy: LegacyDeployment, services: Services, ini: str
) -> None:
    fill(legacy)
    result = run_cli(ini, legacy)
    assert result.exit_code == 0, result.output
    assert "0 rejected" in result.output
    assert "rrd_smokeping: not importable yet" in result.output
    rows = stored(services)

    icmp = rows["amp-icmp"]
    (older, first, second) = icmp[("mon-a", "www.example.org", "ipv4", "84")]
    assert older == (T0 - 86_400, parsed("amp-icmp", {"reports": [
        {"name": "www.example.org", "family": socket.AF_INET, "address": b"\1\2\3\4", "rtt": r}
        for r in (810, 800)
    ]}, "mon-a"))  # fmt: skip
    assert first[0] == T0
    # The values our collector derives from the report NNTSC had stored.
    report = {
        "header": {"packet_size": 84},
        "reports": [
            {"name": "www.example.org", "family": socket.AF_INET, "address": b"\xc0\x00\x02\x01",
             "rtt": 1201},
            {"name": "www.example.org", "family": socket.AF_INET, "address": b"\xc0\x00\x02\x01",
             "rtt": 1000},
            {"name": "www.example.org", "family": socket.AF_INET, "address": b"\xc0\x00\x02\x01"},
        ],
    }  # fmt: skip
    assert first[1] == parsed("amp-icmp", report, "mon-a")
    assert first[1]["median"] == 1100.5
    assert first[1]["lossrate"] == pytest.approx(1 / 3)
    assert second[1]["rtts"] == [900]
    (could_not,) = icmp[("mon-a", "gone.example", "ipv6", "84")]
    assert could_not[1]["results"] == 0
    assert could_not[1]["lossrate"] is None
    assert ("mon-b", "www.example.org", "ipv4", "random") in icmp

    ((_, tcp),) = rows["amp-tcpping"][("mon-a", "web.example", "443", "ipv6", "64")]
    assert (tcp["loss"], tcp["icmperrors"], tcp["results"], tcp["median"]) == (1, 1, 3, 500.0)

    dns = rows["amp-dns"][
        ("mon-a", "ns1.example", "ns1.example", "192.0.2.53", "example.org", "TYPE99", "IN",
         "4096", "false", "true", "false")
    ]  # fmt: skip
    assert dns[0][1]["rtt"] == 20500
    assert dns[0][1]["flag_aa"] == 1
    assert dns[0][1]["lossrate"] == 0
    assert dns[1][1]["lossrate"] == 1.0
    assert dns[1][1]["rtt"] is None

    http = rows["amp-http"][
        ("mon-a", "https://www.example.org/", "24", "8", "2", "4", "true", "false", "false")
    ]
    assert http[0][1] == {"server_count": 2, "object_count": 5, "failed_object_count": 0,
                          "duration": 1500, "bytes": 20000}  # fmt: skip
    assert http[1][1]["duration"] is None
    assert http[1][1]["server_count"] == 0

    ((_, thr),) = rows["amp-throughput"][
        ("mon-a", "tput.example", "in", "2001:db8::1", "10000", "131072", "false", "default")
    ]
    assert thr["rate"] == pytest.approx(1e8)  # bit/s, not NNTSC's bytes per ms

    ((_, udp),) = rows["amp-udpstream"][
        ("mon-a", "voip.example", "192.0.2.9", "in", "100", "20000", "21", "EF")
    ]
    assert udp["loss"] == pytest.approx(1 / 21)  # a ratio, not NNTSC's percentage
    assert udp["jitter_percentile_50"] == 500
    assert udp["itu_mos"] == 4.3

    trace = rows["amp-traceroute"][("mon-a", "www.example.org", "ipv4", "60")]
    assert [t for t, _ in trace] == [T0, T0 + 900]  # two rows of one run made one
    assert trace[0][1]["path_length"] == 3.0
    assert trace[0][1]["hop_rtts"] == [1000, None, 3000]
    assert trace[1][1]["path_length"] == 1.5
    hops = services.paths.ip_path(trace[0][1]["ip_path_id"])
    assert "192.0.2.80" in str(hops)
    aspath = rows["amp-astraceroute"][("mon-a", "www.example.org", "ipv4", "60")]
    assert aspath[0][1]["as_path_length"] == 2.0
    ((_, as_only),) = rows["amp-astraceroute"][("mon-b", "www.example.org", "ipv4", "60")]
    assert as_only["hop_count"] == 3
    assert as_only["as_path_length"] == 2.0

    again = run_cli(ini, legacy)
    assert again.exit_code == 0, again.output
    assert "0 rows read" in again.output
    assert stored(services) == rows


def test_youtube_fastping_external_and_sip_import(
    legacy: LegacyDeployment, services: Services
) -> None:
    video = legacy.add_stream("amp_youtube", source="mon-a", destination="dQw4w9WgXcQ", quality=5)
    legacy.add_points(
        "amp_youtube",
        [
            (video, T0, {"total_time": 9000, "pre_time": 700, "initial_buffering": 300,
                         "playing_time": 8000, "stall_time": 0, "stall_count": 0}),
            (video, T0 + 600, {"stall_count": 0}),  # the video did not play
        ],
    )  # fmt: skip
    fast = legacy.add_stream(
        "amp_fastping", source="mon-a", destination="fast.example", family="ipv6",
        packet_size=64, packet_rate=10, packet_count=100, preprobe=False,
    )  # fmt: skip
    percentiles = [900, 910, 920, 950, 960, 980, 990, 995, 1000, 1010, 1020, 1050, 1100, 1200,
                   1400, 1600, 2000]  # fmt: skip
    legacy.add_points(
        "amp_fastping",
        [
            (fast, T0, {"median": 1000, "percentiles": percentiles, "lossrate": 0.02}),
            (fast, T0 + 600, {"median": None, "percentiles": [], "lossrate": 1.0}),
        ],
    )
    external = legacy.add_stream(
        "amp_external", source="mon-a", destination="mon-a", command="count-users"
    )
    legacy.add_points("amp_external", [(external, T0, {"value": 42})])
    call = {"source": "mon-a", "destination": "sip:echo@voip.example", "proxy": "",
            "address": "192.0.2.7", "filename": "speech.wav", "repeat": False,
            "max_duration": 30, "dscp": "EF"}  # fmt: skip
    rx = legacy.add_stream("amp_sip", direction="rx", **call)
    tx = legacy.add_stream("amp_sip", direction="tx", **call)
    shared = {"response_time": 20000, "connect_time": 60000, "duration": 30_000_000,
              "rtt_mean": 25000, "rtt_min": 20000, "rtt_max": 40000, "rtt_sd": 3000,
              "unused": True}  # fmt: skip
    legacy.add_points(
        "amp_sip",
        [
            (rx, T0, {**shared, "packets": 1490, "bytes": 256000, "lost": 10, "discarded": 0,
                      "reordered": 1, "duplicated": 0, "mos": 4.2}),
            (tx, T0, {**shared, "packets": 1500, "bytes": 258000, "lost": 0, "discarded": 0,
                      "reordered": 0, "duplicated": 0, "mos": 4.4}),
        ],
    )  # fmt: skip
    source = LegacySource(legacy.sql_url, legacy.influx_url)
    try:
        chosen = [legacy_collection(n) for n in ("amp_youtube", "amp-fastping", "amp_external",
                                                 "amp-sip")]  # fmt: skip
        summary = NntscImport(services, source, 0, END).run(chosen)
    finally:
        source.close()
    assert summary.rejected == 0, summary.reasons
    assert not summary.unsupported

    def rows_of(name: str) -> dict[tuple[str, ...], list[tuple[int, dict]]]:
        collection = get_collection(name)
        streams = services.streams.find(collection, {}, pagesize=100).items
        keys = {s.stream_id: collection.key_getter(s.properties) for s in streams}
        found: dict[tuple[str, ...], list[tuple[int, dict]]] = {}
        for row in services.timeseries.raw(collection, list(keys), 0, END):
            found.setdefault(keys[row.stream_id], []).append((row.timestamp, dict(row.values)))
        return found

    played, failed = rows_of("amp-youtube")[("mon-a", "dQw4w9WgXcQ", "hd720")]
    assert played[1]["total_time"] == 9000
    assert played[1]["results"] == 1
    assert failed[1]["results"] == 0
    assert failed[1]["total_time"] is None

    ran, lost = rows_of("amp-fastping")[("mon-a", "fast.example", "ipv6", "64", "10", "100",
                                         "false")]  # fmt: skip
    assert ran[1]["median"] == 1000.0
    assert (ran[1]["loss"], ran[1]["results"], ran[1]["min"], ran[1]["max"]) == (2, 100, 900, 2000)
    assert ran[1]["percentiles"] == percentiles
    assert lost[1]["lossrate"] == 1.0
    assert lost[1]["median"] is None

    assert rows_of("amp-external")[("mon-a", "mon-a", "count-users")] == [(T0, {"value": 42})]

    sip = rows_of("amp-sip")
    key = ("mon-a", "sip:echo@voip.example", "none", "192.0.2.7")
    tail = ("speech.wav", "false", "30", "EF")
    ((_, received),) = sip[(*key, "rx", *tail)]
    ((_, sent),) = sip[(*key, "tx", *tail)]
    # Each direction keeps its own counts; neither import blanked the other.
    assert (received["packets"], received["lost"], received["mos"]) == (1490, 10, 4.2)
    assert received["lossrate"] == pytest.approx(10 / 1500)
    assert (sent["packets"], sent["mos"], sent["rtt_mean"]) == (1500, 4.4, 25000)


def test_interrupted_import_resumes_without_duplicates(
    legacy: LegacyDeployment, services: Services
) -> None:
    streams = [
        legacy.add_stream("amp_icmp", source=f"m{n}", destination="t", family="ipv4",
                          packet_size="84")
        for n in range(3)
    ]  # fmt: skip
    points = [
        (sid, T0 + 300 * k, {"median": 1000 + k, "packet_size": 84, "loss": 0, "results": 1,
                             "lossrate": 0.0, "rtts": [1000 + k]})
        for sid in streams
        for k in range(48)
    ]  # fmt: skip
    total = legacy.add_points("amp_icmp", points)
    icmp = legacy_collection("amp-icmp")
    chunks = 0

    def interrupt(_: float) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:
            raise KeyboardInterrupt

    source = LegacySource(legacy.sql_url, legacy.influx_url)
    try:
        # 4 h chunks of a 4 h span: interrupted after the first chunk of a 1 h chunking.
        run = NntscImport(services, source, 0, END, interrupt, chunk_seconds=3600, batch_size=10)
        with pytest.raises(KeyboardInterrupt):
            run.run([icmp])
        collection = get_collection("amp-icmp")
        ids = [s.stream_id for s in services.streams.find(collection, {}, pagesize=10).items]
        partial = services.timeseries.raw(collection, ids, 0, END)
        assert 0 < len(partial) < total
        with services.sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(ImportCheckpoint)) == 3

        resumed = NntscImport(services, source, 0, END, chunk_seconds=3600).run([icmp])
        assert resumed.rows_read <= total - len(partial) + 3 * 12
        rows = services.timeseries.raw(collection, ids, 0, END)
        assert len(rows) == total
        assert len({(r.stream_id, r.timestamp) for r in rows}) == total
        assert NntscImport(services, source, 0, END).run([icmp]).rows_read == 0
    finally:
        source.close()


def test_unreachable_or_foreign_sources_are_clear_errors(
    legacy: LegacyDeployment, ini: str, postgres_url: str
) -> None:
    runner = CliRunner()
    base = ["import", "nntsc", "-c", ini]
    refused = runner.invoke(main, [*base, "--sql", "postgresql://nobody@127.0.0.1:9/nntsc"])
    assert refused.exit_code != 0
    assert "NNTSC PostgreSQL unreachable" in str(refused.exception)
    foreign = runner.invoke(main, [*base, "--sql", postgres_url])
    assert "no NNTSC collections table" in str(foreign.exception)
    no_db = runner.invoke(
        main, [*base, "--sql", legacy.sql_url, "--influx", legacy.influx_url + "_missing"]
    )
    assert "has no database" in str(no_db.exception)
    without_influx = runner.invoke(main, [*base, "--sql", legacy.sql_url])
    assert "give --influx" in str(without_influx.exception)
    unknown = runner.invoke(main, [*base, "--sql", legacy.sql_url, "--collection", "amp-bogus"])
    assert unknown.exit_code == 2
    assert "importable: " + ", ".join(LEGACY_COLLECTIONS) in (unknown.output)
