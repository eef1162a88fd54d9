"""REST API for traceroute paths: a view's distinct IP paths, or its AS paths over time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.views.api import _csv_lines, _range
from ampweb.views.api_graphs import line_names
from ampy.groups import Line
from ampy.paths import AsPathLine, IpPathLine, ViewPaths


def _hop_text(address: str | None) -> str:
    return address or "*"


def _as_text(path: Sequence[Sequence[int]]) -> str:
    """``AS64496x2 AS-1x1``: run-length encoded AS path as one CSV cell."""
    return " ".join(f"{asn}x{count}" for asn, count in path)


def _ip_csv(legend: Sequence[Line], lines: Sequence[IpPathLine]) -> Iterator[bytes]:
    """One row per distinct IP path: counts, times, and its hops and their AS numbers."""
    names, values = line_names(legend)
    columns = [
        *names,
        "path_id",
        "count",
        "first_seen",
        "last_seen",
        "reached",
        "length",
        "hops",
        "asns",
    ]
    rows = [
        [
            *values[line.line_id],
            path["path_id"],
            path["count"],
            path["first_seen"],
            path["last_seen"],
            int(path["reached"]),
            path["length"],
            " ".join(_hop_text(hop["address"]) for hop in path["hops"]),
            " ".join("" if hop["asn"] is None else str(hop["asn"]) for hop in path["hops"]),
        ]
        for line in lines
        for path in line.paths
    ]
    return _csv_lines(columns, rows)


def _as_csv(legend: Sequence[Line], lines: Sequence[AsPathLine]) -> Iterator[bytes]:
    """One row per segment of the AS path timeline (what the rainbow draws)."""
    names, values = line_names(legend)
    columns = [*names, "first", "last", "count", "path_id", "as_hops", "ip_hops", "as_path"]
    rows = []
    for line in lines:
        paths = {path["path_id"]: path for path in line.paths}
        for segment in line.segments:
            path = paths[segment["path_id"]]
            rows.append(
                [
                    *values[line.line_id],
                    segment["first"],
                    segment["last"],
                    segment["count"],
                    segment["path_id"],
                    path["length"],
                    path["hop_count"],
                    _as_text(path["path"]),
                ]
            )
    return _csv_lines(columns, rows)


def read_paths(request: Request, view_id: str, kind: str, start: int, end: int) -> ViewPaths:
    """The view's IP or AS paths over [start, end) (errors are ampy's, mapped to 4xx)."""
    if kind == "ip":
        return request.ampy.paths(view_id, start, end)
    return request.ampy.as_paths(view_id, start, end)


@view_config(route_name="api.v1.view.paths", request_method="GET")
def view_paths(request: Request) -> Response:
    """The view's distinct IP paths (``kind=ip``) or AS paths and changes (``kind=as``).

    JSON by default; ``format=csv`` gives the same as a table. The range may
    cover at most 31 days (400 otherwise).
    """
    view_id = request.matchdict["view_id"]
    start, end = _range(request)
    kind = request.openapi["kind"]
    output = request.openapi["format"]
    found = read_paths(request, view_id, kind, start, end)
    if output == "csv":
        legend = request.ampy.legend(view_id).lines
        # `kind` decides which lines `read_paths` gave.
        body: Any = (
            _ip_csv(legend, cast("list[IpPathLine]", found.lines))
            if kind == "ip"
            else _as_csv(legend, cast("list[AsPathLine]", found.lines))
        )
        return Response(
            app_iter=body,
            content_type="text/csv",
            charset="utf-8",
            content_disposition=(
                f'attachment; filename="{kind}-paths-{view_id}-{start}-{end}.csv"'
            ),
        )
    return Response(json_body=found.as_dict())
