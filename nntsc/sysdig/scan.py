"""The import's fast path for sysdig's text formats: `nntsc.sysdig._scan`, compiled when built.

`_scan` (read its docstring) is plain Python that Cython compiles at
install (see `setup.py`); this module gives the compiled build when it was
built from the current source, else the source itself (`nntsc.compiled`).
`COMPILED` says which: the build counts a log about a fifth faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.compiled import export_build
from nntsc.sysdig import _scan

__all__ = [
    "COMPILED",
    "PIECE_LINES",
    "CutTooLate",
    "Piece",
    "Prefilter",
    "TextMerger",
    "implementation",
    "scan_chunk",
    "scan_lines",
    "scan_text",
]

if TYPE_CHECKING:
    from types import ModuleType

    from nntsc.sysdig._scan import (
        PIECE_LINES,
        CutTooLate,
        Piece,
        Prefilter,
        TextMerger,
        scan_chunk,
        scan_lines,
        scan_text,
    )

    #: The compiled build in use, or `_scan` itself.
    implementation: ModuleType
    #: Whether the compiled build is in use.
    COMPILED: bool
else:
    export_build(_scan, globals())
