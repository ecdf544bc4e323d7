"""Notifications, the webhooks that receive them, and each delivery with its attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Notification(Base):
    """Something a seller should hear about (a store's status changed, an appeal was decided),
    recorded once per ``key`` whatever delivers it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_seller", "seller_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: the caller's idempotency key: the same key records nothing new
    key: Mapped[str] = mapped_column(String(200), unique=True)
    #: ``ACCOUNT_STATUS_CHANGED``, ``APPEAL_STATUS_CHANGED`` …
    kind: Mapped[str] = mapped_column(String(60))
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str | None] = mapped_column(String(20))
    #: what the change says (``previousAccountStatus``, ``currentAccountStatus`` …)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Webhook(Base):
    """An address that receives notifications of some kinds, for one seller or (made by the
    local owner or a platform operator) for every seller. ``secret`` signs every delivery; it
    is shown once, when the webhook is made, and never listed."""

    __tablename__ = "notification_webhooks"
    __table_args__ = (Index("ix_notification_webhooks_seller", "seller_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: None: every seller's notifications
    seller_id: Mapped[str | None] = mapped_column(ForeignKey("sellers.id"))
    url: Mapped[str] = mapped_column(String(2000))
    kinds: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the principal (or ``local-owner``) who made it
    created_by: Mapped[str] = mapped_column(String(120))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """One notification to one webhook: its state, when it is next tried, and every attempt
    (``attempt_log``: ``{at, status_code, error, duration_ms}``, oldest first)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "webhook_id"),
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_webhook", "webhook_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    notification_id: Mapped[str] = mapped_column(ForeignKey("notifications.id"))
    webhook_id: Mapped[str] = mapped_column(ForeignKey("notification_webhooks.id"))
    #: pending | sending | delivered | failed | cancelled
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: while ``sending``: another runner may take it over after this instant
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
