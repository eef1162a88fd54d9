"""Which sites' schedules a change touches, and marking them changed (`ScheduleChange`).

amplet2 asks for its schedule with ``If-Modified-Since`` and fetches it
again only when it changed, so every change that alters a site's document
must move that site's time on, in the same transaction as the change:

- an item's own change: the sites that run it (its source site, or every
  member of its source mesh);
- a change of a mesh's members (or the mesh deleted): its members before and
  after (they gain or lose its items, and their staggered start times move)
  and the sites running items that target the mesh (their target lists);
- a site deleted: the sites running items that target it, directly or
  through its meshes, and the members of its meshes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nntsc.schedules.models import (
    ScheduleChange,
    ScheduleDestinationMesh,
    ScheduleDestinationSite,
    ScheduleItem,
)
from nntsc.store.models import MeshMember, Site


def members(session: Session, mesh_names: Iterable[str]) -> set[str]:
    """The sites in any of `mesh_names`."""
    names = list(mesh_names)
    if not names:
        return set()
    return set(session.scalars(select(MeshMember.site_name).where(MeshMember.mesh_name.in_(names))))


def runners(session: Session, item_ids: Iterable[int]) -> set[str]:
    """The sites that run any of the items `item_ids` (mesh sources expanded to members)."""
    ids = list(item_ids)
    if not ids:
        return set()
    rows = session.execute(
        select(ScheduleItem.source_site, ScheduleItem.source_mesh).where(ScheduleItem.id.in_(ids))
    ).all()
    sites = {site for site, _ in rows if site is not None}
    return sites | members(session, {mesh for _, mesh in rows if mesh is not None})


def affected_by_mesh(session: Session, mesh_name: str) -> set[str]:
    """The sites whose schedules change when mesh `mesh_name`'s members change (as they are now)."""
    targeting = session.scalars(
        select(ScheduleDestinationMesh.item_id).where(
            ScheduleDestinationMesh.mesh_name == mesh_name
        )
    )
    return members(session, [mesh_name]) | runners(session, targeting)


def affected_by_site(session: Session, site_name: str) -> set[str]:
    """The other sites whose schedules change when site `site_name` is deleted."""
    meshes = list(
        session.scalars(select(MeshMember.mesh_name).where(MeshMember.site_name == site_name))
    )
    affected: set[str] = set()
    for mesh in meshes:
        affected |= affected_by_mesh(session, mesh)
    targeting = session.scalars(
        select(ScheduleDestinationSite.item_id).where(
            ScheduleDestinationSite.site_name == site_name
        )
    )
    affected |= runners(session, targeting)
    affected.discard(site_name)
    return affected


def mark_changed(session: Session, site_names: Iterable[str], now: float | None = None) -> None:
    """Move the schedule change time of each of `site_names` (that still exists) on.

    The new time is now, or one second after the previous one if that is
    later: HTTP dates count whole seconds, and a client that fetched a
    schedule in the same second as a later change must still see that
    change as newer than its copy.
    """
    names = sorted(set(site_names))
    if not names:
        return
    seconds = int(time.time() if now is None else now)
    existing = set(session.scalars(select(Site.name).where(Site.name.in_(names))))
    changes = {
        change.site_name: change
        for change in session.scalars(
            select(ScheduleChange).where(ScheduleChange.site_name.in_(names))
        )
    }
    for name in names:
        if name not in existing:
            continue
        change = changes.get(name)
        if change is None:
            try:
                # In a savepoint: another transaction may insert the same
                # site's first row at the same moment; then move that one on.
                with session.begin_nested():
                    session.add(ScheduleChange(site_name=name, modified=seconds))
                continue
            except IntegrityError:
                change = session.get(ScheduleChange, name, populate_existing=True)
                if change is None:
                    raise
        change.modified = max(seconds, change.modified + 1)
    session.flush()
