"""File operations per minute from sysdig logs: one generic graph per chosen count."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import GroupSpec
from ampy.series import Column, SeriesSpec, same_columns
from nntsc.collections import get as get_collection

NAME = "fileops"


def _unit(stored: str | None) -> str:
    # Each row counts one minute, so a bin's mean is a rate per minute.
    return f"{stored or 'ops'}/min"


_COLUMNS = tuple(
    Column(fld.name, fld.name, "mean", unit=_unit(fld.unit)) for fld in get_collection(NAME).fields
)

COLLECTION = CollectionSpec(
    name=NAME,
    styles=(ViewStyle("fileops", "File operations"),),
    tab_order=90,
    groups=GroupSpec(
        NAME,
        ("host", "kind", "name", "process"),
        title=lambda v: (
            f"{v['name']} ({v['kind']}) on {v['host']}"
            + ("" if v["process"] in (v["name"], "", "*") else f", by {v['process']}")
        ),
    ),
    # The page draws the count chosen on it, in its unit.
    series=SeriesSpec(NAME, 60, "mean", same_columns(_COLUMNS, _COLUMNS)),
)
