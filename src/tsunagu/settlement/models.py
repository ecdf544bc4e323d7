"""The settlement tables: each store's ledger, the event cursor that feeds it, funds holds and the
Amazon settlement reports imported.

Amounts are integer minor units in the store's currency (LED-08). Ledger entries are never
updated or deleted (LED-07: database triggers refuse it); a correction is another entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class SettlementEntry(Base):
    """One amount posted to a store's ledger: positive moves money towards the seller, negative
    away (fees, refunds, claims, a disbursement paid out). The balance is their sum."""

    __tablename__ = "settlement_entries"
    __table_args__ = (
        UniqueConstraint("seller_id", "marketplace", "key"),
        Index("ix_settlement_entries_store", "seller_id", "marketplace", "id"),
        Index("ix_settlement_entries_order", "seller_id", "marketplace", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    #: the idempotency key: posting the same key again changes nothing
    key: Mapped[str] = mapped_column(String(200))
    #: sale | refund | marketplace_fee | fee_refund | points_cost | claim | chargeback |
    #: adjustment | disbursement | report_other | ...
    kind: Mapped[str] = mapped_column(String(30))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: events | settlement_report | settlement (tsunagu's own: disbursements, reversals) | ...
    source: Mapped[str] = mapped_column(String(30))
    order_id: Mapped[str | None] = mapped_column(String(64))
    #: the event id, or ``<settlement id>:<line>`` of the report row, it came from
    ref: Mapped[str | None] = mapped_column(String(200))


class SettlementCursor(Base):
    """How far the event sync has read one store's events (``events.seq``)."""

    __tablename__ = "settlement_cursors"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SettlementHold(Base):
    """Funds held (deactivation): no disbursement from ``held_at`` until ``release_on`` or an
    early release (reinstatement)."""

    __tablename__ = "settlement_holds"
    __table_args__ = (
        UniqueConstraint("seller_id", "marketplace", "ref"),
        Index("ix_settlement_holds_store", "seller_id", "marketplace", "released_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    #: what the hold is for (a deactivation id): holding twice for one ref is one hold
    ref: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the balance when the hold began
    held_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    release_on: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the balance paid out at release (claims and chargebacks meanwhile already deducted)
    released_amount: Mapped[int | None] = mapped_column(BigInteger)
    release_reason: Mapped[str | None] = mapped_column(String(500))


class SettlementReport(Base):
    """An Amazon settlement report (V2 flat file) as imported."""

    __tablename__ = "settlement_reports"
    __table_args__ = (UniqueConstraint("seller_id", "marketplace", "settlement_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    settlement_id: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deposit_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    #: the report's own total-amount
    total: Mapped[int] = mapped_column(BigInteger)
    #: the sum of its amount rows (equal to ``total``: an import that does not reconcile is refused)
    imported_total: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
