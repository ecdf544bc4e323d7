"""E-mail over SMTP (ADR 0034): the delivery state of each outbox message, each user's e-mail
preferences, and the daily alert digests already written (one per user per day)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class EmailDelivery(Base):
    """How sending one ``outbox`` message over SMTP went. No row: not tried yet."""

    __tablename__ = "email_deliveries"
    __table_args__ = (Index("ix_email_deliveries_due", "status", "next_attempt_at"),)

    outbox_id: Mapped[str] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    #: pending | sending | sent | failed | expired
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: while ``sending``: another runner may take it over after this instant
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: what went wrong last (an SMTP code and class name: never a password or a body)
    last_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EmailPreference(Base):
    """A user's e-mail language and whether the daily alert digest goes to them."""

    __tablename__ = "email_preferences"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    #: en | ja
    lang: Mapped[str] = mapped_column(String(8))
    digest: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertDigest(Base):
    """The alert digest written for one user for one day: its primary key makes the digest
    once per user per day, whatever runs the job again."""

    __tablename__ = "alert_digests"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    #: the UTC day the digest covers (the job's key)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: the outbox message written for it
    outbox_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
