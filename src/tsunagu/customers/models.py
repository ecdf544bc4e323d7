"""The customers table: one buyer account per marketplace."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Customer(Base):
    """A buyer in one marketplace. ``external_id`` is the ``customer_id`` of their orders (a
    pseudonym: tsunagu keeps no name or address here); ``id`` is tsunagu's own."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("marketplace", "external_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8))
    external_id: Mapped[str] = mapped_column(String(100))
    #: the language to write to them in (``en``/``ja``), when known
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
