"""The offers table: one row per seller, marketplace and SKU."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Offer(Base):
    """A seller's offer of one SKU in one marketplace.

    ``points_rate`` is the offer's own points percentage (0–50); None means the store's rate.
    """

    __tablename__ = "offers"
    __table_args__ = (
        CheckConstraint(
            "points_rate IS NULL OR (points_rate >= 0 AND points_rate <= 50)",
            name="points_rate_range",
        ),
        {"sqlite_with_rowid": False},
    )

    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: lower-case item category (``ebook``, ``gift_card`` …), when known
    category: Mapped[str | None] = mapped_column(String(100))
    points_rate: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
