"""AMP external program results (amplet2 test ``external``).

amplet2 runs a program named in the schedule once per target (or once
without a target) and reports the one integer it printed. A report holds
one item per target and each becomes one row; the stream is the command and
the target (`docs/wire.md`). What the value means, and its unit, is the
program's own.

As the predecessor did, an item without a target name is stored with the
monitor itself as the destination. Where we differ: an item without a value
makes the report malformed (it is dead-lettered, with its reason, rather
than stored as 0), and two items for one target are refused, as they would
be one row.
"""

from __future__ import annotations

from typing import Any

from nntsc.collections.amp_common import check_envelope, items_of, text
from nntsc.collections.base import Collection, Field, ParsedRow, Property
from nntsc.errors import BadReport

INT64_MAX = 2**63 - 1


class AmpExternal(Collection):
    name = "amp-external"
    view_style = "external"
    description = "AMP external program results (one integer per run)"
    title = "External"
    properties = (
        Property("source", "Source"),
        Property("destination", "Destination"),
        Property("command", "Command"),
    )
    fields = (Field("value", "int", description="the integer the program reported"),)
    presence_field = "value"
    amp_test = "external"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "External")
        command = text(header, "command", "External header")
        rows = []
        seen = set()
        for index, item in enumerate(items_of(report, "reports", "External report")):
            what = f"External item {index}"
            destination = source if item.get("name") in (None, "") else text(item, "name", what)
            if destination in seen:
                raise BadReport(f"External report has two items for {destination!r}")
            seen.add(destination)
            value = item.get("value")
            if value is None:
                raise BadReport(f"{what} has no value")
            if type(value) is not int or not -INT64_MAX - 1 <= value <= INT64_MAX:
                raise BadReport(f"{what} value {value!r} is not a 64-bit integer")
            properties = {"source": source, "destination": destination, "command": command}
            rows.append(ParsedRow(properties, {"value": value}))
        return rows
