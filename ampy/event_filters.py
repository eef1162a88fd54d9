"""Users' saved dashboard filters (the ``event_filters`` table): list, read, save, change, delete.

A saved filter is a name, an `nntsc.events.filters.EventFilterSpec` stored
as its JSON (`EventFilterSpec.to_json`), and whether its owner wants
notifications of the groups it matches. Every call takes the owner's user
name and sees only that user's filters: another user's filter is as
unknown as one that does not exist (`UnknownEventFilter`), so ids reveal
nothing about other users.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ampy.errors import UnknownEventFilter
from nntsc.errors import AlreadyExists, BadValue
from nntsc.events.filters import EventFilterSpec
from nntsc.events.models import EventFilter

__all__ = ["MAX_FILTERS", "MAX_NAME", "SavedEventFilters"]

#: The longest name of a saved filter (the column's width).
MAX_NAME = 255
#: The most filters one user may save.
MAX_FILTERS = 100


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise BadValue("name", "must be a string")
    name = name.strip()
    if not name or len(name) > MAX_NAME or "\x00" in name:
        raise BadValue("name", f"must be 1 to {MAX_NAME} characters")
    return name


def _check_notify(notify: Any) -> bool:
    if not isinstance(notify, bool):
        raise BadValue("notify", "must be true or false")
    return notify


def as_dict(row: EventFilter) -> dict[str, Any]:
    """A saved filter for the API: its fields, and ``query``, the dashboard's query string."""
    try:
        query = urlencode(EventFilterSpec.from_json(row.filter).to_params())
    except BadValue:
        # Saved before a collection it names was removed: shown, not loadable.
        query = None
    return {
        "id": row.id,
        "name": row.name,
        "filter": row.filter,
        "notify": row.notify,
        "created": row.created,
        "updated": row.updated,
        "query": query,
    }


class SavedEventFilters:
    """The saved filters of each user, in SQL."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _own(self, session: Session, username: str, filter_id: int) -> EventFilter:
        row = session.get(EventFilter, filter_id)
        if row is None or row.username != username:
            raise UnknownEventFilter(filter_id)
        return row

    def list(self, username: str) -> list[dict[str, Any]]:
        """`username`'s saved filters, by name."""
        with self.sessions() as session:
            rows = session.scalars(
                select(EventFilter)
                .where(EventFilter.username == username)
                .order_by(EventFilter.name, EventFilter.id)
            ).all()
            return [as_dict(row) for row in rows]

    def get(self, username: str, filter_id: int) -> dict[str, Any]:
        """One of `username`'s filters; `UnknownEventFilter` if they have none with that id."""
        with self.sessions() as session:
            return as_dict(self._own(session, username, filter_id))

    def create(
        self,
        username: str,
        name: Any,
        spec: EventFilterSpec,
        notify: Any = False,
        now: int | None = None,
    ) -> dict[str, Any]:
        """Save `spec` as `username`'s filter `name`; `AlreadyExists` if they have one so named."""
        name = _check_name(name)
        notify = _check_notify(notify)
        now = int(time.time()) if now is None else now
        try:
            with self.sessions.begin() as session:
                saved = session.scalar(select(func.count()).where(EventFilter.username == username))
                if (saved or 0) >= MAX_FILTERS:
                    raise BadValue("name", f"a user may save at most {MAX_FILTERS} filters")
                self._check_free(session, username, name, None)
                row = EventFilter(
                    username=username,
                    name=name,
                    filter=spec.to_json(),
                    notify=notify,
                    created=now,
                    updated=now,
                )
                session.add(row)
                session.flush()
                return as_dict(row)
        except IntegrityError:
            # Saved under the same name by a concurrent request.
            raise AlreadyExists("event filter", name) from None

    def update(
        self,
        username: str,
        filter_id: int,
        name: Any = None,
        spec: EventFilterSpec | None = None,
        notify: Any = None,
        now: int | None = None,
    ) -> dict[str, Any]:
        """Change the name, filter or notify flag (those given) of one of `username`'s filters."""
        if name is not None:
            name = _check_name(name)
        if notify is not None:
            notify = _check_notify(notify)
        now = int(time.time()) if now is None else now
        try:
            with self.sessions.begin() as session:
                row = self._own(session, username, filter_id)
                if name is not None:
                    self._check_free(session, username, name, filter_id)
                    row.name = name
                if spec is not None:
                    row.filter = spec.to_json()
                if notify is not None:
                    row.notify = notify
                row.updated = now
                session.flush()
                return as_dict(row)
        except IntegrityError:
            raise AlreadyExists("event filter", str(name)) from None

    def delete(self, username: str, filter_id: int) -> None:
        """Delete one of `username`'s filters; `UnknownEventFilter` if there is none so numbered."""
        with self.sessions.begin() as session:
            session.delete(self._own(session, username, filter_id))

    @staticmethod
    def _check_free(session: Session, username: str, name: str, filter_id: int | None) -> None:
        taken = session.scalar(
            select(EventFilter.id).where(EventFilter.username == username, EventFilter.name == name)
        )
        if taken is not None and taken != filter_id:
            raise AlreadyExists("event filter", name)
