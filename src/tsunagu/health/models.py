"""Health state kept between evaluations: imported Amazon reports, alerts and daily rollups.

Days are ISO ``YYYY-MM-DD`` strings in the store's time zone (they sort as dates on every
database), instants are aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tsunagu.core.db import Base, UTCDateTime


class HealthSnapshot(Base):
    """An Amazon V2 seller performance report as imported: Amazon's own figures for one store,
    kept beside tsunagu's so the two can be compared. It never creates orders or violations."""

    __tablename__ = "health_snapshots"
    __table_args__ = (
        UniqueConstraint("seller_id", "marketplace", "file_sha256"),
        Index("ix_health_snapshots_store_day", "seller_id", "marketplace", "report_date"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    #: the last day the report covers, in the store's time zone
    report_date: Mapped[str] = mapped_column(String(10))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    #: the figures read from the report, normalised (see connectors/amazon/health_report.py)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)


class HealthAlert(Base):
    """A warning raised once when a condition starts and cleared when it ends; a condition that
    persists is not raised again every day."""

    __tablename__ = "health_alerts"
    __table_args__ = (
        Index("ix_health_alerts_store", "seller_id", "marketplace", "kind", "subject"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seller_id: Mapped[str] = mapped_column(ForeignKey("sellers.id"))
    marketplace: Mapped[str] = mapped_column(String(8))
    #: account_status | metric_margin | band_drop | band_forecast
    kind: Mapped[str] = mapped_column(String(40))
    #: the metric name, or the band entered
    subject: Mapped[str] = mapped_column(String(80))
    raised_on: Mapped[str] = mapped_column(String(10))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_on: Mapped[str | None] = mapped_column(String(10))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: near | missed (a metric, ADR 0034); missed for an account status; None otherwise
    level: Mapped[str | None] = mapped_column(String(12))


class HealthRollup(Base):
    """One store's metric tallies for one local selecting day (purchase, promise, shipment,
    receipt, request or answer day), as they stood at ``computed_at``. Valid until
    ``valid_until`` (the next deadline or event time among that day's records) unless new events
    mark the day dirty."""

    __tablename__ = "health_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: orjson-encoded {metric kind: [counts]} (health/rollups.py)
    tallies: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HealthRollupState(Base):
    """A store whose rollups are complete for every day from ``built_from`` on."""

    __tablename__ = "health_rollup_state"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    built_from: Mapped[str] = mapped_column(String(10))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the selecting days whose history chains are kept (``HealthDayHistory``), each computed up
    #: to evaluation day ``history_through`` at least; ``None``: the history was never built
    history_from: Mapped[str | None] = mapped_column(String(10), default=None)
    history_through: Mapped[str | None] = mapped_column(String(10), default=None)


class HealthStoreSummary(Base):
    """One store's window totals on local day ``day`` as computed at ``computed_at``: today's
    health without reading the day rows, while no dirty mark arrives and ``valid_until`` (the
    first instant any day in the windows changes, at the latest the end of ``day``) has not
    passed."""

    __tablename__ = "health_store_summaries"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    #: orjson-encoded {metric name: [counts], "fulfilled": [count]} (rollups.window_totals)
    totals: Mapped[bytes] = mapped_column(LargeBinary)
    #: the store page's past days (``incremental.KEPT_POINTS_DAYS`` up to ``history_through``):
    #: orjson [[day, score, band, {metric: rate}], ...], valid while ``history_through`` is
    #: yesterday and ``history_key`` (the violations and the health settings) is unchanged
    history_through: Mapped[str | None] = mapped_column(String(10), default=None)
    history_key: Mapped[str | None] = mapped_column(String(64), default=None)
    history: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class HealthDayHistory(Base):
    """One selecting day's tallies on every evaluation day from the day itself (health/history.py):
    the versions where they change and the first evaluation day not computed yet. A store's
    history is computed from these rows instead of from every fact again."""

    __tablename__ = "health_day_history"
    __table_args__ = {"sqlite_with_rowid": False}

    seller_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(8), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: orjson-encoded [[first evaluation day, {metric kind: [counts]}], ...]
    versions: Mapped[bytes] = mapped_column(LargeBinary)
    #: ``None``: the last version holds for ever
    next_day: Mapped[str | None] = mapped_column(String(10))


class HealthDirtyMark(Base):
    """A selecting instant (to the minute, UTC) of a record that changed since the rollups were
    computed, written in the same transaction as the events; its local day in the store's zone
    is computed again. Rows are only ever inserted and deleted by id, so a mark written while a
    refresh runs is never lost."""

    __tablename__ = "health_dirty_marks"
    __table_args__ = (Index("ix_health_dirty_marks_store", "seller_id", "marketplace"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seller_id: Mapped[str] = mapped_column(String(40))
    marketplace: Mapped[str] = mapped_column(String(8))
    #: ``YYYY-MM-DDTHH:MM`` in UTC: every zone's offset is whole minutes, so the local day is exact
    at_minute: Mapped[str] = mapped_column(String(16))
