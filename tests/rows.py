"""Rows for tests, built in one place: an ICMP result of one probe, and the ICMP bins
that rollups and aggregations must agree with, computed by hand from raw rows."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nntsc.collections import Row


def icmp_values(rtt: int) -> dict[str, Any]:
    """The fields of an ICMP row whose one probe answered in `rtt` microseconds."""
    return icmp_probes([rtt])


def icmp_probes(rtts: list[Any]) -> dict[str, Any]:
    """The fields of an ICMP row whose probes answered in `rtts` (None: lost)."""
    answered = sorted(rtt for rtt in rtts if rtt is not None)
    return {
        "median": float(answered[len(answered) // 2]) if answered else None,
        "min": answered[0] if answered else None,
        "max": answered[-1] if answered else None,
        "loss": len(rtts) - len(answered),
        "results": len(rtts),
        "lossrate": (len(rtts) - len(answered)) / len(rtts),
        "rtts": rtts,
    }


def icmp_row(stream_id: int, timestamp: int, rtt: int) -> Row:
    """An ICMP row of `stream_id` at `timestamp` with one probe of `rtt` microseconds."""
    return Row(stream_id, timestamp, icmp_values(rtt))


@dataclass
class IcmpBin:
    """The values of the ICMP rows in one bin (those not null), gathered by hand."""

    medians: list[float] = field(default_factory=list)
    rtts: list[int] = field(default_factory=list)
    losses: list[int] = field(default_factory=list)
    results: list[int] = field(default_factory=list)

    def exact(self) -> dict[str, Any]:
        """The bin's exact aggregations, named as the tests ask for them: the medians'
        mean, count, sum and sd, the probes' min, max, count (rtt_count) and sum
        (rtt_sum), the loss and results summed; None where there is nothing."""
        medians, rtts = self.medians, self.rtts
        return {
            "mean": statistics.fmean(medians) if medians else None,
            "count": len(medians),
            "sum": math.fsum(medians) if medians else None,
            "min": min(rtts) if rtts else None,
            "max": max(rtts) if rtts else None,
            "rtt_count": len(rtts),
            "rtt_sum": sum(rtts) if rtts else None,
            "loss": sum(self.losses) if self.losses else None,
            "results": sum(self.results),
            "sd": statistics.stdev(medians) if len(medians) > 1 else None,
        }


def icmp_bins(rows: Iterable[tuple[int, Mapping[str, Any]]], binsize: int) -> dict[int, IcmpBin]:
    """The bins of `binsize` seconds that (timestamp, ICMP values) rows fall in, by start."""
    bins: dict[int, IcmpBin] = {}
    for timestamp, values in rows:
        found = bins.setdefault(timestamp - timestamp % binsize, IcmpBin())
        if values["median"] is not None:
            found.medians.append(values["median"])
        found.rtts.extend(rtt for rtt in values["rtts"] or () if rtt is not None)
        if values["loss"] is not None:
            found.losses.append(values["loss"])
        if values["results"] is not None:
            found.results.append(values["results"])
    return bins
