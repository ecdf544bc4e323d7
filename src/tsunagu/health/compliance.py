"""A store's policy compliance: its violations as the Account Health Rating counts them, beside
Amazon's per-policy counts from the store's latest V2 report (ADR 0035).

The violations come from the ``violations`` projection; what each costs comes from the rating
itself (:func:`tsunagu.health.rules.rate` on the evaluation day, with the store's
configuration), so the page and the rating never disagree; the event that opened (and resolved)
each violation is its evidence. Amazon's counts come from the snapshot exactly as imported.

For a policy tsunagu has no violation events for, Amazon's count is the one shown, marked as
Amazon's (issue 16, item 4: "uses Amazon's counts (with a label) where tsunagu has no source").

Functions take a session and never commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from tsunagu.events.repo import prior_events
from tsunagu.health import repo
from tsunagu.health.config import health_of
from tsunagu.health.metrics import local_date
from tsunagu.health.models import HealthSnapshot
from tsunagu.health.report import LISTING_VIOLATION_KEYS
from tsunagu.health.rules import AhrConfig, rate
from tsunagu.health.rules import Violation as RatedViolation
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.orders.rules import StoredEvent, in_order
from tsunagu.sellers.service import require_store
from tsunagu.violations import repo as violations_repo
from tsunagu.violations.models import Violation as ViolationRow

Status = Literal["open", "resolved", "aged_out"]
#: where the count shown for a policy comes from: tsunagu's events, Amazon's report, or neither
Source = Literal["tsunagu", "amazon", "none"]

_STATUS_ORDER = {"open": 0, "aged_out": 1, "resolved": 2}


@dataclass(frozen=True)
class ViolationLine:
    """One violation of the store as the rating sees it on ``PolicyCompliance.day``.

    ``points``: what it takes off the rating that day (0 when it does not count; a repeat of a
    policy costs more, as the rating counts it). ``sets_rating_to_zero``: an open critical
    violation (the rating is 0 whatever else). ``ages_out_on``: the first day it no longer
    counts even if never resolved (opening day + the rating's window)."""

    violation_id: str
    policy: str | None
    severity: str | None
    asin: str | None
    opened_at: datetime | None
    opened_on: date | None
    resolved_at: datetime | None
    resolved_on: date | None
    ages_out_on: date | None
    status: Status
    counts: bool
    points: int
    repeat: int | None
    sets_rating_to_zero: bool
    how: str | None
    #: the ``violation_opened`` event that opened it (its evidence) and the resolving event
    opened_by: str | None
    resolved_by: str | None


@dataclass(frozen=True)
class PolicyCount:
    """One policy: tsunagu's violations counting today, Amazon's count on the report's date,
    and the count this page uses (tsunagu's, else Amazon's)."""

    policy: str
    #: ``None``: tsunagu has no violation events for this policy
    tsunagu: int | None
    #: ``None``: no snapshot, or the report leaves this policy out
    amazon: int | None
    shown: int | None
    source: Source


@dataclass(frozen=True)
class AmazonReport:
    snapshot_id: str
    report_date: date
    imported_at: datetime
    #: ``policyViolationWarnings.warningsCount`` when the report has it
    warnings: int | None


@dataclass(frozen=True)
class PolicyCompliance:
    seller_id: str
    marketplace: str
    day: date
    evaluated_at: datetime
    window_days: int
    violations: tuple[ViolationLine, ...]
    policies: tuple[PolicyCount, ...]
    amazon: AmazonReport | None
    #: points the counting violations take off the rating today (critical ones aside)
    points_deducted: int
    rating_zeroed: bool

    @property
    def empty(self) -> bool:
        """Nothing to show: no violation and no Amazon report."""
        return not self.violations and self.amazon is None


def _status(row: ViolationRow, day: date, ages_out_on: date | None) -> Status:
    if row.resolved_at is not None:
        return "resolved"
    if ages_out_on is not None and day >= ages_out_on:
        return "aged_out"
    return "open"


def _evidence(events: Iterable[StoredEvent]) -> tuple[str | None, str | None]:
    """The id of the event that opened the violation and of the last one that resolved it."""
    opened = resolved = None
    for ev in in_order(events):
        if ev.type == "violation_opened" and opened is None:
            opened = ev.event_id
        elif ev.type == "violation_resolved":
            resolved = ev.event_id
    return opened, resolved


def violation_lines(
    rows: Sequence[ViolationRow],
    *,
    day: date,
    marketplace: Marketplace,
    config: AhrConfig,
    rating_violations: Sequence[RatedViolation],
    events: Mapping[str, Sequence[StoredEvent]],
) -> list[ViolationLine]:
    """Each stored violation with what the rating on ``day`` makes of it."""
    rating = rate(on=day, fulfilled_orders=0, violations=rating_violations, config=config)
    cost = {
        t.violation_id: (-t.points, t.repeat)
        for t in rating.terms
        if t.kind == "violation" and t.violation_id
    }
    counting = {v.violation_id for v in rating_violations if v.open_on(day, config.window_days)}
    zone = marketplace.tz
    lines = []
    for row in rows:
        opened_on = local_date(row.opened_at, zone) if row.opened_at is not None else None
        ages_out = opened_on + timedelta(days=config.window_days) if opened_on else None
        counts = row.violation_id in counting
        points, repeat = cost.get(row.violation_id, (0, None))
        opened_by, resolved_by = _evidence(events.get(row.violation_id, ()))
        lines.append(
            ViolationLine(
                violation_id=row.violation_id,
                policy=row.policy,
                severity=row.severity,
                asin=row.asin,
                opened_at=row.opened_at,
                opened_on=opened_on,
                resolved_at=row.resolved_at,
                resolved_on=local_date(row.resolved_at, zone) if row.resolved_at else None,
                ages_out_on=ages_out,
                status=_status(row, day, ages_out),
                counts=counts,
                points=points if counts else 0,
                repeat=repeat if counts else None,
                sets_rating_to_zero=counts and row.severity == "critical",
                how=row.how,
                opened_by=opened_by,
                resolved_by=resolved_by,
            )
        )
    lines.sort(
        key=lambda v: (
            _STATUS_ORDER[v.status],
            -(v.opened_at.timestamp() if v.opened_at else 0.0),
            v.violation_id,
        )
    )
    return lines


def policy_counts(
    lines: Sequence[ViolationLine], amazon_counts: Mapping[str, int | None] | None
) -> list[PolicyCount]:
    """One row per policy that tsunagu has events for or Amazon's report names: the V2
    report's policies in the report's order, then tsunagu's others by key."""
    seen = {v.policy or "unknown" for v in lines}
    counting = Counter(v.policy or "unknown" for v in lines if v.counts)
    reported = dict(amazon_counts or {})
    keys = [k for k in LISTING_VIOLATION_KEYS if k in seen or k in reported]
    keys += sorted((seen | set(reported)) - set(keys))
    rows = []
    for key in keys:
        ours = counting.get(key, 0) if key in seen else None
        theirs = reported.get(key)
        if ours is not None:
            rows.append(PolicyCount(key, ours, theirs, ours, "tsunagu"))
        elif theirs is not None:
            rows.append(PolicyCount(key, None, theirs, theirs, "amazon"))
        else:
            rows.append(PolicyCount(key, None, None, None, "none"))
    return rows


def _amazon(snapshot: HealthSnapshot | None) -> tuple[AmazonReport | None, dict[str, int | None]]:
    if snapshot is None:
        return None, {}
    figures = snapshot.figures or {}
    counts = figures.get("listing_violations") or {}
    warnings = figures.get("policy_violation_warnings")
    report = AmazonReport(
        snapshot_id=snapshot.id,
        report_date=date.fromisoformat(snapshot.report_date),
        imported_at=snapshot.imported_at,
        warnings=warnings if isinstance(warnings, int) else None,
    )
    return report, {
        str(k): (v if isinstance(v, int) else None) for k, v in counts.items() if k != "unknown"
    }


def policy_compliance(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    ahr_config: AhrConfig | None = None,
) -> PolicyCompliance:
    """The store's violations on today's date in its zone, with Amazon's latest report's
    per-policy counts. An unknown seller or store: ``NotFound`` (404)."""
    require_store(session, seller_id, marketplace.code)
    config = ahr_config or health_of(marketplace).ahr
    day = local_date(now, marketplace.tz)
    rows = violations_repo.store_violations(session, seller_id, marketplace.code)
    rating_violations = repo.load_violations(session, seller_id, marketplace.code, marketplace.tz)
    events = prior_events(
        session, seller_id, marketplace.code, "ref_id", [r.violation_id for r in rows]
    )
    lines = violation_lines(
        rows,
        day=day,
        marketplace=marketplace,
        config=config,
        rating_violations=rating_violations,
        events=events,
    )
    amazon, amazon_counts = _amazon(
        repo.latest_snapshot(session, seller_id, marketplace.code, None)
    )
    return PolicyCompliance(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=day,
        evaluated_at=now,
        window_days=config.window_days,
        violations=tuple(lines),
        policies=tuple(policy_counts(lines, amazon_counts if amazon else None)),
        amazon=amazon,
        points_deducted=sum(v.points for v in lines),
        rating_zeroed=any(v.sets_rating_to_zero for v in lines),
    )
