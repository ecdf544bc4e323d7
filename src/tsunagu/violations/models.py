"""Policy violations of a store, as its ``violation_opened`` / ``violation_resolved`` events say
(ADR 0020). A projection: every row can be rebuilt from the event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    violation_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    policy: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(10))
    asin: Mapped[str | None] = mapped_column(String(20))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    how: Mapped[str | None] = mapped_column(String(200))
