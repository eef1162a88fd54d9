"""Where `nntsc import nntsc` has got to: one checkpoint per (deployment, collection, stream).

A checkpoint says that the rows of one NNTSC stream from `done_from` up to
(not including) `done_until` are committed in our stores. It is advanced
only after the batch holding those rows is written, so an import that is
interrupted resumes where its last committed chunk ended; the writes are
idempotent anyway (the stores key rows by stream and time), so a lost
checkpoint costs time, never a duplicate.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from nntsc.store.models import Base


class ImportCheckpoint(Base):
    """The span of one NNTSC stream's rows that an import has committed."""

    __tablename__ = "import_checkpoints"
    __table_args__ = (PrimaryKeyConstraint("source", "collection", "legacy_stream_id"),)

    #: The deployment imported from: ``host:port/database`` (no credentials).
    source: Mapped[str] = mapped_column(String(255))
    #: NNTSC's collection name (``amp_icmp``).
    collection: Mapped[str] = mapped_column(String(64))
    legacy_stream_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    done_from: Mapped[int] = mapped_column(BigInteger)
    done_until: Mapped[int] = mapped_column(BigInteger)
