"""Views: immutable saved graphs addressed by an id derived from their content.

A view is a view style and a sorted set of group descriptions. Its id is the
first 60 bits of the SHA-256 of that content, in URL-safe base32, so the
same graph always gets the same id (in any database), and "adding a group"
yields another view rather than changing one that someone bookmarked.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ampy.collections import style_collections
from ampy.errors import BadGroupDescription, UnknownView
from ampy.groups import Group, parse_group, spec_for
from ampy.words import counted
from nntsc.store.models import View as ViewRecord

VIEW_ID = re.compile(r"^[a-z2-7]{12}$")
#: The most groups one view may hold.
MAX_GROUPS = 50


def view_styles() -> dict[str, tuple[str, ...]]:
    """Every view style and the collections its graphs may hold (`ampy.collections`)."""
    return style_collections()


@dataclass(frozen=True)
class ViewInfo:
    """A stored view: its id, style and parsed groups (sorted by description)."""

    view_id: str
    style: str
    groups: tuple[Group, ...]

    @property
    def descriptions(self) -> list[str]:
        return [g.description for g in self.groups]


def view_id_for(style: str, descriptions: Sequence[str]) -> str:
    """The content-derived id of a view of `style` with these (canonical, sorted) groups."""
    content = "\n".join([style, *descriptions]).encode()
    digest = hashlib.sha256(content).digest()
    return base64.b32encode(digest[:8]).decode().lower()[:12]


def _canonical(style: str, groups: Iterable[Group | str]) -> tuple[Group, ...]:
    styles = style_collections()
    allowed = styles.get(style)
    if allowed is None:
        raise BadGroupDescription(
            f"unknown view style {style!r}; one of {', '.join(sorted(styles))}"
        )
    parsed = {g if isinstance(g, Group) else parse_group(g) for g in groups}
    if len(parsed) > MAX_GROUPS:
        raise BadGroupDescription(f"a view holds at most {MAX_GROUPS} groups")
    for group in parsed:
        if group.collection not in allowed:
            raise BadGroupDescription(
                f"{style} views draw {', '.join(allowed)}, not {group.collection}"
            )
    for name in {g.collection for g in parsed}:
        limit = spec_for(name).max_groups
        count = sum(1 for g in parsed if g.collection == name)
        if limit is not None and count > limit:
            raise BadGroupDescription(
                f"a {style} view holds at most {counted(limit, f'{name} group')}"
            )
    return tuple(sorted(parsed, key=lambda g: g.description))


class ViewStore:
    """Creates and reads views in SQL; creating an existing view returns its id."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, style: str, groups: Iterable[Group | str]) -> str:
        """The id of the view of `style` with `groups`, stored if it was new.

        Raises `BadGroupDescription` for a bad group, an unknown style, or a
        group whose collection the style does not draw.
        """
        canonical = _canonical(style, groups)
        descriptions = [g.description for g in canonical]
        view_id = view_id_for(style, descriptions)
        with self.sessions() as session:
            if session.get(ViewRecord, view_id) is not None:
                return view_id
            session.add(
                ViewRecord(
                    view_id=view_id, style=style, groups=descriptions, created=int(time.time())
                )
            )
            try:
                session.commit()
            except IntegrityError:
                # Another request stored the same view first: same content, same id.
                session.rollback()
        return view_id

    def create_many(self, style: str, groups: Sequence[Group]) -> list[str]:
        """The ids of one-group views of `style`, one per group, storing the new ones at once.

        The matrix links each cell to its pair's graph; this stores those
        views with one read and one bulk insert rather than a round trip each.
        """
        canonical = [_canonical(style, [group]) for group in groups]
        ids = [view_id_for(style, [g.description for g in view]) for view in canonical]
        if not ids:
            return ids
        with self.sessions() as session:
            known = set(
                session.scalars(select(ViewRecord.view_id).where(ViewRecord.view_id.in_(ids)))
            )
            now = int(time.time())
            new = {
                view_id: view
                for view_id, view in zip(ids, canonical, strict=True)
                if view_id not in known
            }
            if new:
                session.add_all(
                    ViewRecord(
                        view_id=view_id,
                        style=style,
                        groups=[g.description for g in view],
                        created=now,
                    )
                    for view_id, view in new.items()
                )
                try:
                    session.commit()
                except IntegrityError:
                    # A concurrent matrix stored some of them: store the rest one by one.
                    session.rollback()
                    for view in new.values():
                        self.create(style, view)
        return ids

    def get(self, view_id: str) -> ViewInfo:
        """The view `view_id`; raises `UnknownView`."""
        if not isinstance(view_id, str) or not VIEW_ID.match(view_id):
            raise UnknownView(str(view_id))
        with self.sessions() as session:
            record = session.execute(
                select(ViewRecord.style, ViewRecord.groups).where(ViewRecord.view_id == view_id)
            ).first()
        if record is None:
            raise UnknownView(view_id)
        style, descriptions = record
        return ViewInfo(view_id, style, tuple(parse_group(d) for d in descriptions))

    def add_group(self, view_id: str, group: Group | str) -> str:
        """The id of the view with `group` added (or the same id if it was there)."""
        view = self.get(view_id)
        new = group if isinstance(group, Group) else parse_group(group)
        limit = new.spec.max_groups
        groups: list[Group] = list(view.groups)
        if limit is not None:
            # A map draws one path: a new traceroute group replaces the old one.
            same = [g for g in groups if g.collection == new.collection]
            if len(same) >= limit:
                groups = [g for g in groups if g.collection != new.collection]
        return self.create(view.style, [*groups, new])

    def remove_group(self, view_id: str, group: Group | str) -> str:
        """The id of the view without `group`; removing the last group gives the empty view."""
        view = self.get(view_id)
        gone = (group if isinstance(group, Group) else parse_group(group)).description
        if gone not in view.descriptions:
            raise BadGroupDescription(f"view {view_id} has no group {gone!r}")
        return self.create(view.style, [g for g in view.groups if g.description != gone])
