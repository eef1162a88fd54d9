"""The matrix page: one metric for a source mesh by a destination mesh.

The page itself is a shell: `static/js/matrix.js` fetches the cells from
``/api/v1/matrix/{metric}`` and refreshes them every minute. What the page
renders on the server is what does not change between refreshes: the metric
tabs, the mesh choosers and the colour legend of both modes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any
from urllib.parse import unquote

from pyramid.httpexceptions import HTTPFound
from pyramid.request import Request
from pyramid.view import view_config

from ampweb.params import choice_param
from ampweb.views import script_json
from ampy.errors import UnknownMetric
from ampy.groups import spec_for
from ampy.matrix import RELATIVE_STEPS, Metric, metric_for, metrics
from nntsc.errors import BadValue, UnknownMesh
from nntsc.store.sites import MAX_PAGESIZE, NAME, NAME_LENGTH, MeshInfo

MODES = ("absolute", "relative")
#: How often the page fetches the cells again, in milliseconds.
REFRESH_MS = 60_000


def _meshes(request: Request, role: str) -> list[MeshInfo]:
    """Every mesh flagged for `role` ("source" or "destination"), by name."""
    page = request.ampy.sites.list_meshes(
        pagesize=MAX_PAGESIZE,
        source=True if role == "source" else None,
        destination=True if role == "destination" else None,
    )
    return list(page.items)


def _number(value: float) -> str:
    """A threshold as people write it: 5, 0.5, 1000, without trailing zeros."""
    return f"{value:g}"


def legend(metric: Metric, mode: str) -> list[dict[str, str]]:
    """What each colour class means for `metric` in `mode`, best (c0) to worst (c6).

    Mirrors `Metric.colour_class`: absolute classes count the thresholds a
    value has reached (or, when higher is better, not reached); relative
    classes count the steps of change from the pair's own baseline.
    """
    unit = metric.unit
    # Whole percentages when relative, the thresholds as written otherwise.
    steps: list[int] | list[str]
    if mode == "relative":
        steps = [round(step * 100) for step in RELATIVE_STEPS]
        labels = [f"more than {-steps[0]} % better"]
        labels.append(f"−{-steps[0]} % to +{steps[1]} %")
        labels += [f"{low}–{high} % worse" for low, high in pairwise(steps[1:])]
        labels.append(f"{steps[-1]} % worse or more")
    elif metric.higher_is_better:
        steps = [_number(step) for step in metric.steps]
        labels = [f"≥ {steps[0]} {unit}"]
        labels += [f"{low}–{high} {unit}" for high, low in pairwise(steps)]
        labels.append(f"< {steps[-1]} {unit}")
    else:
        steps = [_number(step) for step in metric.steps]
        labels = [f"< {steps[0]} {unit}"]
        labels += [f"{low}–{high} {unit}" for low, high in pairwise(steps)]
        labels.append(f"≥ {steps[-1]} {unit}")
    return [{"colour_class": f"c{i}", "label": label} for i, label in enumerate(labels)]


def _with_current(meshes: Sequence[MeshInfo], current: MeshInfo) -> list[MeshInfo]:
    """`meshes`, plus the mesh shown when it lacks the flag (reached by a typed URL)."""
    if any(mesh.name == current.name for mesh in meshes):
        return list(meshes)
    return sorted([*meshes, current], key=lambda mesh: mesh.name)


def _split_labels(metric: Metric) -> dict[str, str]:
    splits = spec_for(metric.collection).splits
    return dict(splits[0].labels) if splits else {}


@view_config(route_name="matrix.index", request_method="GET", renderer="matrix.jinja2")
def matrix_index(request: Request) -> Any:
    """Redirect to the first metric for the first source and destination meshes.

    Without meshes there is nothing to show: the page says so and where
    meshes are made.
    """
    sources = _meshes(request, "source")
    destinations = _meshes(request, "destination")
    if sources and destinations:
        mode = choice_param(request, "mode", MODES, "absolute")
        url = request.route_path(
            "matrix.page",
            metric=next(iter(metrics())),
            src_mesh=sources[0].name,
            dst_mesh=destinations[0].name,
            _query={"mode": mode} if mode != "absolute" else {},
        )
        return HTTPFound(location=url)
    return {
        "state": "empty",
        "has_sources": bool(sources),
        "has_destinations": bool(destinations),
        "admin_url": request.route_path("admin.meshes"),
    }


def mesh_pairs(request: Request, src: str, dst: str) -> list[tuple[str, str]]:
    """The (source, destination) mesh names that ``{src}/{dst}`` can be split into.

    Mesh names may hold "/", and the router sees a %2F as a "/", so the path
    /matrix/latency/nz/north/nz/south could be nz, north/nz/south or
    nz/north, nz/south...: every split where both halves are meshes, first
    split first. One means the path is clear; none or more, it is not. The
    halves of every split that could be two names (each at most 255
    characters) are looked up together, in one statement.
    """
    path = f"{src}/{dst}"
    if len(path) > 2 * NAME_LENGTH + 1:
        return []
    parts = path.split("/")
    splits = [("/".join(parts[:cut]), "/".join(parts[cut:])) for cut in range(1, len(parts))]
    splits = [(first, second) for first, second in splits if NAME.fullmatch(first)]
    splits = [(first, second) for first, second in splits if NAME.fullmatch(second)]
    meshes = request.ampy.sites.mesh_names_among(name for split in splits for name in split)
    return [(first, second) for first, second in splits if {first, second} <= meshes]


@view_config(route_name="matrix.page", request_method="GET", renderer="matrix.jinja2")
def matrix_page(request: Request) -> dict[str, Any]:
    """The matrix shell for a metric and two meshes; 404 names what is unknown."""
    match = request.matchdict
    sources = _meshes(request, "source")
    destinations = _meshes(request, "destination")
    missing: list[str] = []
    try:
        metric = metric_for(match["metric"])
    except UnknownMetric:
        metric = None
        missing.append(f"no matrix metric is called “{match['metric']}”")
    shown: dict[str, MeshInfo] = {}
    pairs = mesh_pairs(request, match["src_mesh"], match["dst_mesh"])
    if len(pairs) == 1:
        shown["src_mesh"], shown["dst_mesh"] = map(request.ampy.sites.get_mesh, pairs[0])
    elif pairs:
        readings = " or ".join(f"“{src}” to “{dst}”" for src, dst in pairs)
        missing.append(f"the path could be read as the meshes {readings}")
    else:
        for key, role in (("src_mesh", "source"), ("dst_mesh", "destination")):
            try:
                shown[key] = request.ampy.sites.get_mesh(match[key])
            except (UnknownMesh, BadValue):
                missing.append(f"no {role} mesh is called “{match[key]}”")
    if metric is None or missing:
        request.response.status = 404
        return {
            "state": "not_found",
            "missing": missing,
            "metrics": list(metrics().values()),
            "sources": sources,
            "destinations": destinations,
            "first_source": sources[0].name if sources else None,
            "first_destination": destinations[0].name if destinations else None,
        }

    mode = choice_param(request, "mode", MODES, "absolute")
    src_mesh, dst_mesh = shown["src_mesh"], shown["dst_mesh"]
    legends = {name: legend(metric, name) for name in MODES}
    page_data = {
        "metric": metric.name,
        "label": metric.label,
        "unit": metric.unit,
        "style": metric.style,
        "src_mesh": src_mesh.name,
        "dst_mesh": dst_mesh.name,
        "mode": mode,
        "refresh_ms": REFRESH_MS,
        # How the collection names the values cells are split by (IPv4, download, inward).
        "split_labels": _split_labels(metric),
        "matrix_url": request.route_path("api.v1.matrix", metric=metric.name),
        "tooltip_url": request.route_path("api.v1.matrix.tooltip", metric=metric.name),
        # A cell's graph is this with its view id appended.
        "view_url": request.route_path("view", style=metric.style, view_id="").rstrip("/") + "/",
        # Where another metric or mesh pair is: the page fills in the placeholders.
        "page_url": unquote(
            request.route_path("matrix.page", metric="{metric}", src_mesh="{src}", dst_mesh="{dst}")
        ),
    }
    return {
        "state": "matrix",
        "metric": metric,
        "metrics": list(metrics().values()),
        "mode": mode,
        "src_mesh": src_mesh,
        "dst_mesh": dst_mesh,
        "sources": _with_current(sources, src_mesh),
        "destinations": _with_current(destinations, dst_mesh),
        "legends": legends,
        "page_data": script_json(page_data),
    }
