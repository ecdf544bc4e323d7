"""The points tables (ADR 0029).

- ``points_entries``: the ledger. Each row is one transfer of ``amount`` points from a
  ``debit`` account to a ``credit`` account (TigerBeetle's shape), so every posting sums to
  zero by construction (LED-02). Rows are never updated or deleted (LED-07: database triggers
  refuse it); a correction is another entry. ``key`` makes every writer idempotent.
- ``points_accounts``: each customer's balances, ``pending`` and ``available``, kept in the same
  transaction as the entries that move them; CHECK constraints refuse a negative balance, so a
  bug can never overdraw one (LED-01).
- ``points_grants``: what each order earns, line by line, and where it is in its lifecycle
  (pending → posted | voided), with the refunds seen so far.
- ``points_settings``: each store's rate and badge membership; ``points_cursors``: how far the
  event sync has read each store's events; ``points_redemptions``: checkout redemptions with
  their idempotency key and stored reply (LED-03); ``points_expiry_warnings``: warnings given.

Account codes: ``pending`` and ``available`` belong to the entry's customer; the others are
the programme's: ``seller:<id>`` (the store funding the points), ``source:<name>`` (outside
issuers such as a card), ``redeemed``, ``expired``, ``adjustment``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class PointsEntry(Base):
    __tablename__ = "points_entries"
    __table_args__ = (
        UniqueConstraint("marketplace", "key"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("shortfall >= 0", name="shortfall_not_negative"),
        Index("ix_points_entries_customer", "customer_id", "id"),
        Index("ix_points_entries_seller", "seller_id", "marketplace", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    marketplace: Mapped[str] = mapped_column(String(8))
    #: the idempotency key: writing the same key again changes nothing
    key: Mapped[str] = mapped_column(String(200))
    #: grant_pending | post | void | redeem | clawback | expire | adjust
    kind: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    debit: Mapped[str] = mapped_column(String(80))
    credit: Mapped[str] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(BigInteger)
    #: a clawback's points the customer no longer had (the balance never goes below zero)
    shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    #: why: order_placed, shipment_settled, order_cancelled, refund, redemption, expiry,
    #: external:<source>, adjustment
    reason: Mapped[str] = mapped_column(String(200))
    seller_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(64))
    #: the event the entry came from, when one did
    event_id: Mapped[str | None] = mapped_column(String(200))
    grant_id: Mapped[str | None] = mapped_column(String(40))
    redemption_id: Mapped[str | None] = mapped_column(String(40))
    #: when the movement took effect (the event's time, the settling time, the expiry)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the customer's expiry date once this entry was written
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointsAccount(Base):
    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("available >= 0", name="available_not_negative"),
        Index("ix_points_accounts_expiry", "marketplace", "expires_at"),
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8))
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    available: Mapped[int] = mapped_column(BigInteger, default=0)
    last_acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a calendar year after the later of the two above (None: neither yet)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointsGrant(Base):
    """What one order earns. ``lines`` is JSON: ``[{"sku", "price", "category", "points",
    "refunded"}]``; ``order_refunded`` is the refunds that named no line."""

    __tablename__ = "points_grants"
    __table_args__ = (
        UniqueConstraint("seller_id", "marketplace", "order_id"),
        Index("ix_points_grants_due", "marketplace", "state", "available_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    order_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    #: pending | posted | voided
    state: Mapped[str] = mapped_column(String(10))
    points: Mapped[int] = mapped_column(BigInteger)
    #: points still pending (``points`` less what refunds voided before the post)
    pending: Mapped[int] = mapped_column(BigInteger)
    posted: Mapped[int] = mapped_column(BigInteger, default=0)
    #: points taken back by refunds in all (voided while pending, clawed back after)
    clawed: Mapped[int] = mapped_column(BigInteger, default=0)
    order_price: Mapped[int] = mapped_column(BigInteger)
    order_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PointsSetting(Base):
    __tablename__ = "points_settings"
    __table_args__ = (
        CheckConstraint("rate >= 0 AND rate <= 50", name="rate_range"),
        {"sqlite_with_rowid": False},
    )

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: the store's rate; None: the marketplace's ``default_rate``
    rate: Mapped[int | None] = mapped_column(Integer)
    badge: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class PointsCursor(Base):
    __tablename__ = "points_cursors"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointsRedemption(Base):
    """A checkout redemption and its idempotency record (Stripe's stored-reply model)."""

    __tablename__ = "points_redemptions"
    __table_args__ = (
        UniqueConstraint("marketplace", "key"),
        Index("ix_points_redemptions_customer", "customer_id", "claimed_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(200))
    #: sha256 of the canonical request: the same key with another request is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    order_id: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(BigInteger)
    #: in_flight | done
    state: Mapped[str] = mapped_column(String(10))
    #: the stored reply: HTTP status and JSON body (a refusal is stored too)
    status: Mapped[int | None] = mapped_column(Integer)
    reply: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PointsExpiryWarning(Base):
    __tablename__ = "points_expiry_warnings"
    __table_args__ = {"sqlite_with_rowid": False}

    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    days_before: Mapped[int] = mapped_column(Integer, primary_key=True)
    available: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
