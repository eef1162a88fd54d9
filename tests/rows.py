"""Rows for tests: an ICMP result of one probe, built in one place."""

from __future__ import annotations

from typing import Any

from nntsc.collections import Row


def icmp_values(rtt: int) -> dict[str, Any]:
    """The fields of an ICMP row whose one probe answered in `rtt` microseconds."""
    return {
        "median": float(rtt),
        "min": rtt,
        "max": rtt,
        "loss": 0,
        "results": 1,
        "lossrate": 0.0,
        "rtts": [rtt],
    }


def icmp_row(stream_id: int, timestamp: int, rtt: int) -> Row:
    """An ICMP row of `stream_id` at `timestamp` with one probe of `rtt` microseconds."""
    return Row(stream_id, timestamp, icmp_values(rtt))
