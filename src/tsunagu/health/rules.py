"""The Account Health Rating model. Pure: no database, no clock (the evaluation date is passed in).

Amazon documents the scale (0–1000), the bands, the 200 start, "+4 points per 200 orders fulfilled
in 180 days", the floor of 200 for accounts without violations, and that critical violations set the
score to 0 (amazon-domain.md §2). Point values per severity and the doubling of repeats come from
community reports, so they are configuration (:class:`AhrConfig`), recorded in an ADR.

Every score comes with its explanation: a list of :class:`Term` whose points add up to the score
exactly — clamping and the floor appear as terms of their own when they change the raw sum.

:class:`StoreHealth` is one store's metrics and rating on one day, what the services, the V2
report and the pages share; :func:`fulfilled_dates` gives the orders behind the sales credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from tsunagu.health.metrics import (
    MetricResult,
    OrderFacts,
    Window,
    cutoff,
    local_date,
    window_span,
)

Severity = Literal["low", "medium", "high", "critical"]
Profile = Literal["amazon", "metrics"]

#: Metrics that cost points in the ``metrics`` profile when they miss their target.
PENALISED_METRICS = (
    "order_defect_rate",
    "late_shipment_rate",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
    "contact_response",
    "return_dissatisfaction_rate",
)


@dataclass(frozen=True)
class AhrConfig:
    """The model's knobs; defaults are tsunagu's reading of what Amazon says (ADR 0008)."""

    profile: Profile = "amazon"
    base: int = 200
    credit_points: int = 4
    credit_orders: int = 200
    window_days: int = 180
    severity_points: Mapping[str, int] = field(
        default_factory=lambda: {"low": 2, "medium": 4, "high": 8}
    )
    #: each further open violation of the same policy costs this many times the previous one
    repeat_factor: int = 2
    #: ``metrics`` profile: points per metric that misses its target
    metric_points: int = 10
    #: with nothing deducted the rating never drops below this (Amazon: 200)
    floor: int = 200
    minimum: int = 0
    maximum: int = 1000


@dataclass(frozen=True)
class Violation:
    violation_id: str
    policy: str
    severity: Severity
    opened_on: date
    resolved_on: date | None = None

    def open_on(self, day: date, window_days: int) -> bool:
        """Counts on days X … X+window−1 for an opening day X, unless resolved by then."""
        if day < self.opened_on or day > self.ages_out_on(window_days) - timedelta(days=1):
            return False
        return self.resolved_on is None or day < self.resolved_on

    def ages_out_on(self, window_days: int) -> date:
        return self.opened_on + timedelta(days=window_days)


@dataclass(frozen=True)
class Term:
    """One line of the explanation; ``points`` are what this line adds to the score."""

    kind: str  # base | sales_credit | violation | critical | metric | floor | clamp
    points: int
    label: str
    violation_id: str | None = None
    policy: str | None = None
    severity: str | None = None
    repeat: int | None = None
    opened_on: date | None = None
    ages_out_on: date | None = None
    metric: str | None = None
    orders: int | None = None


@dataclass(frozen=True)
class Rating:
    score: int
    band: str  # healthy | at_risk | unhealthy
    profile: str
    terms: tuple[Term, ...]


def band(score: int) -> str:
    """200–1000 healthy, 100–199 at risk, 0–99 unhealthy (Amazon's bands)."""
    if score >= 200:
        return "healthy"
    if score >= 100:
        return "at_risk"
    return "unhealthy"


def sales_credit(fulfilled_orders: int, config: AhrConfig) -> int:
    return config.credit_points * (max(fulfilled_orders, 0) // config.credit_orders)


def _violation_terms(open_violations: Sequence[Violation], config: AhrConfig) -> list[Term]:
    """Among the open violations of one policy, ordered by opening day then id, the k-th costs
    its severity's points × factor^(k−1): two open high ones of one policy cost 8 + 16."""
    by_policy: dict[str, list[Violation]] = defaultdict(list)
    for v in open_violations:
        if v.severity != "critical":
            by_policy[v.policy].append(v)
    terms = []
    for policy in sorted(by_policy):
        ranked = sorted(by_policy[policy], key=lambda v: (v.opened_on, v.violation_id))
        for k, v in enumerate(ranked, start=1):
            cost = config.severity_points[v.severity] * config.repeat_factor ** (k - 1)
            terms.append(
                Term(
                    "violation",
                    -cost,
                    f"{v.severity} violation of {policy}" + (f" (repeat {k})" if k > 1 else ""),
                    violation_id=v.violation_id,
                    policy=policy,
                    severity=v.severity,
                    repeat=k,
                    opened_on=v.opened_on,
                    ages_out_on=v.ages_out_on(config.window_days),
                )
            )
    return terms


def rate(
    *,
    on: date,
    fulfilled_orders: int,
    violations: Iterable[Violation],
    missed_metrics: Iterable[str] = (),
    config: AhrConfig | None = None,
) -> Rating:
    """The AHR of one store on day ``on``.

    ``fulfilled_orders``: shipped, not cancelled orders (MFN and AFN) placed in the 180 days
    ending ``on``. ``missed_metrics``: names from :data:`PENALISED_METRICS` that miss their
    target (only the ``metrics`` profile uses them).
    """
    config = config or AhrConfig()
    current = [v for v in violations if v.open_on(on, config.window_days)]
    credit = sales_credit(fulfilled_orders, config)
    terms: list[Term] = [
        Term("base", config.base, "starting score"),
        Term(
            "sales_credit",
            credit,
            f"{config.credit_points} points per {config.credit_orders} fulfilled orders",
            orders=fulfilled_orders,
        ),
    ]
    terms += _violation_terms(current, config)
    if config.profile == "metrics":
        terms += [
            Term("metric", -config.metric_points, f"{name} misses its target", metric=name)
            for name in sorted(set(missed_metrics))
            if name in PENALISED_METRICS
        ]
    raw = sum(t.points for t in terms)
    critical = sorted(
        (v for v in current if v.severity == "critical"),
        key=lambda v: (v.opened_on, v.violation_id),
    )
    if critical:
        first = critical[0]
        terms.append(
            Term(
                "critical",
                -raw,
                f"critical violation of {first.policy}: the rating is 0",
                violation_id=first.violation_id,
                policy=first.policy,
                severity="critical",
                opened_on=first.opened_on,
                ages_out_on=first.ages_out_on(config.window_days),
            )
        )
        return Rating(0, band(0), config.profile, tuple(terms))
    deducted = any(t.points < 0 for t in terms)
    score = raw
    if not deducted and score < config.floor:
        terms.append(Term("floor", config.floor - score, "nothing deducted: never below the floor"))
        score = config.floor
    clamped = min(max(score, config.minimum), config.maximum)
    if clamped != score:
        terms.append(
            Term("clamp", clamped - score, f"kept within {config.minimum}–{config.maximum}")
        )
    return Rating(clamped, band(clamped), config.profile, tuple(terms))


# --------------------------------------------------------------------------- a store's health


@dataclass(frozen=True)
class StoreHealth:
    """One store's metrics and rating on one local day."""

    seller_id: str
    marketplace: str
    day: date
    evaluated_at: datetime
    fulfilled_orders: int
    metrics: Mapping[str, MetricResult]
    rating: Rating
    #: the violations open on ``day`` (the V2 report counts them per policy)
    open_violations: tuple[Violation, ...] = ()


def fulfilled_dates(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window_days: int = 180,
    as_of: datetime | None = None,
) -> list[date]:
    """The local purchase dates of the orders :func:`~tsunagu.health.metrics.fulfilled_orders`
    counts: shipped by the cut-off, not cancelled by it, MFN or AFN, placed in the
    ``window_days`` ending ``day``."""
    span = window_span(day, zone, Window(window_days, 0))
    end = cutoff(day, zone, as_of)
    return sorted(
        local_date(o.purchased_at, zone)
        for o in orders
        if o.channel in ("MFN", "AFN")
        and span.holds(o.purchased_at, zone)
        and o.shipped_at is not None
        and o.shipped_at < end
        and (o.cancelled_at is None or o.cancelled_at >= end)
    )
