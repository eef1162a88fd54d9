"""Schedule items of sites and meshes: create, change, enable, delete, read.

Every item belongs to one source, a site or a mesh, named with the item in
each call (``owner_kind`` ``site`` or ``mesh``, and its name), so that an id
reached through the wrong site is unknown rather than someone else's item.
Each method validates everything before writing, runs in one transaction
and marks the sites whose fetched schedule it changes
(`nntsc.schedules.changes`): a call that raises has changed nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from nntsc.errors import BadValue, UnknownMesh, UnknownScheduleItem, UnknownSite
from nntsc.schedules import changes
from nntsc.schedules.models import (
    PERIODS,
    ScheduleChange,
    ScheduleDestinationMesh,
    ScheduleDestinationSite,
    ScheduleItem,
)
from nntsc.schedules.options import check_args, get_test
from nntsc.store.models import Mesh, MeshMember, Site
from nntsc.store.sites import check_flag, check_name

OWNER_KINDS = ("site", "mesh")
#: Most destinations (sites and meshes together) one item may have.
MAX_DESTINATIONS = 1000


@dataclass(frozen=True)
class ScheduleItemInfo:
    """One schedule item as stored: the test, who runs it, towards what, and when."""

    id: int
    test: str
    #: ``site`` or ``mesh``: what `source` names.
    source_kind: str
    source: str
    frequency: int
    start: int
    end: int
    period: str
    mesh_offset: int
    args: str
    enabled: bool
    destination_sites: tuple[str, ...]
    destination_meshes: tuple[str, ...]
    #: Unix seconds of the last change.
    modified: int

    def as_dict(self) -> dict[str, Any]:
        """The item as JSON-ready data."""
        return {
            "id": self.id,
            "test": self.test,
            "source_kind": self.source_kind,
            "source": self.source,
            "frequency": self.frequency,
            "start": self.start,
            "end": self.end,
            "period": self.period,
            "mesh_offset": self.mesh_offset,
            "args": self.args,
            "enabled": self.enabled,
            "destination_sites": list(self.destination_sites),
            "destination_meshes": list(self.destination_meshes),
            "modified": self.modified,
        }


@dataclass(frozen=True)
class SiteSchedule:
    """What one site runs, as `nntsc.schedules.amplet` turns it into amplet2's YAML."""

    site: str
    #: The site's enabled items and those of every mesh it belongs to.
    items: tuple[ScheduleItemInfo, ...]
    #: The members (sorted) of each mesh the items run from or test towards.
    members: dict[str, tuple[str, ...]]
    #: Unix seconds of the last change to the site's schedule (0: never changed).
    modified: int


def _whole(value: Any, field: str, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadValue(field, f"expected a whole number of seconds, got {value!r}")
    if not minimum <= value <= maximum:
        raise BadValue(field, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _names(values: Any, field: str) -> tuple[str, ...]:
    """Valid, sorted, distinct names from a list (a string is not a list of names)."""
    if not isinstance(values, list | tuple):
        raise BadValue(field, "expected a list of names")
    if len(values) > MAX_DESTINATIONS:
        raise BadValue(field, f"at most {MAX_DESTINATIONS} destinations")
    return tuple(sorted({check_name(value, field) for value in values}))


#: A destination site as items write it: its name, then ``!<n>`` (at most n of
#: its addresses) and/or ``!v4`` / ``!v6`` (one family), as amp-web wrote them.
DESTINATION = re.compile(r"(?P<name>[^!]+)(?:!(?P<count>[1-9][0-9]{0,3}))?(?:!(?P<family>v4|v6))?")


@dataclass(frozen=True)
class Destination:
    """A destination site and which of its addresses to test (``None``: all)."""

    name: str
    count: int | None = None
    family: str | None = None

    @classmethod
    def parse(cls, text: Any, field: str = "destination_sites") -> Destination:
        """``amp-b``, ``amp-b!v6``, ``amp-b!2``, ``amp-b!2!v4``; raises `BadValue`."""
        match = DESTINATION.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise BadValue(
                field,
                f"{text!r} is not a site name, optionally followed by !<count> and/or !v4 or !v6",
            )
        count = match["count"]
        return cls(check_name(match["name"], field), int(count) if count else None, match["family"])

    def __str__(self) -> str:
        return self.name + "".join(f"!{part}" for part in (self.count, self.family) if part)

    def amplet_target(self) -> str:
        """The target as amplet2 reads it: ``name``, ``name:2``, ``name:v6``, ``name:2:v6``."""
        return self.name + "".join(f":{part}" for part in (self.count, self.family) if part)


def _site_destinations(values: Any) -> tuple[str, ...]:
    """Valid destination sites, each once (by name), in canonical form, sorted."""
    if not isinstance(values, list | tuple):
        raise BadValue("destination_sites", "expected a list of names")
    if len(values) > MAX_DESTINATIONS:
        raise BadValue("destination_sites", f"at most {MAX_DESTINATIONS} destinations")
    found: dict[str, Destination] = {}
    for value in values:
        destination = Destination.parse(value)
        if found.get(destination.name, destination) != destination:
            raise BadValue("destination_sites", f"site {destination.name!r} is given twice")
        found[destination.name] = destination
    return tuple(str(found[name]) for name in sorted(found))


def check_item(item: ScheduleItemInfo) -> ScheduleItemInfo:
    """`item` if its fields fit together, with its args tidied; raises `BadValue` naming the field.

    What needs the database (that destinations exist) is checked by the registry.
    """
    test = get_test(item.test)
    if item.period not in PERIODS:
        raise BadValue("period", f"must be one of {', '.join(PERIODS)}, got {item.period!r}")
    length = PERIODS[item.period]
    _whole(item.frequency, "frequency", 0, length)
    _whole(item.start, "start", 0, length - 1)
    _whole(item.end, "end", 1, length)
    if item.end <= item.start:
        raise BadValue("end", f"must be after start ({item.start}), got {item.end}")
    _whole(item.mesh_offset, "mesh_offset", 0, length)
    if item.mesh_offset and item.source_kind != "mesh":
        raise BadValue("mesh_offset", "only a mesh's items are staggered between its members")
    check_flag(item.enabled, "enabled")
    sites = _site_destinations(item.destination_sites)
    meshes = _names(item.destination_meshes, "destination_meshes")
    if not test.has_targets and (sites or meshes):
        raise BadValue(
            "destination_sites" if sites else "destination_meshes",
            f"the {test.name} test takes no destinations: its server is in its arguments",
        )
    if test.has_targets and len(sites) + len(meshes) < test.min_targets:
        raise BadValue(
            "destination_sites",
            f"the {test.name} test needs at least {test.min_targets} destination (a site or mesh)",
        )
    if item.source_kind == "site" and item.source in {Destination.parse(s).name for s in sites}:
        raise BadValue("destination_sites", f"site {item.source!r} cannot test itself")
    if len(sites) + len(meshes) > MAX_DESTINATIONS:
        raise BadValue("destination_sites", f"at most {MAX_DESTINATIONS} destinations")
    return replace(
        item,
        args=check_args(item.test, item.args),
        destination_sites=sites,
        destination_meshes=meshes,
    )


def _check_owner(owner_kind: Any, owner: Any) -> tuple[str, str]:
    if owner_kind not in OWNER_KINDS:
        raise BadValue("owner_kind", f"must be one of {', '.join(OWNER_KINDS)}")
    return owner_kind, check_name(owner)


class ScheduleRegistry:
    """The schedule items in the SQL database (see the module's docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # -- reading --------------------------------------------------------------------

    def list_items(
        self, owner_kind: str, owner: str, inherited: bool = False
    ) -> list[ScheduleItemInfo]:
        """The items of site or mesh `owner`, by test, frequency, start and id.

        With `inherited` (sites only), the items of every mesh the site belongs
        to come too, each naming its mesh as its source. Raises `UnknownSite`
        or `UnknownMesh`.
        """
        owner_kind, owner = _check_owner(owner_kind, owner)
        with self.sessions() as session:
            self._require_owner(session, owner_kind, owner)
            if owner_kind == "mesh":
                condition = ScheduleItem.source_mesh == owner
            elif inherited:
                meshes = select(MeshMember.mesh_name).where(MeshMember.site_name == owner)
                condition = or_(
                    ScheduleItem.source_site == owner, ScheduleItem.source_mesh.in_(meshes)
                )
            else:
                condition = ScheduleItem.source_site == owner
            items = session.scalars(
                select(ScheduleItem)
                .where(condition)
                .order_by(
                    ScheduleItem.test,
                    ScheduleItem.frequency,
                    ScheduleItem.start,
                    ScheduleItem.id,
                )
            ).all()
            return self._infos(session, items)

    def get_item(self, owner_kind: str, owner: str, item_id: int) -> ScheduleItemInfo:
        """Item `item_id` of `owner`; raises `UnknownScheduleItem` (or an unknown owner)."""
        owner_kind, owner = _check_owner(owner_kind, owner)
        with self.sessions() as session:
            item = self._owned(session, owner_kind, owner, item_id)
            return self._infos(session, [item])[0]

    def site_schedule(self, site: str) -> SiteSchedule:
        """What site `site` runs: its and its meshes' enabled items; raises `UnknownSite`."""
        items = [item for item in self.list_items("site", site, inherited=True) if item.enabled]
        with self.sessions() as session:
            change = session.get(ScheduleChange, site)
            meshes = {item.source for item in items if item.source_kind == "mesh"}
            for item in items:
                meshes.update(item.destination_meshes)
            members: dict[str, list[str]] = {mesh: [] for mesh in meshes}
            if meshes:
                for mesh, member in session.execute(
                    select(MeshMember.mesh_name, MeshMember.site_name)
                    .where(MeshMember.mesh_name.in_(sorted(meshes)))
                    .order_by(MeshMember.site_name)
                ):
                    members[mesh].append(member)
            return SiteSchedule(
                site,
                tuple(items),
                {mesh: tuple(names) for mesh, names in members.items()},
                change.modified if change is not None else 0,
            )

    # -- writing --------------------------------------------------------------------

    def create_item(
        self,
        owner_kind: str,
        owner: str,
        *,
        test: str,
        frequency: int,
        start: int = 0,
        end: int | None = None,
        period: str = "day",
        mesh_offset: int = 0,
        args: str = "",
        enabled: bool = True,
        destination_sites: Iterable[str] = (),
        destination_meshes: Iterable[str] = (),
    ) -> ScheduleItemInfo:
        """A new item of site or mesh `owner`; `end` defaults to the end of the period.

        Raises `BadValue` naming the field (an unknown destination too),
        `UnknownSite` or `UnknownMesh` for the owner.
        """
        owner_kind, owner = _check_owner(owner_kind, owner)
        if end is None:
            end = PERIODS.get(period, 0)
        item = check_item(
            ScheduleItemInfo(
                id=0,
                test=test,
                source_kind=owner_kind,
                source=owner,
                frequency=frequency,
                start=start,
                end=end,
                period=period,
                mesh_offset=mesh_offset,
                args=args,
                enabled=enabled,
                destination_sites=_site_destinations(destination_sites),
                destination_meshes=_names(destination_meshes, "destination_meshes"),
                modified=0,
            )
        )
        with self.sessions.begin() as session:
            self._require_owner(session, owner_kind, owner)
            self._require_destinations(session, item.destination_sites, item.destination_meshes)
            row = ScheduleItem(
                test=item.test,
                source_site=owner if owner_kind == "site" else None,
                source_mesh=owner if owner_kind == "mesh" else None,
                frequency=item.frequency,
                start=item.start,
                end=item.end,
                period=item.period,
                mesh_offset=item.mesh_offset,
                args=item.args,
                enabled=item.enabled,
                modified=int(time.time()),
            )
            session.add(row)
            session.flush()
            self._set_destinations(session, row.id, item.destination_sites, item.destination_meshes)
            changes.mark_changed(session, changes.runners(session, [row.id]))
            return self._infos(session, [row])[0]

    def update_item(
        self, owner_kind: str, owner: str, item_id: int, **fields: Any
    ) -> ScheduleItemInfo:
        """Change the given fields of item `item_id` (the others stay); the changed item.

        Fields are those of `create_item`; `destination_sites` and
        `destination_meshes` replace the lists. The item as changed is checked
        whole (new arguments against a new test). Raises `BadValue`,
        `UnknownScheduleItem` or an unknown owner.
        """
        owner_kind, owner = _check_owner(owner_kind, owner)
        allowed = {
            "test",
            "frequency",
            "start",
            "end",
            "period",
            "mesh_offset",
            "args",
            "enabled",
            "destination_sites",
            "destination_meshes",
        }
        unknown = sorted(set(fields) - allowed)
        if unknown:
            raise BadValue(unknown[0], "not a field of a schedule item")
        with self.sessions.begin() as session:
            row = self._owned(session, owner_kind, owner, item_id)
            current = self._infos(session, [row])[0]
            item = check_item(replace(current, **fields))
            self._require_destinations(session, item.destination_sites, item.destination_meshes)
            if item == current:
                return current
            for column in ("test", "frequency", "start", "end", "period", "mesh_offset", "args"):
                setattr(row, column, getattr(item, column))
            row.enabled = item.enabled
            row.modified = max(int(time.time()), current.modified + 1)
            self._set_destinations(session, row.id, item.destination_sites, item.destination_meshes)
            changes.mark_changed(session, changes.runners(session, [row.id]))
            return self._infos(session, [row])[0]

    def set_enabled(
        self, owner_kind: str, owner: str, item_id: int, enabled: bool
    ) -> ScheduleItemInfo:
        """Enable or disable item `item_id` (a disabled item is kept but not fetched)."""
        return self.update_item(owner_kind, owner, item_id, enabled=check_flag(enabled, "enabled"))

    def add_destination(
        self, owner_kind: str, owner: str, item_id: int, kind: str, name: str
    ) -> ScheduleItemInfo:
        """Add site or mesh (`kind`) `name` to the destinations of item `item_id` (if not there).

        A site may carry address qualifiers (``amp-b!v6``), which replace those
        it had if it was there already.
        """
        field = self._destination_field(kind)
        current = self.get_item(owner_kind, owner, item_id)
        names = getattr(current, field)
        if name in names:
            return current
        if kind == "site":
            added = Destination.parse(name, "site")
            names = [other for other in names if Destination.parse(other).name != added.name]
        return self.update_item(owner_kind, owner, item_id, **{field: [*names, name]})

    def remove_destination(
        self, owner_kind: str, owner: str, item_id: int, kind: str, name: str
    ) -> ScheduleItemInfo:
        """Take site or mesh (`kind`) `name` out of item `item_id`'s destinations.

        Raises `BadValue` if it is not one of them, or if the item would be
        left with fewer than its test needs (delete the item instead).
        """
        field = self._destination_field(kind)
        current = self.get_item(owner_kind, owner, item_id)
        names = getattr(current, field)

        def named(other: str) -> str:
            return Destination.parse(other).name if kind == "site" else other

        if name not in {named(other) for other in names}:
            raise BadValue("destination", f"{kind} {name!r} is not a destination of this item")
        remaining = [other for other in names if named(other) != name]
        return self.update_item(owner_kind, owner, item_id, **{field: remaining})

    def save_items(
        self, owner_kind: str, owner: str, wanted: Sequence[dict[str, Any]]
    ) -> list[ScheduleItemInfo]:
        """Make `owner`'s items those `wanted` (`create_item` keyword arguments); its items.

        For loaders that describe the schedule they want (such as the demo) and
        may run more than once: when the items already say the same, nothing
        changes (and monitors are not sent the schedule again); otherwise the
        old items are deleted and the wanted ones created. The wanted items are
        checked before anything is deleted.
        """
        current = self.list_items(owner_kind, owner)
        # What each wanted item would be, checked, without its id and times.
        wanted_items = [
            check_item(
                ScheduleItemInfo(
                    id=0,
                    source_kind=owner_kind,
                    source=owner,
                    modified=0,
                    **{
                        "start": 0,
                        "end": PERIODS.get(fields.get("period", "day"), 0),
                        "period": "day",
                        "mesh_offset": 0,
                        "args": "",
                        "enabled": True,
                        **fields,
                        "destination_sites": _site_destinations(
                            fields.get("destination_sites", ())
                        ),
                        "destination_meshes": _names(
                            fields.get("destination_meshes", ()), "destination_meshes"
                        ),
                    },
                )
            )
            for fields in wanted
        ]

        def comparable(items: Iterable[ScheduleItemInfo]) -> list[str]:
            return sorted(repr(replace(item, id=0, modified=0)) for item in items)

        if comparable(current) == comparable(wanted_items):
            return current
        for item in current:
            self.delete_item(owner_kind, owner, item.id)
        return [self.create_item(owner_kind, owner, **fields) for fields in wanted]

    def delete_item(self, owner_kind: str, owner: str, item_id: int) -> None:
        """Delete item `item_id` of `owner`; raises `UnknownScheduleItem` or an unknown owner."""
        owner_kind, owner = _check_owner(owner_kind, owner)
        with self.sessions.begin() as session:
            row = self._owned(session, owner_kind, owner, item_id)
            affected = changes.runners(session, [row.id])
            for table in (ScheduleDestinationSite, ScheduleDestinationMesh):
                session.execute(delete(table).where(table.item_id == row.id))
            deleted = cast(
                "CursorResult[Any]",
                session.execute(delete(ScheduleItem).where(ScheduleItem.id == row.id)),
            )
            if deleted.rowcount == 0:
                raise UnknownScheduleItem(item_id, owner)
            changes.mark_changed(session, affected)

    # -- helpers --------------------------------------------------------------------

    @staticmethod
    def _destination_field(kind: str) -> str:
        if kind == "site":
            return "destination_sites"
        if kind == "mesh":
            return "destination_meshes"
        raise BadValue("kind", f"a destination is a site or a mesh, not {kind!r}")

    @staticmethod
    def _require_owner(session: Session, owner_kind: str, owner: str) -> None:
        if owner_kind == "site" and session.get(Site, owner) is None:
            raise UnknownSite(owner)
        if owner_kind == "mesh" and session.get(Mesh, owner) is None:
            raise UnknownMesh(owner)

    @staticmethod
    def _require_destinations(
        session: Session, sites: Sequence[str], meshes: Sequence[str]
    ) -> None:
        """Raise `BadValue` for the first destination (by name) that does not exist."""
        site_names = [Destination.parse(site).name for site in sites]
        for field, model, names, kind in (
            ("destination_sites", Site, site_names, "site"),
            ("destination_meshes", Mesh, meshes, "mesh"),
        ):
            if not names:
                continue
            known = set(session.scalars(select(model.name).where(model.name.in_(list(names)))))
            missing = sorted(set(names) - known)
            if missing:
                raise BadValue(field, f"unknown {kind} {missing[0]!r}")

    def _owned(self, session: Session, owner_kind: str, owner: str, item_id: int) -> ScheduleItem:
        self._require_owner(session, owner_kind, owner)
        if not isinstance(item_id, int) or isinstance(item_id, bool):
            raise BadValue("item_id", f"expected a whole number, got {item_id!r}")
        item = session.get(ScheduleItem, item_id)
        if item is None or (item.source_site, item.source_mesh) != (
            (owner, None) if owner_kind == "site" else (None, owner)
        ):
            raise UnknownScheduleItem(item_id, owner)
        return item

    @staticmethod
    def _set_destinations(
        session: Session, item_id: int, sites: Sequence[str], meshes: Sequence[str]
    ) -> None:
        # Few rows an item: replaced whole rather than compared.
        for table in (ScheduleDestinationSite, ScheduleDestinationMesh):
            session.execute(delete(table).where(table.item_id == item_id))
        session.flush()
        for site in map(Destination.parse, sites):
            session.add(
                ScheduleDestinationSite(
                    item_id=item_id,
                    site_name=site.name,
                    address_family=site.family,
                    address_count=site.count,
                )
            )
        session.add_all(ScheduleDestinationMesh(item_id=item_id, mesh_name=mesh) for mesh in meshes)
        session.flush()

    @staticmethod
    def _infos(session: Session, items: Sequence[ScheduleItem]) -> list[ScheduleItemInfo]:
        """`ScheduleItemInfo` of each item, in order, with all their destinations in two queries."""
        ids = [item.id for item in items]
        sites: dict[int, list[str]] = {item_id: [] for item_id in ids}
        meshes: dict[int, list[str]] = {item_id: [] for item_id in ids}
        if ids:
            for item_id, name, family, count in session.execute(
                select(
                    ScheduleDestinationSite.item_id,
                    ScheduleDestinationSite.site_name,
                    ScheduleDestinationSite.address_family,
                    ScheduleDestinationSite.address_count,
                )
                .where(ScheduleDestinationSite.item_id.in_(ids))
                .order_by(ScheduleDestinationSite.site_name)
            ):
                sites[item_id].append(str(Destination(name, count, family)))
            for item_id, name in session.execute(
                select(ScheduleDestinationMesh.item_id, ScheduleDestinationMesh.mesh_name)
                .where(ScheduleDestinationMesh.item_id.in_(ids))
                .order_by(ScheduleDestinationMesh.mesh_name)
            ):
                meshes[item_id].append(name)
        return [
            ScheduleItemInfo(
                id=item.id,
                test=item.test,
                source_kind="site" if item.source_site is not None else "mesh",
                source=cast(str, item.source_site or item.source_mesh),
                frequency=item.frequency,
                start=item.start,
                end=item.end,
                period=item.period,
                mesh_offset=item.mesh_offset,
                args=item.args,
                enabled=item.enabled,
                destination_sites=tuple(sites[item.id]),
                destination_meshes=tuple(meshes[item.id]),
                modified=item.modified,
            )
            for item in items
        ]
