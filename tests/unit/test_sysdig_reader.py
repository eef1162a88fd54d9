"""The sysdig reader: text, absolute-time and JSON formats, gzip, stdin, malformed lines."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
from pathlib import Path

import pytest

from nntsc.sysdig import BadSysdigLog
from nntsc.sysdig.calls import pair_calls, target
from nntsc.sysdig.reader import EventReader, SysdigLog, local_midnight, read_events
from tests.tools.sysdig_fixtures import DATE, HANDCOUNT, TRACES, write_sysdig_log

MIDNIGHT = local_midnight(DATE)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sysdig")


def test_text_line_fields() -> None:
    line = (
        "14 17:41:13.628614233 1 ls (2806) < openat fd=3(<f>/etc/ld.so.cache) "
        "dirfd=-100(AT_FDCWD) name=/etc/ld.so.cache flags=4097(O_RDONLY|O_CLOEXEC) mode=0 dev=801\n"
    )
    (event,) = EventReader([line], DATE)
    assert event.number == 14
    assert event.time == pytest.approx(MIDNIGHT + 17 * 3600 + 41 * 60 + 13.628614233)
    assert (event.cpu, event.process, event.tid) == (1, "ls", 2806)
    assert (event.direction, event.type) == ("<", "openat")
    assert event.info.startswith("fd=3(<f>/etc/ld.so.cache) dirfd=")
    assert event.info.endswith("dev=801")


def test_the_three_formats_give_the_same_events(logs: Path) -> None:
    for name in TRACES:
        text, absolute, as_json = (
            list(read_events(str(write_sysdig_log(logs, name, output)), DATE))
            for output in ("text", "absolute", "json")
        )
        assert len(text) > 100
        for other in (absolute, as_json):
            # Epoch seconds as a float: the formats agree to well under a microsecond.
            assert [e._replace(line=0, time=0) for e in text] == [
                e._replace(line=0, time=0) for e in other
            ]
            assert [e.time for e in text] == pytest.approx([e.time for e in other], abs=1e-6)


def test_json_lines_without_an_array() -> None:
    record = {
        "evt.cpu": 0,
        "evt.dir": "<",
        "evt.info": "res=12 data=hello world. ",
        "evt.num": 34385,
        "evt.outputtime": 1_790_000_000_123_456_789,
        "evt.type": "write",
        "proc.name": "echo",
        "thread.tid": 7896,
    }
    lines = [json.dumps(record), json.dumps({**record, "evt.num": 34386}), "{not json"]
    reader = EventReader(lines, DATE)
    events = list(reader)
    assert [e.number for e in events] == [34385, 34386]
    assert events[0].time == pytest.approx(1_790_000_000.123456789)
    assert events[0].info == "res=12 data=hello world."
    assert (reader.stats.events, reader.stats.rejected, reader.stats.rejected_lines) == (2, 1, [3])


def test_malformed_lines_are_counted_with_their_numbers() -> None:
    reader = EventReader(HANDCOUNT.read_text().splitlines(keepends=True), DATE)
    events = list(reader)
    assert reader.stats.lines == 32
    assert reader.stats.events == 30
    assert reader.stats.rejected == 2
    assert reader.stats.rejected_lines == [14, 29]
    # A process name with a space is read whole.
    assert {e.process for e in events} >= {"Web Content", "nginx", "java", "postgres"}


def test_midnight_wraps_to_the_next_day() -> None:
    lines = [
        "1 23:59:59.900000000 0 cron (10) > close fd=3(<f>/etc/crontab)\n",
        "2 23:59:59.950000000 0 cron (10) < close res=0\n",
        "3 00:00:00.050000000 0 cron (10) > close fd=4(<f>/etc/passwd)\n",
        "4 23:59:59.990000000 1 cron (11) < close res=0\n",
    ]
    times = [event.time for event in EventReader(lines, DATE)]
    assert times[0] == pytest.approx(MIDNIGHT + 86399.9)
    assert times[2] == pytest.approx(MIDNIGHT + 86400.05)
    # A small step back (another CPU's event) is not a new day.
    assert times[3] == pytest.approx(MIDNIGHT + 86399.99)


def test_gzip_and_modification_date(logs: Path) -> None:
    plain = write_sysdig_log(logs, "ls")
    packed = logs / "ls.log.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    stamp = dt.datetime(2026, 10, 5, 12, 0).timestamp()
    os.utime(packed, (stamp, stamp))
    with SysdigLog(str(packed)) as log:
        assert log.date == dt.date(2026, 10, 5)
        events = list(log.events())
        assert log.position() == packed.stat().st_size
    plain_events = list(read_events(str(plain), DATE))
    assert len(events) == len(plain_events)
    assert events[0].time - local_midnight(dt.date(2026, 10, 5)) == pytest.approx(
        plain_events[0].time - MIDNIGHT
    )


def test_stdin_is_read_with_todays_date(logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = write_sysdig_log(logs, "modprobe").read_text()
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    with SysdigLog("-") as log:
        assert log.size is None
        assert log.date == dt.date.today()
        events = list(log.events())
    assert len(events) == len(text.splitlines())


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadSysdigLog, match=r"cannot read .*nothing\.log"):
        SysdigLog(str(tmp_path / "nothing.log"))


def test_calls_pair_enter_and_exit_across_a_context_switch() -> None:
    calls = list(pair_calls(EventReader(HANDCOUNT.read_text().splitlines(), DATE)))
    reads = [c for c in calls if c.type == "read" and c.process == "nginx"]
    assert [(c.first_line, c.last_line) for c in reads] == [(3, 5), (7, 9)]
    assert target(reads[1]) == ("f", "/var/www/index.html")
    fsync = next(c for c in calls if c.type == "fsync")
    assert fsync.enter is None
    assert target(fsync) is None
