"""Errors ampy raises; it also lets `nntsc.errors` types through unchanged.

Every failure is a type: nothing in ampy returns ``None`` to mean "it failed".
The web app maps them to HTTP statuses in one place (`ampweb.views.errors`).
"""

from nntsc.errors import (
    BadQuery,
    NntscError,
    StoreUnavailable,
    UnknownCollection,
    UnknownStream,
    quoted,
)


class BadGroupDescription(BadQuery):
    """A group description (or group values) that does not parse; says what was wrong."""


class BadTimeRange(BadQuery):
    """A start and end that do not make a range ampy can answer."""


class UnknownView(NntscError):
    """A view id that is not stored."""

    def __init__(self, view_id: str) -> None:
        super().__init__(f"unknown view {quoted(view_id)}")
        self.view_id = view_id


class UnknownMetric(NntscError):
    """A matrix metric that ampy does not know."""

    def __init__(self, metric: str) -> None:
        super().__init__(f"unknown matrix metric {quoted(metric)}")
        self.metric = metric


__all__ = [
    "BadGroupDescription",
    "BadQuery",
    "BadTimeRange",
    "NntscError",
    "StoreUnavailable",
    "UnknownCollection",
    "UnknownMetric",
    "UnknownStream",
    "UnknownView",
]
