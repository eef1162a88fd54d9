"""REST API for graphs: selection options, views, view history, matrix and tooltips."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.params import page_body
from ampweb.views.api import _csv_lines, _range
from ampy.cache import FINISHED_TTL, RECENT_TTL, digest
from ampy.groups import Group, Line


@view_config(route_name="api.v1.styles", request_method="GET", renderer="json")
def styles(request: Request) -> dict[str, Any]:
    """View styles and the collections each draws."""
    items = [
        {"style": style, "collections": list(collections)}
        for style, collections in sorted(request.ampy.view_styles().items())
    ]
    return page_body(items)


@view_config(route_name="api.v1.collection.options", request_method="GET", renderer="json")
def options(request: Request) -> dict[str, Any]:
    """The next unchosen level of a collection (or view style), one page of its values."""
    found = request.ampy.options(
        request.matchdict["collection"],
        request.openapi["selected"],
        term=request.openapi["term"],
        page=request.openapi["page"],
        pagesize=request.openapi["pagesize"],
    )
    return found.as_dict()


def _group(request: Request, item: str | dict[str, Any]) -> Group | str:
    """A group of the body (its form checked against the document): a description or values."""
    if isinstance(item, str):
        return item
    return request.ampy.group(item["collection"], item.get("values", {}), item.get("splits", {}))


@view_config(route_name="api.v1.views", request_method="POST", renderer="json")
def create_view(request: Request) -> dict[str, Any]:
    """Store a view: ``{"style", "groups"}``, or ``{"view_id", "add"|"remove"}`` to derive one."""
    body = request.openapi["body"]
    ampy = request.ampy
    if "view_id" in body:
        if "add" in body:
            return {"view_id": ampy.add_group(body["view_id"], _group(request, body["add"]))}
        return {"view_id": ampy.remove_group(body["view_id"], _group(request, body["remove"]))}
    request.response.status = 201
    groups = [_group(request, group) for group in body.get("groups", [])]
    return {"view_id": ampy.create_view(body["style"], groups)}


@view_config(route_name="api.v1.view", request_method="GET", renderer="json")
def view(request: Request) -> dict[str, Any]:
    """A view's style, groups and lines (labels, colours, stream ids)."""
    return request.ampy.legend(request.matchdict["view_id"]).as_dict()


@view_config(route_name="api.v1.view.history", request_method="GET")
def view_history(request: Request) -> Response:
    """Each line's history as JSON, or as one CSV table with a line_id column."""
    view_id = request.matchdict["view_id"]
    start, end = _range(request)
    detail = request.openapi["detail"]
    binsize = request.openapi["binsize"]
    output = request.openapi["format"]
    if output == "json":
        # Graphs ask for the same ranges again and again (reloads, shared
        # links, dashboards): the encoded answer is cached whole, briefly when
        # it reaches recent data.
        key = f"response:history:{view_id}:{start}:{end}:{detail}:{binsize}"
        ttl = RECENT_TTL if end > time.time() - 3600 else FINISHED_TTL

        def encode() -> bytes:
            lines = request.ampy.view_history(view_id, start, end, detail, binsize)
            return _json_bytes(
                {
                    "view_id": view_id,
                    "start": start,
                    "end": end,
                    "detail": detail,
                    "lines": [line.as_dict() for line in lines],
                }
            )

        return _json_response(request, request.ampy.cache.value(key, encode, ttl, hot=True))
    lines = request.ampy.view_history(view_id, start, end, detail, binsize)
    if output == "csv":
        return Response(
            app_iter=_view_csv(request.ampy.legend(view_id).lines, lines),
            content_type="text/csv",
            charset="utf-8",
            content_disposition=f'attachment; filename="view-{view_id}-{start}-{end}.csv"',
        )
    raise AssertionError(f"unhandled format {output!r}")


def line_names(legend_lines: Sequence[Line]) -> tuple[list[str], dict[str, list[str]]]:
    """The columns that say what each line is, and each line's values of them, by line id.

    A CSV names its series by their collection, group values (source,
    destination, ...) and splits (family, direction), not by the view's
    line ids; the columns are the union over the lines, in first-seen order.
    """
    namings = {line.line_id: line.naming() for line in legend_lines}
    columns: list[str] = []
    for naming in namings.values():
        columns += [name for name in naming if name not in columns]
    return columns, {
        line_id: [naming.get(name, "") for name in columns] for line_id, naming in namings.items()
    }


def _view_csv(legend_lines: Sequence[Line], lines: Sequence[Any]) -> Iterator[bytes]:
    """One CSV table: what each line is, how it was aggregated, then its columns."""
    names, values = line_names(legend_lines)
    columns: list[str] = []
    for line in lines:
        columns += [c for c in line.columns if c not in columns]
    rows = (
        [
            *values[line.line_id],
            line.aggregation,
            line.binsize,
            *(dict(zip(line.columns, row, strict=True)).get(c) for c in columns),
        ]
        for line in lines
        for row in line.rows
    )
    return _csv_lines([*names, "aggregation", "binsize", *columns], list(rows))


@view_config(route_name="api.v1.matrix.metrics", request_method="GET", renderer="json")
def matrix_metrics(request: Request) -> dict[str, Any]:
    items = request.ampy.matrix_metrics()
    return page_body(items)


@view_config(route_name="api.v1.matrix", request_method="GET")
def matrix(request: Request) -> Response:
    """The cells of a metric for a source mesh by a destination mesh (cached for a minute)."""
    metric = request.matchdict["metric"]
    src_mesh, dst_mesh = request.openapi["src_mesh"], request.openapi["dst_mesh"]
    mode = request.openapi["mode"]

    def encode() -> bytes:
        return _json_bytes(request.ampy.matrix(metric, src_mesh, dst_mesh, mode).as_dict())

    key = f"response:matrix:{metric}:{mode}:{digest(src_mesh, dst_mesh)}"
    return _json_response(request, request.ampy.cache.value(key, encode, RECENT_TTL, hot=True))


def _json_bytes(body: Any) -> bytes:
    """Compact JSON, gzipped: what is cached is what most clients are sent."""
    return gzip.compress(json.dumps(body, separators=(",", ":")).encode(), compresslevel=6)


def _json_response(request: Request, gzipped: bytes) -> Response:
    """A cached JSON answer, as stored for clients that accept gzip, else expanded.

    Browsers and HTTP libraries send ``Accept-Encoding: gzip``: they get the
    cached bytes as they are, a fifth the size, with no work per request.
    """
    response = Response(content_type="application/json", charset="utf-8")
    response.vary = ("Accept-Encoding",)
    # No Accept-Encoding header means "anything" to WebOb, but curl and
    # many scripts send none and expect plain bytes: gzip only when asked.
    if "Accept-Encoding" in request.headers and request.accept_encoding.acceptable_offers(["gzip"]):
        response.body = gzipped
        response.content_encoding = "gzip"
    else:
        response.body = gzip.decompress(gzipped)
    return response


@view_config(route_name="api.v1.matrix.tooltip", request_method="GET", renderer="json")
def tooltip(request: Request) -> dict[str, Any]:
    """A pair's 24-hour sparkline and its 1, 6 and 24 hour values."""
    return request.ampy.tooltip(
        request.matchdict["metric"],
        request.openapi["source"],
        request.openapi["destination"],
    )


@view_config(route_name="api.v1.sites", request_method="GET", renderer="json")
def sites(request: Request) -> dict[str, Any]:
    page = request.ampy.sites.list_sites(
        term=request.openapi["term"],
        page=request.openapi["page"],
        pagesize=request.openapi["pagesize"],
    )
    return page_body([s.as_dict() for s in page.items], page)


@view_config(route_name="api.v1.site", request_method="GET", renderer="json")
def site(request: Request) -> dict[str, Any]:
    return request.ampy.sites.get_site(request.matchdict["name"]).as_dict()


@view_config(route_name="api.v1.meshes", request_method="GET", renderer="json")
def meshes(request: Request) -> dict[str, Any]:
    role = request.openapi["role"]
    page = request.ampy.sites.list_meshes(
        term=request.openapi["term"],
        page=request.openapi["page"],
        pagesize=request.openapi["pagesize"],
        source=True if role == "source" else None,
        destination=True if role == "destination" else None,
    )
    return page_body([m.as_dict() for m in page.items], page)


@view_config(route_name="api.v1.mesh", request_method="GET", renderer="json")
def mesh(request: Request) -> dict[str, Any]:
    return request.ampy.sites.get_mesh(request.matchdict["name"]).as_dict()
