"""The schedule tables: items, their destination sites and meshes, and each site's change time.

An item belongs to exactly one source, a site or a mesh (a mesh's items run
on every member). Times are seconds: `start` and `end` from the beginning of
the item's period (a day or a week, UTC, as amplet2 counts them),
`frequency` between runs, `mesh_offset` between one member of a source mesh
and the next. The tables join the shared metadata of `nntsc.store.models`;
`migrations/versions/0018_schedules.py` creates exactly these.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nntsc.store.models import Base

#: The periods an item may repeat over, as amplet2's schedule names them, in seconds.
PERIODS = {"day": 86400, "week": 7 * 86400}


class ScheduleItem(Base):
    """One test that a site, or every site of a mesh, runs on a schedule."""

    __tablename__ = "schedule_items"
    __table_args__ = (
        CheckConstraint(
            "(source_site IS NULL) <> (source_mesh IS NULL)", name="ck_schedule_items_one_source"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: amplet2's name of the test (`nntsc.schedules.options.TESTS`).
    test: Mapped[str] = mapped_column(String(32))
    source_site: Mapped[str | None] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), index=True
    )
    source_mesh: Mapped[str | None] = mapped_column(
        ForeignKey("meshes.name", ondelete="CASCADE"), index=True
    )
    frequency: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer, default=0)
    end: Mapped[int] = mapped_column(Integer)
    #: ``day`` or ``week`` (`PERIODS`).
    period: Mapped[str] = mapped_column(String(8))
    mesh_offset: Mapped[int] = mapped_column(Integer, default=0)
    #: The test's command-line options, checked against its option table.
    args: Mapped[str] = mapped_column(String(1000), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Unix seconds of the last change to the item or its destinations.
    modified: Mapped[int] = mapped_column(BigInteger)


class ScheduleDestinationSite(Base):
    """A site that an item's test measures towards, at all its addresses or some of them."""

    __tablename__ = "schedule_destination_sites"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_items.id", ondelete="CASCADE"), primary_key=True
    )
    site_name: Mapped[str] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: ``v4`` or ``v6``: only the site's addresses of that family (null: every family).
    address_family: Mapped[str | None] = mapped_column(String(2))
    #: At most this many of its addresses (null: all of them).
    address_count: Mapped[int | None] = mapped_column(Integer)


class ScheduleDestinationMesh(Base):
    """A mesh whose members (the source itself left out) an item's test measures towards."""

    __tablename__ = "schedule_destination_meshes"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_items.id", ondelete="CASCADE"), primary_key=True
    )
    mesh_name: Mapped[str] = mapped_column(
        ForeignKey("meshes.name", ondelete="CASCADE"), primary_key=True, index=True
    )


class ScheduleChange(Base):
    """When the schedule a site fetches (`nntsc.schedules.amplet`) last changed.

    Raised by every change that alters that document: the site's items and
    those of its meshes, their destinations, and the members of the meshes
    involved. A deletion leaves no row to take a time from, hence this table
    rather than the newest `ScheduleItem.modified`.
    """

    __tablename__ = "schedule_changes"

    site_name: Mapped[str] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), primary_key=True
    )
    #: Unix seconds; every change moves it on by at least one second.
    modified: Mapped[int] = mapped_column(BigInteger)
