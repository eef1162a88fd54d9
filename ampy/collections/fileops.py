"""File operations per minute from sysdig logs: one generic graph per chosen count."""

from __future__ import annotations

from ampy.collections import CollectionSpec, ViewStyle
from ampy.groups import GroupSpec

NAME = "fileops"

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
    # No series: the graph reads every field (`ampy.series`) and the page picks one.
)
