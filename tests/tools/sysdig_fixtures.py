"""The sysdig test logs: real strace traces converted to sysdig's formats, and their date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.tools.strace_to_sysdig import convert_file

DATA = Path(__file__).resolve().parent.parent / "data" / "sysdig"
#: The date the converted logs are given (a past day, inside every retention).
DATE = dt.date(2026, 11, 2)
#: Short names of the real traces in tests/data/sysdig.
TRACES = {
    "ls": "ls.strace",
    "python": "python_import_json.strace",
    "modprobe": "modprobe_showconfig.strace",
    "ssh": "ssh_keystrokes.strace",
}
#: Converter options per trace: the ssh trace is cropped to the typing, after
#: sshd's session process and the shell had started.
OPTIONS: dict[str, dict[str, object]] = {"ssh": {"names": {9499: "sshd", 9534: "bash"}}}
#: The log with hand-counted operations (see test_sysdig_metrics).
HANDCOUNT = DATA / "handcount.log"


def write_sysdig_log(directory: Path, name: str, output: str = "text") -> Path:
    """Convert the trace `name` into `output` format (text, absolute, json) under `directory`."""
    path = directory / f"{name}.{output}.log"
    if not path.exists():
        lines = convert_file(str(DATA / TRACES[name]), output, DATE, **OPTIONS.get(name, {}))
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
