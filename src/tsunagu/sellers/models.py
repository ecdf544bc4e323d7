"""A seller is a business; it holds one store per marketplace it sells in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tsunagu.core.db import Base, UTCDateTime


class Seller(Base):
    __tablename__ = "sellers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stores: Mapped[list[Store]] = relationship(
        back_populates="seller", lazy="selectin", order_by="Store.marketplace"
    )


class Store(Base):
    """A seller's presence in one marketplace; metrics and health are computed per store."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("seller_id", "marketplace"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    marketplace: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seller: Mapped[Seller] = relationship(back_populates="stores", lazy="raise")
