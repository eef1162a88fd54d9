"""How ampy presents each collection: one module per collection, gathered here.

A collection (declared for storage in `nntsc.collections`) is presented by
the module of the same name in this package (``amp-icmp`` ->
``ampy/collections/amp_icmp.py``), which defines ``COLLECTION``, a
`CollectionSpec`: the view styles that draw it (with their titles), its
tab position, how its streams form legend groups (`ampy.groups.GroupSpec`),
what its graphs read (`ampy.series.SeriesSpec`) and its matrix metrics
(`ampy.matrix.Metric`). Modules whose names start with ``_`` hold what
several collections share.

The modules are found when the registry is first read, so a new collection
needs no line here. `register` adds one at run time (a plugin, or a test's
own collection). A stored collection without a module is still drawn, with
every key property as a selection level and every field as a column.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nntsc.collections import all_collections
from nntsc.collections import changes as collection_changes
from nntsc.collections import get as get_collection

if TYPE_CHECKING:
    from ampy.groups import GroupSpec
    from ampy.matrix import Metric
    from ampy.series import SeriesSpec

__all__ = [
    "DAY",
    "CollectionSpec",
    "ViewStyle",
    "all_specs",
    "get",
    "metrics",
    "register",
    "style",
    "style_collections",
    "tab_key",
    "unregister",
]

DAY = 86400
#: The tab position of a collection whose module gives none: after all others.
LAST = 1_000_000


@dataclass(frozen=True)
class ViewStyle:
    """A kind of graph page: its name (in URLs), its title and the range it opens on."""

    name: str
    title: str
    #: Seconds shown when the page's URL names no range.
    default_span: int = DAY


@dataclass(frozen=True)
class CollectionSpec:
    """Everything ampy and the web app need to present one collection.

    `styles` lists the view styles that draw the collection, its own
    (`nntsc.collections.Collection.view_style`) first. `groups` and `series`
    may be left out: then every key property is a selection level with no
    split, and the graphs read the mean of every field (`ampy.series`).
    """

    name: str
    styles: tuple[ViewStyle, ...]
    #: Position of the collection's tab in the stream list and the add-series dialog.
    tab_order: int = LAST
    groups: GroupSpec | None = None
    series: SeriesSpec | None = None
    metrics: tuple[Metric, ...] = ()

    def check(self) -> None:
        """Raise `ValueError` where the parts disagree with each other or the stored collection."""
        declared = get_collection(self.name)
        if not self.styles or self.styles[0].name != declared.view_style:
            raise ValueError(
                f"{self.name}: its first view style must be {declared.view_style!r}, "
                f"the collection's own"
            )
        for part, owner in (("groups", self.groups), ("series", self.series)):
            if owner is not None and owner.collection != self.name:
                raise ValueError(f"{self.name}: its {part} spec is for {owner.collection}")
        if self.groups is not None:
            unknown = set(self.groups.hierarchy) - set(declared.property_names)
            if unknown:
                raise ValueError(f"{self.name}: no property {', '.join(sorted(unknown))}")
        for metric in self.metrics:
            if metric.collection != self.name:
                raise ValueError(f"{self.name}: metric {metric.name} is of {metric.collection}")
            if metric.style not in {s.name for s in self.styles}:
                raise ValueError(f"{self.name}: metric {metric.name} opens style {metric.style}")


_lock = threading.Lock()
_specs: dict[str, CollectionSpec] = {}
_loaded = False
#: How many times the specs have changed; with the collections' own count, what
#: `style_collections` keeps its answer by.
_changes = 0
_styles: tuple[tuple[int, int], dict[str, tuple[str, ...]]] | None = None


def _load() -> dict[str, CollectionSpec]:
    """The registered specs, importing this package's modules on the first call."""
    global _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                for module in pkgutil.iter_modules(__path__):
                    if module.name.startswith("_"):
                        continue
                    loaded = importlib.import_module(f"{__name__}.{module.name}")
                    spec = getattr(loaded, "COLLECTION", None)
                    if not isinstance(spec, CollectionSpec):
                        raise ValueError(f"{loaded.__name__} defines no COLLECTION")
                    if spec.name.replace("-", "_") != module.name:
                        raise ValueError(f"{loaded.__name__} presents {spec.name}")
                    _add(spec)
                _loaded = True
    return _specs


def _add(spec: CollectionSpec) -> None:
    spec.check()
    known = {s.name: s for c in _specs.values() for s in c.styles}
    for view_style in spec.styles:
        other = known.get(view_style.name)
        if other is not None and other != view_style:
            raise ValueError(f"{spec.name}: style {view_style.name} differs from {other}")
    names = {m.name for c in _specs.values() if c.name != spec.name for m in c.metrics}
    for metric in spec.metrics:
        if metric.name in names:
            raise ValueError(f"{spec.name}: another collection has a metric {metric.name}")
    global _changes
    _specs[spec.name] = spec
    _changes += 1


def register(spec: CollectionSpec) -> None:
    """Present a collection registered in `nntsc.collections` by `spec` (replacing its old one).

    Raises `ValueError` when the spec disagrees with the collection or
    reuses another collection's style (with another title) or metric name.
    """
    _load()
    with _lock:
        _add(spec)


def unregister(name: str) -> None:
    """Forget the presentation of `name` (a collection registered at run time)."""
    global _changes
    _load()
    with _lock:
        _specs.pop(name, None)
        _changes += 1


def get(name: str) -> CollectionSpec:
    """The presentation of collection `name`; raises `UnknownCollection`.

    A stored collection without a module gets its own style, titled by its
    name, and the defaults.
    """
    spec = _load().get(name)
    if spec is not None:
        return spec
    declared = get_collection(name)
    return CollectionSpec(name, (ViewStyle(declared.view_style, declared.view_style),))


def all_specs() -> list[CollectionSpec]:
    """The presentation of every stored collection, in tab order."""
    return sorted((get(c.name) for c in all_collections()), key=tab_key)


def tab_key(spec: CollectionSpec) -> tuple[int, str]:
    return (spec.tab_order, spec.name)


def style_collections() -> dict[str, tuple[str, ...]]:
    """Every view style and the collections it draws (in name order).

    Computed again only when a collection or a spec was registered or forgotten
    since (request validation asks on every request).
    """
    global _styles
    _load()
    key = (collection_changes(), _changes)
    kept = _styles
    if kept is None or kept[0] != key:
        kept = _styles = (key, _style_collections())
    return dict(kept[1])


def _style_collections() -> dict[str, tuple[str, ...]]:
    styles: dict[str, tuple[str, ...]] = {}
    for collection in all_collections():
        for view_style in get(collection.name).styles:
            styles[view_style.name] = (*styles.get(view_style.name, ()), collection.name)
    return styles


def style(name: str) -> ViewStyle:
    """The view style `name`; one no collection draws is titled by its name."""
    for collection in all_collections():
        for view_style in get(collection.name).styles:
            if view_style.name == name:
                return view_style
    return ViewStyle(name, name)


def metrics() -> Mapping[str, Metric]:
    """Every matrix metric by name, in the order of the matrix's tabs."""
    found = [m for c in all_collections() for m in get(c.name).metrics]
    return {m.name: m for m in sorted(found, key=lambda m: (m.position, m.name))}
