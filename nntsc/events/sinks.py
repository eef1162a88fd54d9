"""Where newly stored events go next: callables registered by other parts.

The detection engine (`nntsc.events.engine`) stores events and, in the same
transaction, hands the ones that were new (not already stored by an earlier
run or another process) to every registered sink, in registration order. A
sink that raises rolls the transaction back: the events are not stored and
the rows that produced them are detected again (live: not acknowledged;
history: the command fails), so a grouping error loses nothing.

A sink is given the new events' columns (`NewEvent`: what was inserted and
the id it got), not ORM objects: loading the new rows back as `Event`
objects cost more than inserting them.

A module that wants events registers its sink when it is imported, and names
itself in `SINK_MODULES` so that every process running detection imports it::

    # nntsc/events/grouping.py
    from nntsc.events import sinks

    def add_events(session: Session, events: Sequence[NewEvent]) -> None: ...

    sinks.register(add_events)
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(slots=True)
class NewEvent:
    """A newly stored event as the sinks see it: the columns of its ``events`` row."""

    id: int
    collection: str
    stream_id: int
    detector: str
    metric: str
    kind: str
    direction: str
    ts_onset: int
    ts_detected: int
    ts_ended: int | None
    severity: int
    old_value: float | None
    new_value: float | None
    unit: str
    description: str
    source: str
    target: str
    details: dict[str, Any] | None


#: A sink: the open session (its transaction holds the new events) and the new events.
EventSink = Callable[["Session", "Sequence[NewEvent]"], None]

#: Modules imported by `load_sinks`, each registering its sinks on import.
SINK_MODULES: tuple[str, ...] = ("nntsc.events.groups",)

_sinks: list[EventSink] = []
_lock = threading.Lock()


def register(sink: EventSink) -> EventSink:
    """Add `sink` once (again changes nothing); returns it, so it serves as a decorator."""
    with _lock:
        if sink not in _sinks:
            _sinks.append(sink)
    return sink


def unregister(sink: EventSink) -> None:
    """Remove `sink` if it is registered."""
    with _lock:
        if sink in _sinks:
            _sinks.remove(sink)


def registered() -> list[EventSink]:
    """The registered sinks, in the order they are called."""
    with _lock:
        return list(_sinks)


def load_sinks() -> list[EventSink]:
    """Import every module of `SINK_MODULES` (registering their sinks); the sinks."""
    for name in SINK_MODULES:
        importlib.import_module(name)
    return registered()


def deliver(session: Session, events: Sequence[NewEvent]) -> None:
    """Call every registered sink with `events` (nothing to do when there are none)."""
    if not events:
        return
    for sink in registered():
        sink(session, events)
