"""File operations of a host, per minute, from sysdig logs (`nntsc import sysdig`).

A report is one `nntsc.sysdig.metrics.MinuteReport` of one host: counts per
process, per busy file, per folded directory and per recognised action. The
selection hierarchy is host, then kind (``process``, ``file``,
``directory``, ``action``), then name (the process name, the file path, the
directory ending in ``/``, or the action), then process: the process an
action was recognised in, the process itself for a process series, and
``all`` for files and directories (every process counted together).

Rows of kind ``action`` carry only `count` (actions recognised); the others
carry every operation count and leave `count` as the total of operations.
"""

from __future__ import annotations

from typing import Any

from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property
from nntsc.errors import BadReport
from nntsc.sysdig.metrics import N_OPERATIONS, N_SLOTS, OPERATIONS, MinuteReport

#: The process property of file and directory series: all processes together.
ALL_PROCESSES = "all"

_OPERATION_FIELDS = tuple(f"{op}s" if op != "other" else "others" for op in OPERATIONS)
#: Field names in the slot order of the counts lists.
SLOT_FIELDS = (
    *_OPERATION_FIELDS,
    *(f"failed_{name}" for name in _OPERATION_FIELDS),
    "bytes_read",
    "bytes_written",
)

_ACTION_VALUES = dict.fromkeys(SLOT_FIELDS)


class FileOps(Collection):
    name = "fileops"
    view_style = "fileops"
    description = "File operations per minute, by process and by file, from sysdig logs"
    title = "File operations"
    properties = (
        Property("host", "Host"),
        Property("kind", "Kind", 16),
        Property("name", "Name"),
        Property("process", "Process"),
    )
    fields = (
        Field("count", "int", description="operations (or actions) counted in the minute"),
        *(
            Field(name, "int", description=f"successful {op} calls")
            for name, op in zip(_OPERATION_FIELDS, OPERATIONS, strict=True)
        ),
        *(
            Field(f"failed_{name}", "int", description=f"{op} calls with a negative result")
            for name, op in zip(_OPERATION_FIELDS, OPERATIONS, strict=True)
        ),
        Field("bytes_read", "int", "bytes", description="bytes returned by successful reads"),
        Field("bytes_written", "int", "bytes", description="bytes written by successful writes"),
    )
    presence_field = "count"
    #: Level shifts of the operations a minute (the STRATUS idea: changes in
    #: file interactions are worth a look); a minute without any counts as
    #: one operation for the severity curve.
    detections = (Detection("level", "count", "ops", options={"floor": 1.0}),)
    endpoint_properties = ("host", "name")

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        if not isinstance(report, MinuteReport):
            raise BadReport("fileops report is not a MinuteReport")
        if not isinstance(source, str) or not source:
            raise BadReport("fileops report has no host name")
        if report.minute != timestamp or timestamp <= 0 or timestamp % 60:
            raise BadReport(f"fileops report timestamp {timestamp!r} is not its minute")
        rows = [
            self._counts_row(source, "process", name, name, counts)
            for name, counts in report.processes.items()
        ]
        rows.extend(
            self._counts_row(source, "file", name, ALL_PROCESSES, counts)
            for name, counts in report.files.items()
        )
        rows.extend(
            self._counts_row(source, "directory", name, ALL_PROCESSES, counts)
            for name, counts in report.directories.items()
        )
        rows.extend(
            ParsedRow(
                {"host": source, "kind": "action", "name": action, "process": process},
                {**_ACTION_VALUES, "count": count},
            )
            for (process, action), count in report.actions.items()
        )
        return rows

    @staticmethod
    def _counts_row(host: str, kind: str, name: str, process: str, counts: list[int]) -> ParsedRow:
        if len(counts) != N_SLOTS:
            raise BadReport(f"fileops counts of {name!r} have {len(counts)} slots, not {N_SLOTS}")
        values: dict[str, Any] = dict(zip(SLOT_FIELDS, counts, strict=True))
        values["count"] = sum(counts[: 2 * N_OPERATIONS])
        return ParsedRow({"host": host, "kind": kind, "name": name, "process": process}, values)
