"""Sites and meshes: create, update, delete, look up and page them, and mesh membership.

A site is an AMP monitor or target, named as reports name it; a mesh is a
named set of sites, used as the sources or the destinations of a matrix. The
web app's admin pages and REST API call `SiteRegistry`; it hands back frozen
`SiteInfo` and `MeshInfo` values, never ORM objects tied to a session.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from nntsc.errors import QUOTED, AlreadyExists, BadValue, UnknownMesh, UnknownSite, quoted
from nntsc.schedules import changes as schedule_changes
from nntsc.schedules.models import (
    ScheduleChange,
    ScheduleDestinationMesh,
    ScheduleDestinationSite,
    ScheduleItem,
)
from nntsc.store.models import Mesh, MeshMember, Site
from nntsc.store.streams import Page

#: What a site or mesh name may be made of: AMP names, addresses and host names fit.
NAME_LENGTH = 255
NAME = re.compile(rf"[A-Za-z0-9._:/-]{{1,{NAME_LENGTH}}}")
#: Column widths of the text fields, so that too long a value is a `BadValue`
#: here rather than a database error (or, on SQLite, silently stored).
LONG_NAME_LENGTH = 255
LOCATION_LENGTH = 255
DESCRIPTION_LENGTH = 1000
MAX_PAGESIZE = 1000
#: A "schedule" segment after a name's first: the API reads
#: ``/api/v1/sites/<name>/schedule...`` as the schedule of what comes before it.
SCHEDULE_SEGMENT = re.compile(r"/schedule(?:/|$)")


@dataclass(frozen=True)
class SiteInfo:
    """A site: its AMP name, a name for people, where it is and its addresses."""

    name: str
    long_name: str = ""
    location: str = ""
    description: str = ""
    addresses: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The site as JSON-ready data."""
        return {
            "name": self.name,
            "long_name": self.long_name,
            "location": self.location,
            "description": self.description,
            "addresses": list(self.addresses),
        }


@dataclass(frozen=True)
class MeshInfo:
    """A mesh, whether it serves as matrix sources and/or destinations, and its sites."""

    name: str
    long_name: str = ""
    description: str = ""
    is_source: bool = False
    is_destination: bool = False
    public: bool = True
    #: Site names, sorted.
    members: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The mesh as JSON-ready data."""
        return {
            "name": self.name,
            "long_name": self.long_name,
            "description": self.description,
            "is_source": self.is_source,
            "is_destination": self.is_destination,
            "public": self.public,
            "members": list(self.members),
        }


def _shown(value: Any) -> str:
    """`value` as a message quotes it, cut to `QUOTED` characters: names come from
    forms and request bodies (`nntsc.errors.quoted`), and so may other values."""
    if isinstance(value, str):
        return quoted(value)
    text = repr(value)
    return text if len(text) <= QUOTED else text[:QUOTED] + "…"


def check_name(name: Any, field: str = "name") -> str:
    """`name` if it is a valid site or mesh name; raises `BadValue` naming `field`."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadValue(
            field,
            f"{_shown(name)} is not a valid name: 1 to 255 letters, digits or . _ : / -",
        )
    return name


def check_new_name(name: Any, field: str = "name") -> str:
    """`name` if a new site or mesh may take it: valid, and reachable through the API.

    A name may hold "/" (nz/akl) and the API's paths take it whole
    (``/api/v1/sites/nz/akl``), but a path with ``/schedule`` after the
    name's first segment is the schedule of what comes before: a site
    "nz/schedule" would be out of reach at ``/api/v1/sites/nz/schedule``.
    Every way of making a site or mesh (API, admin pages, the demo loader,
    imports) goes through `SiteRegistry.create_site` / `create_mesh`, which
    check here. Raises `BadValue` naming `field`.
    """
    check_name(name, field)
    if SCHEDULE_SEGMENT.search(name):
        raise BadValue(
            field,
            f'{_shown(name)} may not hold "/schedule" (the API reads /api/v1/sites/NAME/schedule '
            "as NAME's schedule)",
        )
    return name


def check_text(value: Any, field: str, max_length: int) -> str:
    """`value` if it is a string of at most `max_length` characters; raises `BadValue`."""
    if not isinstance(value, str):
        raise BadValue(field, f"expected text, got {type(value).__name__}")
    if len(value) > max_length:
        raise BadValue(field, f"longer than {max_length} characters")
    return value


def check_flag(value: Any, field: str) -> bool:
    """`value` if it is a bool; raises `BadValue` (a string "false" would read as true)."""
    if not isinstance(value, bool):
        raise BadValue(field, f"expected true or false, got {_shown(value)}")
    return value


def check_addresses(addresses: Any) -> tuple[str, ...]:
    """The addresses, each in its canonical text form, duplicates dropped, order kept.

    Raises `BadValue` for anything `ipaddress.ip_address` does not accept.
    """
    # A list or tuple only: a mapping or a set would be iterated without complaint.
    if not isinstance(addresses, list | tuple):
        raise BadValue("addresses", "expected a list of IP addresses")
    canonical: dict[str, None] = {}
    for address in addresses:
        if not isinstance(address, str):
            raise BadValue("addresses", f"{_shown(address)} is not an IP address")
        try:
            parsed = ipaddress.ip_address(address.strip())
        except ValueError:
            raise BadValue("addresses", f"{_shown(address)} is not an IP address") from None
        canonical[str(parsed)] = None
    return tuple(canonical)


def check_members(members: Any) -> tuple[str, ...]:
    """Valid, sorted, distinct site names; raises `BadValue` for a malformed one."""
    if not isinstance(members, list | tuple):
        raise BadValue("members", "expected a list of site names")
    return tuple(sorted({check_name(member, "members") for member in members}))


def _check_page(page: Any, pagesize: Any) -> None:
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise BadValue("page", f"must be an integer >= 1, got {_shown(page)}")
    if not isinstance(pagesize, int) or isinstance(pagesize, bool):
        raise BadValue("pagesize", f"must be an integer, got {_shown(pagesize)}")
    if not 1 <= pagesize <= MAX_PAGESIZE:
        raise BadValue("pagesize", f"must be between 1 and {MAX_PAGESIZE}, got {pagesize}")


def _site_info(site: Site) -> SiteInfo:
    return SiteInfo(
        site.name, site.long_name, site.location, site.description, tuple(site.addresses or ())
    )


def _mesh_info(mesh: Mesh, members: Sequence[str]) -> MeshInfo:
    return MeshInfo(
        mesh.name,
        mesh.long_name,
        mesh.description,
        mesh.is_source,
        mesh.is_destination,
        mesh.public,
        tuple(sorted(members)),
    )


def _matching(query: Select, term: str, name: Any, long_name: Any) -> Select:
    """`query` narrowed to rows whose name or long name contains `term`, in any case."""
    if not term:
        return query
    # lower() on both sides rather than ILIKE so that SQLite and PostgreSQL
    # agree; SQLite's lower() folds only ASCII letters, PostgreSQL's all of them.
    needle = term.lower()
    # autoescape makes % and _ in the term match themselves rather than act as wildcards.
    return query.where(
        or_(
            func.lower(name).contains(needle, autoescape=True),
            func.lower(long_name).contains(needle, autoescape=True),
        )
    )


def _delete_schedule_rows(
    session: Session,
    owned: Any,
    destinations: type[ScheduleDestinationSite] | type[ScheduleDestinationMesh],
    targeted: Any,
) -> None:
    """Delete the schedule items `owned` selects with their destinations, and the
    `destinations` rows `targeted` selects.

    For the deletion of a site or mesh on a SQLite connection without foreign
    keys; where the keys cascade, these find nothing left to delete.
    """
    items = list(session.scalars(select(ScheduleItem.id).where(owned)))
    if items:
        for table in (ScheduleDestinationSite, ScheduleDestinationMesh):
            session.execute(delete(table).where(table.item_id.in_(items)))
        session.execute(delete(ScheduleItem).where(ScheduleItem.id.in_(items)))
    session.execute(delete(destinations).where(targeted))


class SiteRegistry:
    """Sites, meshes and who belongs to which mesh, in the SQL database.

    Every method runs in a transaction of its own and validates its arguments
    before writing, so a call that raises has changed nothing.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # -- sites ----------------------------------------------------------------------

    def create_site(
        self,
        name: str,
        long_name: str = "",
        location: str = "",
        description: str = "",
        addresses: Iterable[str] = (),
    ) -> SiteInfo:
        """Create the site `name`; raises `AlreadyExists` if it exists, `BadValue` if malformed."""
        site = SiteInfo(
            check_new_name(name),
            check_text(long_name, "long_name", LONG_NAME_LENGTH),
            check_text(location, "location", LOCATION_LENGTH),
            check_text(description, "description", DESCRIPTION_LENGTH),
            check_addresses(addresses),
        )
        try:
            with self.sessions.begin() as session:
                if session.get(Site, site.name) is not None:
                    raise AlreadyExists("site", site.name)
                session.add(
                    Site(
                        name=site.name,
                        long_name=site.long_name,
                        location=site.location,
                        description=site.description,
                        addresses=list(site.addresses),
                    )
                )
        except IntegrityError:
            # Another process created the same site between our check and insert.
            raise AlreadyExists("site", site.name) from None
        return site

    def update_site(
        self,
        name: str,
        *,
        long_name: str | None = None,
        location: str | None = None,
        description: str | None = None,
        addresses: Iterable[str] | None = None,
    ) -> SiteInfo:
        """Change the given fields of site `name` (``None`` leaves one as it is); the new site.

        Raises `UnknownSite` or `BadValue`.
        """
        changes: dict[str, Any] = {}
        if long_name is not None:
            changes["long_name"] = check_text(long_name, "long_name", LONG_NAME_LENGTH)
        if location is not None:
            changes["location"] = check_text(location, "location", LOCATION_LENGTH)
        if description is not None:
            changes["description"] = check_text(description, "description", DESCRIPTION_LENGTH)
        if addresses is not None:
            changes["addresses"] = list(check_addresses(addresses))
        with self.sessions.begin() as session:
            site = session.get(Site, check_name(name))
            if site is None:
                raise UnknownSite(name)
            for column, value in changes.items():
                setattr(site, column, value)
            session.flush()
            return _site_info(site)

    def save_site(self, site: SiteInfo) -> SiteInfo:
        """Create `site`, or make the existing site of that name equal to it; the stored site.

        For loaders that describe the sites they want (such as the demo) and
        may run more than once.
        """
        try:
            return self.create_site(
                site.name, site.long_name, site.location, site.description, site.addresses
            )
        except AlreadyExists:
            return self.update_site(
                site.name,
                long_name=site.long_name,
                location=site.location,
                description=site.description,
                addresses=site.addresses,
            )

    def delete_site(self, name: str) -> None:
        """Delete site `name` and its mesh memberships; raises `UnknownSite`."""
        check_name(name)
        with self.sessions.begin() as session:
            affected = schedule_changes.affected_by_site(session, name)
            # The foreign key cascades on PostgreSQL, but a SQLite connection
            # may not have foreign keys switched on: delete the memberships
            # and schedule rows ourselves, in the same transaction, so no
            # dangling row is left.
            session.execute(delete(MeshMember).where(MeshMember.site_name == name))
            _delete_schedule_rows(
                session,
                ScheduleItem.source_site == name,
                ScheduleDestinationSite,
                ScheduleDestinationSite.site_name == name,
            )
            session.execute(delete(ScheduleChange).where(ScheduleChange.site_name == name))
            # A DELETE answers a CursorResult (Session.execute is typed for any statement).
            deleted = cast(
                "CursorResult[Any]", session.execute(delete(Site).where(Site.name == name))
            )
            if deleted.rowcount == 0:
                raise UnknownSite(name)
            schedule_changes.mark_changed(session, affected)

    def get_site(self, name: str) -> SiteInfo:
        """The site `name`; raises `UnknownSite`."""
        with self.sessions() as session:
            site = session.get(Site, check_name(name))
            if site is None:
                raise UnknownSite(name)
            return _site_info(site)

    def list_sites(self, term: str = "", page: int = 1, pagesize: int = 30) -> Page:
        """Sites whose name or long name contains `term` (any case), by name, one page.

        The page's items are `SiteInfo`; `total` counts every matching site.
        """
        _check_page(page, pagesize)
        term = check_text(term, "term", LONG_NAME_LENGTH)
        with self.sessions() as session:
            total = session.scalar(
                _matching(select(func.count()).select_from(Site), term, Site.name, Site.long_name)
            )
            sites = session.scalars(
                _matching(select(Site), term, Site.name, Site.long_name)
                .order_by(Site.name)
                .limit(pagesize)
                .offset((page - 1) * pagesize)
            ).all()
            items = [_site_info(site) for site in sites]
        return Page(items, total or 0, page, pagesize)

    def meshes_of(self, site: str) -> list[MeshInfo]:
        """The meshes site `site` belongs to, by name, with their members; raises `UnknownSite`."""
        with self.sessions() as session:
            if session.get(Site, check_name(site)) is None:
                raise UnknownSite(site)
            meshes = session.scalars(
                select(Mesh)
                .join(MeshMember, MeshMember.mesh_name == Mesh.name)
                .where(MeshMember.site_name == site)
                .order_by(Mesh.name)
            ).all()
            return self._with_members(session, meshes)

    # -- meshes ---------------------------------------------------------------------

    def create_mesh(
        self,
        name: str,
        long_name: str = "",
        description: str = "",
        is_source: bool = False,
        is_destination: bool = False,
        public: bool = True,
        members: Iterable[str] = (),
    ) -> MeshInfo:
        """Create the mesh `name` of the sites `members`.

        Raises `AlreadyExists`, `UnknownSite` for a member that is not a site,
        or `BadValue`.
        """
        mesh = MeshInfo(
            check_new_name(name),
            check_text(long_name, "long_name", LONG_NAME_LENGTH),
            check_text(description, "description", DESCRIPTION_LENGTH),
            check_flag(is_source, "is_source"),
            check_flag(is_destination, "is_destination"),
            check_flag(public, "public"),
            check_members(members),
        )
        try:
            with self.sessions.begin() as session:
                if session.get(Mesh, mesh.name) is not None:
                    raise AlreadyExists("mesh", mesh.name)
                self._require_sites(session, mesh.members)
                session.add(
                    Mesh(
                        name=mesh.name,
                        long_name=mesh.long_name,
                        description=mesh.description,
                        is_source=mesh.is_source,
                        is_destination=mesh.is_destination,
                        public=mesh.public,
                    )
                )
                # The mesh row must exist before rows that refer to it.
                session.flush()
                session.add_all(MeshMember(mesh_name=mesh.name, site_name=s) for s in mesh.members)
        except IntegrityError:
            # Another process created the same mesh, or deleted a member site,
            # between our checks and the insert: report which.
            with self.sessions() as session:
                if session.get(Mesh, mesh.name) is not None:
                    raise AlreadyExists("mesh", mesh.name) from None
                self._require_sites(session, mesh.members)
            raise
        return mesh

    def update_mesh(
        self,
        name: str,
        *,
        long_name: str | None = None,
        description: str | None = None,
        is_source: bool | None = None,
        is_destination: bool | None = None,
        public: bool | None = None,
        members: Iterable[str] | None = None,
    ) -> MeshInfo:
        """Change the given fields of mesh `name` (``None`` leaves one as it is); the new mesh.

        `members` replaces the whole membership. Raises `UnknownMesh`,
        `UnknownSite` for a member that is not a site (changing nothing), or
        `BadValue`.
        """
        changes: dict[str, Any] = {}
        if long_name is not None:
            changes["long_name"] = check_text(long_name, "long_name", LONG_NAME_LENGTH)
        if description is not None:
            changes["description"] = check_text(description, "description", DESCRIPTION_LENGTH)
        for field, flag in (
            ("is_source", is_source),
            ("is_destination", is_destination),
            ("public", public),
        ):
            if flag is not None:
                changes[field] = check_flag(flag, field)
        wanted = None if members is None else check_members(members)
        with self.sessions.begin() as session:
            mesh = session.get(Mesh, check_name(name))
            if mesh is None:
                raise UnknownMesh(name)
            if wanted is not None:
                self._require_sites(session, wanted)
            for column, value in changes.items():
                setattr(mesh, column, value)
            if wanted is not None:
                current = set(self._member_names(session, name))
                if current != set(wanted):
                    schedule_changes.mark_changed(
                        session,
                        schedule_changes.affected_by_mesh(session, name) | set(wanted),
                    )
                leaving = sorted(current - set(wanted))
                if leaving:
                    session.execute(
                        delete(MeshMember).where(
                            MeshMember.mesh_name == name, MeshMember.site_name.in_(leaving)
                        )
                    )
                session.add_all(
                    MeshMember(mesh_name=name, site_name=site)
                    for site in wanted
                    if site not in current
                )
            session.flush()
            return _mesh_info(mesh, self._member_names(session, name))

    def save_mesh(self, mesh: MeshInfo) -> MeshInfo:
        """Create `mesh`, or make the existing mesh of that name (members too) equal to it.

        For loaders that describe the meshes they want and may run more than once.
        """
        try:
            return self.create_mesh(
                mesh.name,
                mesh.long_name,
                mesh.description,
                mesh.is_source,
                mesh.is_destination,
                mesh.public,
                mesh.members,
            )
        except AlreadyExists:
            return self.update_mesh(
                mesh.name,
                long_name=mesh.long_name,
                description=mesh.description,
                is_source=mesh.is_source,
                is_destination=mesh.is_destination,
                public=mesh.public,
                members=mesh.members,
            )

    def save_all(self, sites: Iterable[SiteInfo], meshes: Iterable[MeshInfo]) -> None:
        """`save_site` each of `sites`, then `save_mesh` each of `meshes` (which may use them)."""
        for site in sites:
            self.save_site(site)
        for mesh in meshes:
            self.save_mesh(mesh)

    def delete_mesh(self, name: str) -> None:
        """Delete mesh `name` and its memberships (not its sites); raises `UnknownMesh`."""
        check_name(name)
        with self.sessions.begin() as session:
            affected = schedule_changes.affected_by_mesh(session, name)
            # As for sites: do not count on SQLite cascading the delete.
            session.execute(delete(MeshMember).where(MeshMember.mesh_name == name))
            _delete_schedule_rows(
                session,
                ScheduleItem.source_mesh == name,
                ScheduleDestinationMesh,
                ScheduleDestinationMesh.mesh_name == name,
            )
            deleted = cast(
                "CursorResult[Any]", session.execute(delete(Mesh).where(Mesh.name == name))
            )
            if deleted.rowcount == 0:
                raise UnknownMesh(name)
            schedule_changes.mark_changed(session, affected)

    def get_mesh(self, name: str) -> MeshInfo:
        """The mesh `name` with its members; raises `UnknownMesh`."""
        with self.sessions() as session:
            mesh = session.get(Mesh, check_name(name))
            if mesh is None:
                raise UnknownMesh(name)
            return _mesh_info(mesh, self._member_names(session, name))

    def unreachable_names(self) -> list[tuple[str, str]]:
        """("site" or "mesh", name) of each stored name the API cannot reach, by kind and name.

        Names holding ``/schedule`` after their first segment (see
        `check_new_name`), made before they were refused everywhere.
        """
        found = []
        with self.sessions() as session:
            for kind, table in (("mesh", Mesh), ("site", Site)):
                names = session.scalars(
                    select(table.name).where(table.name.contains("/schedule", autoescape=True))
                )
                found += [(kind, name) for name in names if SCHEDULE_SEGMENT.search(name)]
        return sorted(found, key=lambda found: (found[0] != "site", found[1]))

    def mesh_names_among(self, names: Iterable[str]) -> set[str]:
        """Which of `names` are meshes, in one statement however many (a malformed one is none)."""
        wanted = sorted({name for name in names if isinstance(name, str) and NAME.fullmatch(name)})
        if not wanted:
            return set()
        with self.sessions() as session:
            return set(session.scalars(select(Mesh.name).where(Mesh.name.in_(wanted))))

    def list_meshes(
        self,
        term: str = "",
        page: int = 1,
        pagesize: int = 30,
        source: bool | None = None,
        destination: bool | None = None,
    ) -> Page:
        """Meshes whose name or long name contains `term` (any case), by name, one page.

        `source` and `destination`, when not ``None``, keep only meshes whose
        `is_source` / `is_destination` equals them. The page's items are
        `MeshInfo` with their members; `total` counts every matching mesh.
        """
        _check_page(page, pagesize)
        term = check_text(term, "term", LONG_NAME_LENGTH)
        conditions = []
        if source is not None:
            conditions.append(Mesh.is_source == check_flag(source, "source"))
        if destination is not None:
            conditions.append(Mesh.is_destination == check_flag(destination, "destination"))
        with self.sessions() as session:
            total = session.scalar(
                _matching(
                    select(func.count()).select_from(Mesh).where(*conditions),
                    term,
                    Mesh.name,
                    Mesh.long_name,
                )
            )
            meshes = session.scalars(
                _matching(select(Mesh).where(*conditions), term, Mesh.name, Mesh.long_name)
                .order_by(Mesh.name)
                .limit(pagesize)
                .offset((page - 1) * pagesize)
            ).all()
            items = self._with_members(session, meshes)
        return Page(items, total or 0, page, pagesize)

    # -- membership -----------------------------------------------------------------

    def mesh_members(self, mesh_name: str) -> list[str]:
        """The names of the sites in mesh `mesh_name`, sorted; raises `UnknownMesh`."""
        with self.sessions() as session:
            if session.get(Mesh, check_name(mesh_name)) is None:
                raise UnknownMesh(mesh_name)
            return self._member_names(session, mesh_name)

    def add_member(self, mesh_name: str, site_name: str) -> MeshInfo:
        """Put site `site_name` in mesh `mesh_name` (already there is fine); the mesh.

        Raises `UnknownMesh` or `UnknownSite`.
        """
        check_name(site_name, "site")
        try:
            with self.sessions.begin() as session:
                mesh = session.get(Mesh, check_name(mesh_name))
                if mesh is None:
                    raise UnknownMesh(mesh_name)
                self._require_sites(session, [site_name])
                if session.get(MeshMember, (mesh_name, site_name)) is None:
                    session.add(MeshMember(mesh_name=mesh_name, site_name=site_name))
                    session.flush()
                    schedule_changes.mark_changed(
                        session, schedule_changes.affected_by_mesh(session, mesh_name)
                    )
                return _mesh_info(mesh, self._member_names(session, mesh_name))
        except IntegrityError:
            # Someone added the same member at the same moment: the outcome we wanted.
            return self.get_mesh(mesh_name)

    def remove_member(self, mesh_name: str, site_name: str) -> MeshInfo:
        """Take site `site_name` out of mesh `mesh_name` (not in it is fine); the mesh.

        Raises `UnknownMesh` or `UnknownSite`.
        """
        check_name(site_name, "site")
        with self.sessions.begin() as session:
            mesh = session.get(Mesh, check_name(mesh_name))
            if mesh is None:
                raise UnknownMesh(mesh_name)
            self._require_sites(session, [site_name])
            if session.get(MeshMember, (mesh_name, site_name)) is not None:
                schedule_changes.mark_changed(
                    session, schedule_changes.affected_by_mesh(session, mesh_name)
                )
            session.execute(
                delete(MeshMember).where(
                    MeshMember.mesh_name == mesh_name, MeshMember.site_name == site_name
                )
            )
            return _mesh_info(mesh, self._member_names(session, mesh_name))

    # -- helpers --------------------------------------------------------------------

    @staticmethod
    def _require_sites(session: Session, names: Sequence[str]) -> None:
        """Raise `UnknownSite` for the first (by name) of `names` that is not a site."""
        if not names:
            return
        known = set(session.scalars(select(Site.name).where(Site.name.in_(list(names)))))
        missing = sorted(set(names) - known)
        if missing:
            raise UnknownSite(missing[0])

    @staticmethod
    def _member_names(session: Session, mesh_name: str) -> list[str]:
        return list(
            session.scalars(
                select(MeshMember.site_name)
                .where(MeshMember.mesh_name == mesh_name)
                .order_by(MeshMember.site_name)
            )
        )

    @staticmethod
    def _with_members(session: Session, meshes: Sequence[Mesh]) -> list[MeshInfo]:
        """`MeshInfo` of each mesh, in order, with all their members read in one query."""
        members: dict[str, list[str]] = {mesh.name: [] for mesh in meshes}
        if members:
            rows = session.execute(
                select(MeshMember.mesh_name, MeshMember.site_name)
                .where(MeshMember.mesh_name.in_(list(members)))
                .order_by(MeshMember.site_name)
            )
            for mesh_name, site_name in rows:
                members[mesh_name].append(site_name)
        return [_mesh_info(mesh, members[mesh.name]) for mesh in meshes]
