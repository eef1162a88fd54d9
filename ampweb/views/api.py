"""The JSON/CSV REST API under /api/v1 (see INTERFACES.md)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from ampweb.params import BadParameter, page_body
from nntsc.collections import get as get_collection

#: The range a data request covers when it names no start/end: the last day.
DEFAULT_RANGE = 86400


@view_config(route_name="api.v1.collections", request_method="GET", renderer="json")
def collections(request: Request) -> dict[str, Any]:
    return page_body(request.ampy.collections())


@view_config(route_name="api.v1.collection.streams", request_method="GET", renderer="json")
def collection_streams(request: Request) -> dict[str, Any]:
    collection = get_collection(request.matchdict["collection"])
    filters = {}
    # The document declares the filters free-form: which names exist depends on the collection.
    for name, value in request.openapi["filters"].items():
        if name not in collection.property_names:
            raise BadParameter(
                f"parameter {name!r} is not a property of {collection.name}; "
                f"expected one of {', '.join(collection.property_names)}"
            )
        filters[name] = value
    page = request.ampy.find_streams(
        collection.name,
        filters,
        page=request.openapi["page"],
        pagesize=request.openapi["pagesize"],
    )
    return page_body(
        [{k: v for k, v in stream.as_dict().items() if k != "collection"} for stream in page.items],
        page,
    )


@view_config(route_name="api.v1.stream", request_method="GET", renderer="json")
def stream(request: Request) -> dict[str, Any]:
    return request.ampy.stream(request.openapi["stream_id"]).as_dict()


def _range(request: Request) -> tuple[int, int]:
    """`start` and `end` (checked against the document), defaulting to the last day."""
    end = request.openapi["end"]
    if end is None:
        end = int(time.time())
    start = request.openapi["start"]
    if start is None:
        start = max(0, end - DEFAULT_RANGE)
    # A relation between two parameters, which the document's schemas cannot state.
    if end <= start:
        raise BadParameter("parameter 'end' must be after 'start'")
    return start, end


@view_config(route_name="api.v1.stream.data", request_method="GET")
def stream_data(request: Request) -> Response:
    """Aggregated history of one stream (or raw rows with ``binsize=0``) as JSON or CSV."""
    info = request.ampy.stream(request.openapi["stream_id"])
    start, end = _range(request)
    binsize = request.openapi["binsize"]
    output = request.openapi["format"]
    if binsize == 0:
        columns, rows = request.ampy.raw(info.collection, [info.stream_id], start, end)
        body: dict[str, Any] = {
            "collection": info.collection,
            "start": start,
            "end": end,
            "binsize": 0,
            "aggregation": "raw",
            "aggregation_label": "raw results",
            "columns": columns,
            "units": {},
            "rows": rows,
        }
    else:
        detail = request.openapi["detail"]
        history = request.ampy.history(
            info.collection, [info.stream_id], start, end, detail, binsize
        )
        body = {
            "collection": info.collection,
            "start": start,
            "end": end,
            "binsize": history.binsize,
            "aggregation": "mean",
            "aggregation_label": history.aggregation,
            "columns": history.columns,
            "units": history.units,
            "rows": history.rows,
        }
    body = {"stream_id": info.stream_id, **body}
    if output == "csv":
        filename = f"stream-{info.stream_id}-{start}-{end}.csv"
        return Response(
            app_iter=_csv_lines(body["columns"], body["rows"]),
            content_type="text/csv",
            charset="utf-8",
            content_disposition=f'attachment; filename="{filename}"',
        )
    return Response(json_body=body)


def _csv_lines(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Iterator[bytes]:
    """CSV, one encoded line at a time; list values (smoke) spread over numbered columns."""
    # A list column (smoke, raw rtts) spreads over as many columns as its
    # longest value; shorter values are padded so every line fits the header.
    widths: dict[int, int] = {}
    for row in rows:
        for index, value in enumerate(row):
            if isinstance(value, list):
                widths[index] = max(widths.get(index, 0), len(value))
    header: list[str] = []
    for index, name in enumerate(columns):
        if index in widths:
            header.extend(f"{name}_{i + 1}" for i in range(widths[index]))
        else:
            header.append(name)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[Any]) -> bytes:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    yield line(header)
    for row in rows:
        flat: list[Any] = []
        for index, value in enumerate(row):
            if index in widths:
                values = [("" if v is None else v) for v in value or ()]
                flat.extend(values + [""] * (widths[index] - len(values)))
            else:
                flat.append("" if value is None else value)
        yield line(flat)
