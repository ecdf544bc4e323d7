"""The appeals tables: one row per appeal, its Plan of Action by issue, its evidence files and
every transition it went through (ADR 0026)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Appeal(Base):
    """A seller's appeal against one deactivation of one store.

    ``open_key`` holds the deactivation id while the appeal is not final and NULL afterwards;
    its unique index keeps one open appeal per deactivation on both databases (NULLs never
    collide). ``version`` grows with every transition: a writer that read an older version
    changes nothing (SH-02)."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("open_key"),
        Index("ix_appeals_store", "seller_id", "marketplace", "created_at"),
        Index("ix_appeals_status", "status", "deadline"),
        Index("ix_appeals_deactivation", "deactivation_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    deactivation_id: Mapped[str] = mapped_column(String(40))
    open_key: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    #: the issue codes of the deactivation, in its order: one plan section each
    issues: Mapped[list[str]] = mapped_column(JSON)
    #: the seller must (re)submit before this instant, or the appeal expires
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: every UPDATE says ``WHERE version = <the version read>`` and raises ``StaleDataError``
    #: when another writer got there first
    __mapper_args__ = {"version_id_col": version}


class AppealSection(Base):
    """One Plan-of-Action section: the answer to one issue."""

    __tablename__ = "appeal_sections"

    appeal_id: Mapped[str] = mapped_column(ForeignKey("appeals.id"), primary_key=True)
    issue: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    root_cause: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    prevention: Mapped[str] = mapped_column(Text)
    #: attachment ids of this appeal
    evidence: Mapped[list[str]] = mapped_column(JSON)


class AppealAttachment(Base):
    """An evidence file, stored on disk at ``<files_dir>/appeals/<appeal id>/<sha256>``. The
    client's file name is only a label."""

    __tablename__ = "appeal_attachments"
    __table_args__ = (UniqueConstraint("appeal_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    appeal_id: Mapped[str] = mapped_column(ForeignKey("appeals.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[str] = mapped_column(String(120))


class AppealTransition(Base):
    """One step of an appeal (SH-03): from, to, who, why and when. ``seq`` counts the appeal's
    steps from 1; its unique key is a second guard against two concurrent decisions."""

    __tablename__ = "appeal_transitions"
    __table_args__ = (UniqueConstraint("appeal_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    appeal_id: Mapped[str] = mapped_column(ForeignKey("appeals.id"))
    seq: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
