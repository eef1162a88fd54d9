"""Choosing and naming graph binsizes."""

from __future__ import annotations

import math
import random

import pytest

from ampy.binsize import BINSIZE_LADDER, MAX_POINTS, choose_binsize, describe_binsize

START = 1_700_000_000
HOUR = 3600
DAY = 86400


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (HOUR, 60),
        (DAY, 300),
        (7 * DAY, 1800),
        (30 * DAY, 7200),
        (365 * DAY, 86400),
        (1, 60),
        (0, 60),
    ],
)
def test_typical_spans(span, expected):
    assert choose_binsize(START, START + span) == expected


@pytest.mark.parametrize(("minimum", "expected"), [(300, 300), (301, 600), (3600, 3600)])
def test_minimum_is_respected(minimum, expected):
    assert choose_binsize(START, START + HOUR, minimum=minimum) == expected


def test_minimum_below_the_ladder_changes_nothing():
    assert choose_binsize(START, START + DAY, minimum=1) == 300


def test_max_points_parameter():
    assert choose_binsize(START, START + DAY, max_points=100) == 1200


def test_property_over_many_spans():
    rnd = random.Random(99)
    # Up to ten years: well inside what the largest ladder step can draw.
    for _ in range(3000):
        span = rnd.randint(1, 10 * 365 * DAY)
        minimum = rnd.choice((1, 60, 300, 900, 3600, 86400))
        binsize = choose_binsize(START, START + span, minimum)
        assert binsize in BINSIZE_LADDER
        assert binsize >= minimum
        assert math.ceil(span / binsize) <= MAX_POINTS
        # It is the smallest such step.
        smaller = [b for b in BINSIZE_LADDER if minimum <= b < binsize]
        assert all(span / b > MAX_POINTS for b in smaller)


def test_monotonic_in_span():
    previous = 0
    for span in range(HOUR, 400 * DAY, 7919):
        binsize = choose_binsize(START, START + span)
        assert binsize >= previous
        previous = binsize


def test_ladder_steps_are_multiples_of_a_rollup_level_or_one_minute():
    for binsize in BINSIZE_LADDER:
        assert binsize == 60 or binsize % 300 == 0


@pytest.mark.parametrize(
    ("binsize", "text"),
    [
        (60, "1 minute"),
        (300, "5 minutes"),
        (1800, "30 minutes"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (86400 * 2, "2 days"),
        (604800, "7 days"),
        (90, "90 seconds"),
    ],
)
def test_describe_binsize(binsize, text):
    assert describe_binsize(binsize) == text
