"""Amazon's own health figures kept beside tsunagu's: importing V2 reports and comparing.

A snapshot is one store's figures from one report file, normalised by
:mod:`tsunagu.connectors.amazon.health_report`. Importing never creates orders or violations: the
report's counts say how many, not which. Comparing evaluates tsunagu's health for the snapshot's
report date, shapes it as a V2 report and normalises *that* with the same reader, so both sides
are read the same way and every difference is a difference in the figures.

Functions take a session and never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.connectors.amazon.health_report import (
    LISTING_VIOLATIONS,
    ParsedReport,
    normalise_report,
    parse_v2_report,
)
from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.health import repo
from tsunagu.health import service as health_service
from tsunagu.health.models import HealthSnapshot
from tsunagu.health.report import v2_report
from tsunagu.health.rules import StoreHealth
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.sellers.service import require_store

#: Rates and targets closer than this (a fraction: 0.0005 = 0.05 percentage points) are the same.
RATE_TOLERANCE = 0.0005

Difference = Literal["same", "differs", "missing_in_amazon", "missing_in_tsunagu"]
Kind = Literal["rate", "count", "score", "text"]
Value = int | float | str | None

#: The figures compared for every metric, and how each is compared.
_METRIC_FIELDS: tuple[tuple[str, Kind], ...] = (
    ("rate", "rate"),
    ("numerator", "count"),
    ("denominator", "count"),
    ("status", "text"),
    ("target", "rate"),
)
#: The stored snapshot row (a name for other modules' annotations).
Snapshot = HealthSnapshot

#: tsunagu does not count units, so it has no unit on-time delivery rate to compare.
_NOT_MEASURED_BY_TSUNAGU = frozenset({"unit_on_time_delivery_rate"})


@dataclass(frozen=True)
class SnapshotImport:
    """``outcome`` is ``stored`` or ``duplicate`` (the same file was imported before: nothing
    was written and ``snapshot`` is the earlier one)."""

    outcome: Literal["stored", "duplicate"]
    snapshot: HealthSnapshot


@dataclass(frozen=True)
class ComparisonRow:
    figure: str
    kind: Kind
    amazon: Value
    tsunagu: Value
    difference: Difference


@dataclass(frozen=True)
class Comparison:
    seller_id: str
    marketplace: str
    report_date: date
    snapshot: HealthSnapshot
    evaluated_at: datetime
    rows: tuple[ComparisonRow, ...]

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(("same", "differs", "missing_in_amazon", "missing_in_tsunagu"), 0)
        for row in self.rows:
            found[row.difference] += 1
        return found


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_snapshot(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    data: bytes,
    source_name: str,
    now: datetime,
) -> SnapshotImport:
    """Store the store's figures from a V2 report file; the same bytes twice is a duplicate.

    A file that cannot be read raises :class:`~tsunagu.core.errors.InvalidInput` naming the
    JSON path of the problem (see :func:`parse_v2_report`)."""
    require_store(session, seller_id, marketplace.code)
    sha = file_sha256(data)
    earlier = repo.snapshot_by_sha(session, seller_id, marketplace.code, sha)
    if earlier is not None:
        return SnapshotImport("duplicate", earlier)
    parsed: ParsedReport = parse_v2_report(data, marketplace.marketplace_id, zone=marketplace.tz)
    snapshot = HealthSnapshot(
        id=new_id("hsn"),
        seller_id=seller_id,
        marketplace=marketplace.code,
        report_date=parsed.report_date.isoformat(),
        imported_at=now,
        source_name=source_name[:500],
        file_sha256=sha,
        figures=parsed.figures,
    )
    try:
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:
        # another import of the same file won the race
        found = repo.snapshot_by_sha(session, seller_id, marketplace.code, sha)
        if found is None:
            raise
        return SnapshotImport("duplicate", found)
    return SnapshotImport("stored", snapshot)


def latest_snapshot(
    session: Session, *, seller_id: str, marketplace: str, on_or_before: date | None = None
) -> HealthSnapshot | None:
    """The store's snapshot with the latest report date (on or before ``on_or_before``); of
    several for one date, the one imported last.

    ``on_or_before`` is read in either sense (ADR 0037): the report date in the store's zone,
    or the UTC date of the report's ``reportingDateTo`` (what the report itself prints), so a
    seller who types the date printed in the file finds that file."""
    if on_or_before is None:
        return repo.latest_snapshot(session, seller_id, marketplace, None)
    found = repo.latest_snapshot(session, seller_id, marketplace, on_or_before + timedelta(days=1))
    if found is None or found.report_date <= on_or_before.isoformat():
        return found
    if _printed_day(found) <= on_or_before:
        return found
    return repo.latest_snapshot(session, seller_id, marketplace, on_or_before)


def _printed_day(snapshot: HealthSnapshot) -> date:
    """The UTC date of the report's ``reportingDateTo`` (its report date when not kept)."""
    reported_to = (snapshot.figures or {}).get("reported_to")
    if isinstance(reported_to, str):
        try:
            return datetime.fromisoformat(reported_to).astimezone(UTC).date()
        except ValueError:
            pass
    return date.fromisoformat(snapshot.report_date)


def require_snapshot(
    session: Session, *, seller_id: str, marketplace: str, on_or_before: date | None = None
) -> HealthSnapshot:
    require_store(session, seller_id, marketplace)
    found = latest_snapshot(
        session, seller_id=seller_id, marketplace=marketplace, on_or_before=on_or_before
    )
    if found is None:
        template = (
            N_(
                "No Amazon health report has been imported for this store "
                "(on or before {day}); import one with tsunagu import amazon-health"
            )
            if on_or_before
            else N_(
                "No Amazon health report has been imported for this store yet; "
                "import one with tsunagu import amazon-health"
            )
        )
        raise NotFound(
            template,
            code="no_snapshot",
            day=on_or_before.isoformat() if on_or_before else "",
            details={
                "seller_id": seller_id,
                "marketplace": marketplace,
                "as_of": on_or_before.isoformat() if on_or_before else None,
            },
        )
    return found


# --------------------------------------------------------------------------- comparing


def _same(kind: Kind, a: Value, b: Value) -> bool:
    if kind == "rate" and isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) <= RATE_TOLERANCE + 1e-12
    if kind == "text" and isinstance(a, str) and isinstance(b, str):
        return a.strip().upper() == b.strip().upper()
    return a == b


def difference(kind: Kind, amazon: Value, tsunagu: Value) -> Difference:
    """How two values of one figure compare; both absent counts as the same."""
    if amazon is None and tsunagu is None:
        return "same"
    if amazon is None:
        return "missing_in_amazon"
    if tsunagu is None:
        return "missing_in_tsunagu"
    return "same" if _same(kind, amazon, tsunagu) else "differs"


def _pairs(
    amazon: Mapping[str, Any], ours: Mapping[str, Any]
) -> Iterator[tuple[str, Kind, Any, Any]]:
    yield "account_status", "text", amazon.get("account_status"), ours.get("account_status")
    a_ahr, t_ahr = amazon.get("ahr") or {}, ours.get("ahr") or {}
    yield "ahr_score", "score", a_ahr.get("score"), t_ahr.get("score")
    yield "ahr_status", "text", a_ahr.get("status"), t_ahr.get("status")
    a_metrics, t_metrics = amazon.get("metrics") or {}, ours.get("metrics") or {}
    for name in sorted(set(a_metrics) | set(t_metrics)):
        a_metric, t_metric = a_metrics.get(name) or {}, t_metrics.get(name) or {}
        for field, kind in _METRIC_FIELDS:
            yield f"{name}.{field}", kind, a_metric.get(field), t_metric.get(field)
    a_listing = amazon.get("listing_violations") or {}
    t_listing = ours.get("listing_violations") or {}
    for key in LISTING_VIOLATIONS:
        if key in a_listing or key in t_listing:
            yield f"{key}.defectsCount", "count", a_listing.get(key), t_listing.get(key)
    a_warnings = amazon.get("policy_violation_warnings")
    t_warnings = ours.get("policy_violation_warnings")
    if a_warnings is not None or t_warnings is not None:
        yield "policyViolationWarnings.warningsCount", "count", a_warnings, t_warnings


def compare_figures(amazon: Mapping[str, Any], ours: Mapping[str, Any]) -> list[ComparisonRow]:
    """One row per figure either side reports (normalised figures, see health_report.py)."""
    return [
        ComparisonRow(figure, kind, a, t, difference(kind, a, t))
        for figure, kind, a, t in _pairs(amazon, ours)
    ]


def tsunagu_figures(h: StoreHealth, marketplace: Marketplace) -> dict[str, Any]:
    """tsunagu's health on ``h.day`` in the same normalised form as an imported report."""
    parsed = normalise_report(
        v2_report(h, marketplace), marketplace.marketplace_id, zone=marketplace.tz
    )
    figures = dict(parsed.figures)
    figures["metrics"] = {
        name: _measured(metric)
        for name, metric in figures["metrics"].items()
        if name not in _NOT_MEASURED_BY_TSUNAGU
    }
    return figures


def _without_placeholders(figures: dict[str, Any]) -> dict[str, Any]:
    """An imported report's figures with the same reading of "nothing counted" as tsunagu's."""
    metrics = {name: _measured(metric) for name, metric in figures.get("metrics", {}).items()}
    return {**figures, "metrics": metrics}


def _measured(metric: dict[str, Any]) -> dict[str, Any]:
    """A metric as measured: the V2 schema makes a report write a rate (0.0) with status
    ``NONE`` when there was nothing to count; in a comparison that is no rate at all, not a
    measured zero (on either side)."""
    if metric.get("status") == "NONE" and not metric.get("denominator"):
        return {**metric, "rate": None}
    return metric


def compare(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    as_of: date | None,
    now: datetime,
) -> Comparison:
    """Amazon's figures from the latest snapshot on or before ``as_of`` (any date when ``None``)
    beside tsunagu's for the snapshot's report date. No snapshot: ``no_snapshot`` (404)."""
    snapshot = require_snapshot(
        session, seller_id=seller_id, marketplace=marketplace.code, on_or_before=as_of
    )
    day = date.fromisoformat(snapshot.report_date)
    h = health_service.store_health(
        session, seller_id=seller_id, marketplace=marketplace, day=day, now=now
    )
    rows = compare_figures(_without_placeholders(snapshot.figures), tsunagu_figures(h, marketplace))
    return Comparison(
        seller_id=seller_id,
        marketplace=marketplace.code,
        report_date=day,
        snapshot=snapshot,
        evaluated_at=h.evaluated_at,
        rows=tuple(rows),
    )
