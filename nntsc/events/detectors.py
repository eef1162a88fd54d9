"""The detectors: `nntsc.events._detectors`, compiled when built.

`_detectors` (read its docstring) is plain Python that Cython compiles at
install (see `setup.py`); this module gives the compiled build when it was
built from the current source, else the source itself (`nntsc.compiled`).
`COMPILED` says which: the build takes a row several times faster
(docs/events.md, "Cost").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.compiled import build_of
from nntsc.events import _detectors

implementation = build_of(_detectors)
#: Whether the compiled build is in use.
COMPILED: bool = implementation is not _detectors

if TYPE_CHECKING:
    from nntsc.events._detectors import (
        DETECTORS,
        PURGE_INTERVALS,
        PURGE_MIN,
        Detector,
        DetectorFactory,
        Finding,
        LevelShift,
        LossRuns,
        ModeChange,
        PathChange,
    )
else:
    DETECTORS = implementation.DETECTORS
    PURGE_INTERVALS = implementation.PURGE_INTERVALS
    PURGE_MIN = implementation.PURGE_MIN
    Detector = implementation.Detector
    DetectorFactory = implementation.DetectorFactory
    Finding = implementation.Finding
    LevelShift = implementation.LevelShift
    LossRuns = implementation.LossRuns
    ModeChange = implementation.ModeChange
    PathChange = implementation.PathChange

__all__ = [
    "COMPILED",
    "DETECTORS",
    "PURGE_INTERVALS",
    "PURGE_MIN",
    "Detector",
    "DetectorFactory",
    "Finding",
    "LevelShift",
    "LossRuns",
    "ModeChange",
    "PathChange",
    "implementation",
]
