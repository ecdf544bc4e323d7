"""Query-friendly state derived from events (the projection).

Every row here can be rebuilt from the event log; nothing is entered directly. Amounts are integer
minor units in the order's ``currency``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_seller_purchased", "seller_id", "marketplace", "purchased_at"),
        {
            "sqlite_with_rowid": False
        },  # keyed by its natural key: no separate rowid B-tree on SQLite
    )

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(3))
    #: unshipped | shipped | delivered | cancelled
    status: Mapped[str] = mapped_column(String(12))
    purchased_at: Mapped[datetime] = mapped_column(UTCDateTime)
    latest_ship_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_delivery_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    currency: Mapped[str] = mapped_column(String(3))
    #: Sum of item line totals, minor units (tax-inclusive in JP).
    items_total: Mapped[int] = mapped_column(Integer)
    #: Sum of item tax, minor units (US: collected by the marketplace).
    tax_total: Mapped[int] = mapped_column(Integer)
    points: Mapped[int | None] = mapped_column(Integer)
    is_business: Mapped[bool] = mapped_column(Boolean)
    ship_service: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ship_time_known: Mapped[bool | None] = mapped_column(Boolean)
    carrier: Mapped[str | None] = mapped_column(String(100))
    #: None = unknown (never told); "" = the seller gave no tracking id.
    tracking_id: Mapped[str | None] = mapped_column(String(100))
    first_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(10))
    cancel_reason: Mapped[str | None] = mapped_column(String(20))
    feedback_rating: Mapped[int | None] = mapped_column(Integer)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Sum of refunds issued, minor units.
    refunded_total: Mapped[int] = mapped_column(Integer, default=0)
    refund_count: Mapped[int] = mapped_column(Integer, default=0)
    invoice_uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cs_satisfied: Mapped[bool | None] = mapped_column(Boolean)
    #: When the latest customer-service survey answer was given.
    cs_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    chargeback_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int] = mapped_column(Integer)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _order_fk() -> tuple[str, ...]:
    return ("seller_id", "marketplace", "order_id")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(100))


class OrderCase(Base):
    """A claim, chargeback or return on an order: filed/requested, then decided/resolved."""

    __tablename__ = "order_cases"
    __table_args__ = (
        Index("ix_order_cases_order", "seller_id", "marketplace", "order_id"),
        {"sqlite_with_rowid": False},
    )

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: claim | chargeback | return
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    #: one case id given on two orders is two cases (never a key clash in the projection)
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    buyer_satisfied: Mapped[bool | None] = mapped_column(Boolean)


class Message(Base):
    """A buyer message and its answer times. The text itself is personal data, kept elsewhere."""

    __tablename__ = "messages"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(10))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_response_needed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
