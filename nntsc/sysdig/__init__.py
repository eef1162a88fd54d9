"""File-operation metrics and action recognition from sysdig logs.

`reader` turns sysdig's text, absolute-time and JSON output into events;
`calls` pairs each thread's enter and exit events into one call with its file;
`metrics` counts file operations per host, minute, process and file into the
reports of the `fileops` collection; `actions` recognises low-level actions
(loading a shared library, typing a character over ssh, ...) with finite
state machines; `patterns` finds the most common repeated syscall sequences;
`importer` drives a log through the same ingest path as the AMP collections.
"""

from nntsc.errors import NntscError


class BadSysdigLog(NntscError):
    """A sysdig log that cannot be read at all (unknown format, missing file)."""
