"""Seller memberships and platform operators, pointing at ``principals.id`` (ADR 0013)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Membership(Base):
    """A principal's role in one seller: ``owner``, ``manager`` or ``viewer``."""

    __tablename__ = "seller_memberships"
    __table_args__ = (Index("ix_seller_memberships_seller", "seller_id", "role"),)

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    seller_id: Mapped[str] = mapped_column(
        ForeignKey("sellers.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(12))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[str] = mapped_column(String(120))


class PlatformOperator(Base):
    """A marketplace back-office operator: may read every seller, change none (ADR 0013)."""

    __tablename__ = "platform_operators"

    principal_id: Mapped[str] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[str] = mapped_column(String(120))
