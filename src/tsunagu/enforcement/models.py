"""The enforcement tables: each store's current account status, one evaluation per store and
local day, every status change (append-only, SH-03) and every deactivation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class EnforcementState(Base):
    """The current status of one store. ``version`` grows with every write, so two writers
    that read the same state cannot both apply a change (the second finds no row to update)."""

    __tablename__ = "enforcement_states"

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: NORMAL | AT_RISK | UNDER_REVIEW | DEACTIVATED
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the issues of the latest decision (``rules.issue_to_json`` objects)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the open deactivation while DEACTIVATED
    deactivation_id: Mapped[str | None] = mapped_column(String(40))
    probation_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    probation_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    probation_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: per metric issue code, the day (YYYY-MM-DD) its current breach began
    breached_since: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    #: the latest local day evaluated (YYYY-MM-DD); earlier days never change the status
    last_day: Mapped[str | None] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer, default=1)


class EnforcementEvaluation(Base):
    """One run of the rules for one store and local day, as of the end of that day."""

    __tablename__ = "enforcement_evaluations"
    __table_args__ = (UniqueConstraint("seller_id", "marketplace", "day"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(40))
    marketplace: Mapped[str] = mapped_column(String(8))
    day: Mapped[str] = mapped_column(String(10))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(Integer)
    #: what the rules decided (the store's status may differ: grace, DEACTIVATED kept …)
    decided: Mapped[str] = mapped_column(String(16))
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: the metrics the rules read: name → numerator, denominator, rate, target, status
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor: Mapped[str] = mapped_column(String(120))


class EnforcementChange(Base):
    """One status change of one store (append-only): who, why, from what, with the issues and
    the metrics it was decided on (SH-03)."""

    __tablename__ = "enforcement_changes"
    __table_args__ = (Index("ix_enforcement_changes_store_at", "seller_id", "marketplace", "at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(40))
    marketplace: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    previous: Mapped[str] = mapped_column(String(16))
    current: Mapped[str] = mapped_column(String(16))
    #: rules | grace_started | grace_ended | override | fraud | related_account |
    #: related_account_flagged | reinstated
    reason: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evaluation_id: Mapped[str | None] = mapped_column(String(40))
    deactivation_id: Mapped[str | None] = mapped_column(String(40))
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EnforcementDeactivation(Base):
    """One deactivation of one store: the issues an appeal must answer and its deadline."""

    __tablename__ = "enforcement_deactivations"
    __table_args__ = (
        Index("ix_enforcement_deactivations_store", "seller_id", "marketplace", "at"),
        Index("ix_enforcement_deactivations_origin", "origin_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(String(40))
    marketplace: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    appeal_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    #: for a RELATED_ACCOUNT deactivation: the deactivation that caused it
    origin_id: Mapped[str | None] = mapped_column(String(40))
    reinstated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reinstated_by: Mapped[str | None] = mapped_column(String(120))
