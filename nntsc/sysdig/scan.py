"""The import's fast path for sysdig's text formats: `nntsc.sysdig._scan`, compiled when built.

`_scan` (read its docstring) is plain Python that Cython compiles at
install (see `setup.py`); this module gives the compiled build when it was
built from the current source, else the source itself (`nntsc.compiled`).
`COMPILED` says which: the build counts a log about a fifth faster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nntsc.compiled import build_of
from nntsc.sysdig import _scan

implementation = build_of(_scan)
#: Whether the compiled build is in use.
COMPILED: bool = implementation is not _scan

if TYPE_CHECKING:
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
else:
    PIECE_LINES = implementation.PIECE_LINES
    CutTooLate = implementation.CutTooLate
    Piece = implementation.Piece
    Prefilter = implementation.Prefilter
    TextMerger = implementation.TextMerger
    scan_chunk = implementation.scan_chunk
    scan_lines = implementation.scan_lines
    scan_text = implementation.scan_text

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
