"""The detectors: `nntsc.events._detectors`, compiled when built.

`_detectors` (read its docstring) is plain Python that Cython compiles at
install (see `setup.py`); this module gives the compiled build when it was
built from the current source, else the source itself (`nntsc.compiled`).
`COMPILED` says which: the build takes a row several times faster
(docs/events.md, "Cost").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.compiled import export_build
from nntsc.events import _detectors

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

if TYPE_CHECKING:
    from types import ModuleType

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

    #: The compiled build in use, or `_detectors` itself.
    implementation: ModuleType
    #: Whether the compiled build is in use.
    COMPILED: bool
else:
    export_build(_detectors, globals())
