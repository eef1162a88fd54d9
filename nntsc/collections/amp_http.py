"""AMP web page fetch time and size (amplet2 test ``http``).

One report is one page fetch and becomes one row; the stream is the URL
and the fetch options (`docs/wire.md`). As the predecessor
did, the header's ``persist`` is stored as property ``persist`` (ampsave
called it ``keep_alive``) and ``pipelining_maxrequests`` as
``pipelining_max_requests``; the user agent, proxy and DSCP are not part of
the key, and the per-server and per-object detail is not stored.

Where we differ from the predecessor, which stored ``duration`` and ``bytes``
as null whenever they were 0 (or, in older ampsave, only when the page was a
single failed object):

* ``duration`` (ms) and ``bytes`` are null exactly when nothing was fetched:
  no server was contacted or every object failed (HTTP status 0). A page that
  was fetched keeps its values even when one is 0 (a sub-millisecond fetch, an
  empty 204 body), and a failed fetch's time-to-failure never passes for a
  page load time.
* ``failed_object_count`` (objects with status 0) is stored, so partial
  failures are visible; ``object_count`` is the header's total, or the count
  of listed objects when the header has none.
* ``duration`` keeps percentiles, for smoke graphs.
"""

from __future__ import annotations

from typing import Any

from nntsc.collections.amp_common import (
    UINT32,
    bool_text,
    check_envelope,
    flag,
    items_of,
    setting,
    text,
    uint,
)
from nntsc.collections.base import Collection, Detection, Field, ParsedRow, Property

#: A stream key is indexed as a whole; longer URLs are rejected, not truncated.
MAX_URL_LENGTH = 1024
#: A page fetch taking longer than a day (in ms) is not a measurement.
MAX_DURATION_MS = 86_400_000
MAX_STATUS = 999


class AmpHttp(Collection):
    name = "amp-http"
    view_style = "http"
    description = "AMP web page fetch time and size"
    title = "HTTP"
    properties = (
        Property("source", "Source"),
        Property("destination", "URL", MAX_URL_LENGTH),
        Property("max_connections", "Max connections", 10),
        Property("max_connections_per_server", "Max connections per server", 10),
        Property(
            "max_persistent_connections_per_server", "Max persistent connections per server", 10
        ),
        Property("pipelining_max_requests", "Max pipelined requests", 10),
        Property("persist", "Persistent connections", 8),
        Property("pipelining", "Pipelining", 8),
        Property("caching", "Caching", 8),
    )
    fields = (
        Field("server_count", "int", description="servers contacted"),
        Field("object_count", "int", description="objects fetched or attempted"),
        Field("failed_object_count", "int", description="objects that failed (status 0)"),
        Field(
            "duration",
            "int",
            "ms",
            quantiles=True,
            description="time to fetch the page; null if nothing was fetched",
        ),
        Field("bytes", "int", "bytes", description="bytes fetched; null if nothing was fetched"),
    )
    presence_field = "server_count"
    #: Page fetch time level shifts.
    detections = (Detection("level", "duration", "ms"),)
    amp_test = "http"

    def parse(self, report: Any, source: str, timestamp: int) -> list[ParsedRow]:
        header = check_envelope(report, source, timestamp, "HTTP")
        what = "HTTP header"
        properties = {
            "source": source,
            "destination": text(header, "url", what, MAX_URL_LENGTH),
            "max_connections": str(setting(header, "max_connections", what, 24, 65535)),
            "max_connections_per_server": str(
                setting(header, "max_connections_per_server", what, 8, 65535)
            ),
            "max_persistent_connections_per_server": str(
                setting(header, "max_persistent_connections_per_server", what, 2, 65535)
            ),
            "pipelining_max_requests": str(
                setting(header, "pipelining_maxrequests", what, 4, 65535)
            ),
            "persist": bool_text(flag(header, "persist", what, True)),
            "pipelining": bool_text(flag(header, "pipelining", what)),
            "caching": bool_text(flag(header, "caching", what)),
        }

        servers = items_of(report, "servers", "HTTP report")
        listed = failed = 0
        for index, server in enumerate(servers):
            objects = items_of(server, "objects", f"HTTP server {index}")
            listed += len(objects)
            for number, obj in enumerate(objects):
                code = setting(obj, "code", f"HTTP server {index} object {number}", 0, MAX_STATUS)
                if code == 0:
                    failed += 1

        duration = uint(header, "duration", what, maximum=MAX_DURATION_MS)
        size = uint(header, "total_bytes", what, maximum=UINT32)
        object_count = uint(header, "total_objects", what, maximum=UINT32)
        if listed == failed:
            # Nothing was fetched: there is no page load time or size.
            duration = size = None
        values = {
            "server_count": len(servers),
            "object_count": listed if object_count is None else object_count,
            "failed_object_count": failed,
            "duration": duration,
            "bytes": size,
        }
        return [ParsedRow(properties, values)]
