"""The detections the four newer collections declare find the changes they are meant for.

Each declared detection gets a series of its field in stored units, steady
and then changed (a level shift, or a run of loss), fed to the detector the
engine builds from the declaration (`nntsc.events.engine.make_detector`).
"""

from __future__ import annotations

import random

import pytest

from nntsc.collections import get
from nntsc.events.engine import make_detector

PERIOD = 300

#: (collection, metric) -> the level before and after, in stored units.
SHIFTS = {
    ("amp-fastping", "median"): (12_000, 30_000),  # us
    ("amp-sip", "rtt"): (20_000, 60_000),  # us
    ("amp-sip", "mos"): (4.4, 2.6),
    ("amp-youtube", "pre_time"): (800, 2_500),  # ms
    ("amp-youtube", "total_time"): (32_000, 60_000),  # ms
}


def declared(kind: str) -> list:
    return [
        (name, d)
        for name in ("amp-fastping", "amp-sip", "amp-youtube", "amp-external")
        for d in get(name).detections
        if d.detector == kind
    ]


def test_every_level_detection_is_tested():
    assert {(name, d.metric_name) for name, d in declared("level")} == set(SHIFTS)


@pytest.mark.parametrize(("name", "metric"), list(SHIFTS))
def test_a_level_shift_is_found_in_the_declared_unit(name, metric):
    [detection] = [d for n, d in declared("level") if (n, d.metric_name) == (name, metric)]
    detector = make_detector(detection)
    before, after = SHIFTS[(name, metric)]
    rnd = random.Random(1)
    findings = []
    for index in range(150):
        level = before if index < 100 else after
        value = level * (1 + rnd.uniform(-0.02, 0.02))
        findings += detector.feed(1_790_000_000 + index * PERIOD, value) or []
    assert len(findings) == 1, findings
    [finding] = findings
    assert finding.kind == ("incr" if after > before else "decr")
    assert finding.old_value == pytest.approx(before * detection.scale, rel=0.05)
    assert detection.unit in finding.description


@pytest.mark.parametrize(("name", "detection"), declared("loss"), ids=lambda v: str(v)[:20])
def test_a_run_of_loss_opens_and_closes(name, detection):
    detector = make_detector(detection)
    findings = []
    for index in range(80):
        lost = 1.0 if 30 <= index < 45 else 0.0
        findings += detector.feed(1_790_000_000 + index * PERIOD, lost) or []
    assert len(findings) >= 1, name
    assert findings[0].onset == 1_790_000_000 + 30 * PERIOD


@pytest.mark.parametrize(("after", "found"), [(4.4, 0), (4.3, 0), (3.8, 1), (2.6, 1)])
def test_mos_falls_of_about_0_6_are_found_and_a_steady_call_is_quiet(after, found):
    [detection] = [d for d in get("amp-sip").detections if d.metric_name == "mos"]
    detector = make_detector(detection)
    rnd = random.Random(2)
    findings = []
    for index in range(150):
        level = 4.4 if index < 100 else after
        value = min(4.5, level + rnd.gauss(0, 0.03))
        findings += detector.feed(1_790_000_000 + index * PERIOD, value) or []
    assert len(findings) == found, findings
