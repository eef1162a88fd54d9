"""The periodic pruning of event groups: a Celery beat task, or a timer in process.

In production the beat of `nntsc.tasks` runs `nntsc.events.prune_groups`
every ``nntsc.event_pruning_period`` seconds (`PRUNE_PERIOD`, a minute) on a
worker: it prunes the groups of the last two hours
(`nntsc.events.groups.prune_recent`), which catches what several detecting
processes left side by side, and closes the groups that went quiet. The
embedded default has no Celery: the web app runs the same pass on a
`PeriodicPruner` thread (``nntsc.event_pruning = in_process``, the default,
started by `Services.start_background`; ``celery`` leaves it to the beat).

Pruning also runs in the transaction of every batch of new events, around
those events (`nntsc.events.groups.group_stored_events`), so the periodic
pass is a safety net and a clock, not the only place redundancy goes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from celery import Celery

from nntsc.errors import ConfigurationError
from nntsc.events.groups import PruneReport, prune_recent

log = logging.getLogger(__name__)

#: Seconds between two periodic pruning passes.
PRUNE_PERIOD = 60.0
#: Where the periodic pass runs: ``in_process`` or ``celery`` (setting ``nntsc.event_pruning``).
PRUNING_MODES = ("in_process", "celery")


def pruning_mode(settings: Any) -> str:
    """The ``nntsc.event_pruning`` setting, checked: ``in_process`` (default) or ``celery``."""
    mode = str(settings.get("nntsc.event_pruning") or "in_process").strip()
    if mode not in PRUNING_MODES:
        raise ConfigurationError(
            f"nntsc.event_pruning {mode!r}: expected one of {', '.join(PRUNING_MODES)}"
        )
    return mode


def register_event_tasks(app: Celery, period: float = PRUNE_PERIOD) -> None:
    """The pruning task, and its schedule: every `period` seconds.

    The period is ``nntsc.event_pruning_period`` (a minute by default).
    """

    @app.task(name="nntsc.events.prune_groups", bind=True, shared=False)
    def prune_event_groups(self: Any) -> int:
        """Prune the event groups of the last two hours; how many groups were merged."""
        return prune_recent(self.services).merged_total

    # A pass still queued when the next is due is dropped, as for rollups:
    # the next pass covers the same two hours.
    app.conf.beat_schedule = {
        **(app.conf.beat_schedule or {}),
        "prune-event-groups": {
            "task": "nntsc.events.prune_groups",
            "schedule": period,
            "options": {"expires": period - 5 if period > 10 else period},
        },
    }


class PeriodicPruner:
    """Runs `prune_recent` every `period` seconds on a daemon thread of this process."""

    def __init__(
        self,
        services: Any,
        period: float = PRUNE_PERIOD,
        prune: Callable[[Any], PruneReport] = prune_recent,
    ) -> None:
        self.services = services
        self.period = period
        self.prune = prune
        self.passes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> PruneReport | None:
        """One pass; an error is logged (the next pass tries again), never raised."""
        try:
            return self.prune(self.services)
        except Exception:
            log.exception("pruning event groups failed; trying again in %.0f s", self.period)
            return None
        finally:
            self.passes += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.run_once()

    def start(self) -> PeriodicPruner:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="event-pruner", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def start_in_process_pruning(services: Any) -> PeriodicPruner | None:
    """A started `PeriodicPruner` unless ``nntsc.event_pruning`` leaves pruning to Celery."""
    if pruning_mode(services.settings) == "celery":
        return None
    from nntsc.config import positive_seconds

    period = positive_seconds(services.settings, "nntsc.event_pruning_period", PRUNE_PERIOD)
    return PeriodicPruner(services, period).start()


def wait_for_passes(pruner: PeriodicPruner, count: int, timeout: float = 10.0) -> bool:
    """Whether `pruner` made `count` passes within `timeout` seconds (for tests and tools)."""
    deadline = time.monotonic() + timeout
    while pruner.passes < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return pruner.passes >= count
