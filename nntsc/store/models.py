"""The SQL schema: collections, streams, per-collection tables, rollups.

Per-collection tables are derived from the collection declarations: a
property table (`streams_<slug>`) holding the stream key, a data table
(`data_<slug>`) used by the SQL time-series store, and one rollup table per
rollup level (`rollup_<slug>_<seconds>`). The property tables are declared
when this module is loaded, the data and rollup tables (used only by the SQL
time-series store) when first asked for, or with the whole schema. The
traceroute path tables are declared here too. The event tables
(`nntsc.events.models`) and, through the ``nntsc.tables`` entry point, those
of packages above nntsc (the web app's accounts) join the same metadata:
`nntsc.plugins.declared_metadata` gathers them all. Migrations in `migrations/` create exactly
these; `tests/integration/test_migrations.py` proves they agree.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from nntsc.collections import Collection, all_collections

#: Rollup levels in seconds, finest first; each divides the next so that a
#: coarser level is built from the one below it.
ROLLUP_LEVELS = (300, 3600, 86400)

#: Partial statistics kept per field in the rollups; they merge exactly.
PARTIAL_STATS = ("count", "sum", "sumsq", "min", "max")

#: Percentiles kept for fields declared with ``quantiles=True`` (the smoke array).
QUANTILE_POINTS = tuple(range(5, 101, 5))

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here is mapped to one plain Table (SQLAlchemy types it as any
    # FromClause, which has no insert/update/delete).
    __table__: ClassVar[Table]


metadata = Base.metadata


class CollectionRecord(Base):
    """A registered collection; the row exists once `nntsc db upgrade` has run."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    view_style: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(255), default="")


class Stream(Base):
    """One time series; its key properties live in the collection's property table.

    `first_timestamp` and `last_timestamp` are kept up to date by the ingest
    path so that "when did this stream last report" never scans data.
    """

    __tablename__ = "streams"

    stream_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    first_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    last_timestamp: Mapped[int | None] = mapped_column(BigInteger)


class RollupPending(Base):
    """A rollup bin that must be (re)computed because rows arrived in it.

    `version` grows with every new mark so that a worker that read an older
    mark does not delete a newer one.
    """

    __tablename__ = "rollup_pending"
    # Stream and bin before level: each query looks for its streams' marks in
    # its range, at every level.
    __table_args__ = (PrimaryKeyConstraint("collection", "stream_id", "bin_start", "level"),)

    collection: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    stream_id: Mapped[int] = mapped_column(Integer)
    bin_start: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The process that wrote the bin's rows (`RollupMarks.mark`), or null when
    #: unknown or several did: only then may it finalise the bin from memory.
    writer: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ExpiredRows(Base):
    """How many rows of a collection the expiry passes have deleted, by kind (raw, rollup).

    Kept in SQL rather than in the memory of the process that expired them
    (a Celery worker), so that the web app's ``/metrics`` shows them
    (``nntsc_rows_expired_total``), across restarts too.
    """

    __tablename__ = "expired_rows"
    __table_args__ = (PrimaryKeyConstraint("collection", "kind"),)

    collection: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(BigInteger, default=0)


class Site(Base):
    """An AMP monitor or target: `name` is its AMP name, as reports carry it."""

    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    long_name: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    #: The site's addresses (text), e.g. ``["192.0.2.1", "2001:db8::1"]``.
    addresses: Mapped[list[str]] = mapped_column(JSON, default=list)


class Mesh(Base):
    """A named set of sites; the matrix is a source mesh by a destination mesh."""

    __tablename__ = "meshes"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    long_name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_source: Mapped[bool] = mapped_column(Boolean, default=False)
    is_destination: Mapped[bool] = mapped_column(Boolean, default=False)
    public: Mapped[bool] = mapped_column(Boolean, default=True)


class MeshMember(Base):
    """That a site belongs to a mesh; deleting either deletes the membership."""

    __tablename__ = "mesh_members"
    __table_args__ = (PrimaryKeyConstraint("mesh_name", "site_name"),)

    mesh_name: Mapped[str] = mapped_column(ForeignKey("meshes.name", ondelete="CASCADE"))
    site_name: Mapped[str] = mapped_column(ForeignKey("sites.name", ondelete="CASCADE"), index=True)


class View(Base):
    """An immutable saved graph: a view style and a sorted list of group descriptions.

    `view_id` is derived from the content (see `ampy.views`), so saving the
    same graph twice finds the same row and a "changed" view is a new row.
    """

    __tablename__ = "views"

    view_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    style: Mapped[str] = mapped_column(String(32))
    groups: Mapped[list[str]] = mapped_column(JSON)
    created: Mapped[int] = mapped_column(BigInteger)


# Traceroute paths, each stored once however many rows point at it (see
# `nntsc.store.paths`, which maps paths to these ids).
ip_path_table = Table(
    "traceroute_ip_paths",
    metadata,
    Column("path_id", Integer, primary_key=True, autoincrement=True),
    Column("family", String(8), nullable=False),
    # Hops in the path, silent ones included.
    Column("length", Integer, nullable=False),
    # Hop addresses in order, null for a hop that did not answer.
    Column("hops", JSON, nullable=False),
    # SHA-1 (hex) of `ip_fingerprint`'s canonical text.
    Column("fingerprint", String(40), nullable=False, unique=True),
)

as_path_table = Table(
    "traceroute_as_paths",
    metadata,
    Column("path_id", Integer, primary_key=True, autoincrement=True),
    # AS hops: runs of equal AS numbers once silent (-1) hops are left out.
    Column("length", Integer, nullable=False),
    # IP hops the path covers (the sum of the run counts).
    Column("hop_count", Integer, nullable=False),
    # Run-length encoded [[asn, count], ...]; asn 0 unknown, -1 no reply, -2 private.
    Column("path", JSON, nullable=False),
    Column("fingerprint", String(40), nullable=False, unique=True),
)


@functools.cache
def quantile_columns(field: str) -> tuple[str, ...]:
    """The rollup columns of a field's 20 percentiles, ``<field>_p5`` to ``<field>_p100``."""
    return tuple(f"{field}_p{point}" for point in QUANTILE_POINTS)


def rollup_columns(collection: Collection, fields: Sequence[str] | None = None) -> list[str]:
    """The partial-statistic columns a rollup row of `collection` holds (for `fields`)."""
    columns: list[str] = []
    for fld in collection.fields:
        if fields is not None and fld.name not in fields:
            continue
        columns.extend(f"{fld.name}_{stat}" for stat in PARTIAL_STATS)
        if fld.quantiles:
            columns.extend(quantile_columns(fld.name))
    return columns


def _value_type(kind: str) -> type[TypeEngine[Any]]:
    return {"int": BigInteger, "float": Float, "array": JSON}[kind]


def _define_property_table(collection: Collection) -> None:
    slug = collection.slug
    key = collection.property_names
    Table(
        f"streams_{slug}",
        metadata,
        Column(
            "stream_id",
            Integer,
            ForeignKey("streams.stream_id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        *(
            Column(prop.name, String(prop.max_length), nullable=False)
            for prop in collection.properties
        ),
        # The unique key in hierarchy order also serves "distinct values of the
        # next level given the chosen ones"; the reversed pair serves lookups
        # by destination (matrix columns).
        UniqueConstraint(*key),
        Index(None, *key[1:2], key[0]),
    )


def _define_series_tables(collection: Collection) -> None:
    slug = collection.slug
    Table(
        f"data_{slug}",
        metadata,
        Column("stream_id", Integer, nullable=False),
        Column("timestamp", BigInteger, nullable=False),
        *(Column(fld.name, _value_type(fld.kind)) for fld in collection.fields),
        PrimaryKeyConstraint("stream_id", "timestamp"),
    )
    for level in ROLLUP_LEVELS:
        Table(
            f"rollup_{slug}_{level}",
            metadata,
            Column("stream_id", Integer, nullable=False),
            Column("timestamp", BigInteger, nullable=False),
            *(Column(name, Float) for name in rollup_columns(collection)),
            PrimaryKeyConstraint("stream_id", "timestamp"),
        )


# The property tables (the stream registry's) are declared now. The data and
# rollup tables, which only the SQL time-series store writes and reads, are
# declared when first asked for (`data_table`, `rollup_table`) or when the
# whole schema is (`define_all_tables`, which `nntsc.plugins.declared_metadata`
# calls): 2,500 of the schema's 2,800 columns are in them, about 70 ms of every
# process's start-up that a collector writing to InfluxDB never used.
for _collection in all_collections():
    _define_property_table(_collection)

_series_lock = threading.Lock()


def _series_tables(collection: Collection) -> None:
    """Declare the data and rollup tables of `collection` unless they are (thread-safe)."""
    if f"data_{collection.slug}" in metadata.tables:
        return
    with _series_lock:
        if f"data_{collection.slug}" not in metadata.tables:
            _define_series_tables(collection)


def define_all_tables() -> None:
    """Declare the data and rollup tables of every collection: the whole schema."""
    for collection in all_collections():
        _series_tables(collection)


def define_tables(collection: Collection) -> list[Table]:
    """The tables of a collection added at run time (`nntsc.collections.register`).

    Defines them on the shared metadata the first time; a migration (or
    ``metadata.create_all``) then creates them in a database.
    """
    names = [
        f"streams_{collection.slug}",
        f"data_{collection.slug}",
        *(f"rollup_{collection.slug}_{level}" for level in ROLLUP_LEVELS),
    ]
    with _series_lock:
        if names[0] not in metadata.tables:
            _define_property_table(collection)
    _series_tables(collection)
    return [metadata.tables[name] for name in names]


def property_table(collection: Collection) -> Table:
    return metadata.tables[f"streams_{collection.slug}"]


def data_table(collection: Collection) -> Table:
    """The SQL store's table of `collection`'s raw rows (declared on first use)."""
    _series_tables(collection)
    return metadata.tables[f"data_{collection.slug}"]


def rollup_table(collection: Collection, level: int) -> Table:
    """The SQL store's table of `collection`'s rollups at `level` (declared on first use)."""
    _series_tables(collection)
    return metadata.tables[f"rollup_{collection.slug}_{level}"]
