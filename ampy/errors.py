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


class BadCursor(BadQuery):
    """A page cursor that no list answer gave out."""

    def __init__(self, cursor: str) -> None:
        super().__init__(f"cursor {cursor!r} is not one a list answer gave")
        self.cursor = cursor


class UnknownEvent(NntscError):
    """An event id that is not stored."""

    def __init__(self, event_id: int) -> None:
        super().__init__(f"unknown event {event_id}")
        self.event_id = event_id


class UnknownEventGroup(NntscError):
    """An event group id that is not stored."""

    def __init__(self, group_id: int) -> None:
        super().__init__(f"unknown event group {group_id}")
        self.group_id = group_id


class UnknownEventFilter(NntscError):
    """A saved event filter id that the user has not saved (or that is someone else's)."""

    def __init__(self, filter_id: int) -> None:
        super().__init__(f"unknown event filter {filter_id}")
        self.filter_id = filter_id


class UnknownMetric(NntscError):
    """A matrix metric that ampy does not know."""

    def __init__(self, metric: str) -> None:
        super().__init__(f"unknown matrix metric {quoted(metric)}")
        self.metric = metric


__all__ = [
    "BadCursor",
    "BadGroupDescription",
    "BadQuery",
    "BadTimeRange",
    "NntscError",
    "StoreUnavailable",
    "UnknownCollection",
    "UnknownEvent",
    "UnknownEventFilter",
    "UnknownEventGroup",
    "UnknownMetric",
    "UnknownStream",
    "UnknownView",
]
