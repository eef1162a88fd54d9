"""The registry of collections: one module per measurement type."""

from __future__ import annotations

from nntsc.collections.amp_icmp import AmpIcmp
from nntsc.collections.base import Collection, Field, ParsedRow, Property, Row
from nntsc.errors import UnknownCollection

__all__ = ["Collection", "Field", "ParsedRow", "Property", "Row", "all_collections", "get"]

_REGISTRY: dict[str, Collection] = {c.name: c for c in (AmpIcmp(),)}


def all_collections() -> list[Collection]:
    """Every registered collection, in a stable order."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get(name: str) -> Collection:
    """The collection called `name`; raises `UnknownCollection`."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCollection(name) from None
