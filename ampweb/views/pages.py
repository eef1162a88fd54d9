"""HTML pages: the stream list and the latency graph page."""

from __future__ import annotations

import json
import time
from typing import Any

from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import BadParameter, int_param

PAGESIZE = 50


@view_config(route_name="index", renderer="index.jinja2", request_method="GET")
def index(request: Request) -> dict[str, Any]:
    ampy = request.ampy
    collections = ampy.collections()
    page_number = int_param(request, "page", 1, minimum=1)
    page = ampy.find_streams("amp-icmp", {}, page=page_number, pagesize=PAGESIZE)
    return {
        "collections": collections,
        "streams": [stream.as_dict() for stream in page.items],
        "page": page.page,
        "total": page.total,
        "has_more": page.has_more,
    }


def _title(stream: dict[str, Any]) -> str:
    props = stream["properties"]
    if {"source", "destination"} <= set(props):
        extra = ", ".join(
            f"{value} bytes" if name == "packet_size" and value.isdigit() else value
            for name, value in props.items()
            if name not in ("source", "destination")
        )
        return f"{props['source']} → {props['destination']}" + (f" ({extra})" if extra else "")
    return ", ".join(props.values())


@view_config(route_name="graph.stream", renderer="graph.jinja2", request_method="GET")
@view_config(route_name="graph.stream.range", renderer="graph.jinja2", request_method="GET")
def graph(request: Request) -> dict[str, Any]:
    stream_id = int_param(request, "stream_id", minimum=1, maximum=2**31 - 1, source="match")
    stream = request.ampy.stream(stream_id).as_dict()
    start = int_param(request, "start", None, minimum=0, source="match")
    end = int_param(request, "end", None, minimum=0, source="match")
    if start is not None and end is not None and end <= start:
        raise BadParameter("the graph's end must be after its start")
    data_url = request.route_path("api.v1.stream.data", stream_id=stream_id)
    page_data = {
        "stream_id": stream_id,
        "collection": stream["collection"],
        "data_url": data_url,
        "csv_url": f"{data_url}?format=csv",
        "graph_url": request.route_path("graph.stream", stream_id=stream_id),
        "start": start,
        "end": end,
        "now": int(time.time()),
        "first": stream["first"],
        "last": stream["last"],
    }
    # Escape "<" so that no property value can close the script element.
    encoded = json.dumps(page_data).replace("<", "\\u003c")
    return {"stream": stream, "title": _title(stream), "page_data": encoded}
