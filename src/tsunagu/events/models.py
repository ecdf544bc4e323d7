"""The append-only event log and the record of each import run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """One seller event, exactly as accepted (canonical JSON), never updated or deleted.

    ``event_id`` is unique per seller: the same id from two sellers are two events, so one seller
    can never learn about, or block, another seller's ids.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("seller_id", "event_id"),
        Index("ix_events_order", "seller_id", "marketplace", "order_id"),
        # only message and violation events have a ref_id: a partial index stays small
        Index(
            "ix_events_ref",
            "seller_id",
            "marketplace",
            "ref_id",
            sqlite_where=text("ref_id IS NOT NULL"),
            postgresql_where=text("ref_id IS NOT NULL"),
        ),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    marketplace: Mapped[str] = mapped_column(String(8))
    order_id: Mapped[str | None] = mapped_column(String(64))
    #: ``message_id`` or ``violation_id`` for events about a message or a violation.
    ref_id: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Canonical JSON: keys sorted, instants in UTC; what "same event" is compared on.
    body: Mapped[str] = mapped_column(Text)
    #: SHA-256 of ``body`` in hex.
    body_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ImportRun(Base):
    """What an import read and what became of it; the row-level report is kept for the UI."""

    __tablename__ = "import_runs"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    source_name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str | None] = mapped_column(String(64))
    seller_id: Mapped[str | None] = mapped_column(String(40), index=True)
    marketplace: Mapped[str | None] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: The first errors of the report (capped) for display.
    report: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
