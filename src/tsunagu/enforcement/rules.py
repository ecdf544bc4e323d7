"""Account status of a store and the issues behind it. Pure: no database, no clock.

The vocabulary here is public (CLI JSON, REST, notifications): never rename a status or a code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

NORMAL = "NORMAL"
AT_RISK = "AT_RISK"
UNDER_REVIEW = "UNDER_REVIEW"
DEACTIVATED = "DEACTIVATED"
STATUSES = (NORMAL, AT_RISK, UNDER_REVIEW, DEACTIVATED)

ORDER_DEFECT_RATE = "ORDER_DEFECT_RATE"
LATE_SHIPMENT_RATE = "LATE_SHIPMENT_RATE"
CANCELLATION_RATE = "CANCELLATION_RATE"
VALID_TRACKING_RATE = "VALID_TRACKING_RATE"
POLICY_VIOLATION = "POLICY_VIOLATION"
LOW_ACCOUNT_HEALTH = "LOW_ACCOUNT_HEALTH"
RELATED_ACCOUNT = "RELATED_ACCOUNT"
ISSUE_CODES = (
    ORDER_DEFECT_RATE,
    LATE_SHIPMENT_RATE,
    CANCELLATION_RATE,
    VALID_TRACKING_RATE,
    POLICY_VIOLATION,
    LOW_ACCOUNT_HEALTH,
    RELATED_ACCOUNT,
)


def amazon_status(status: str) -> str:
    """The status in Amazon-shaped output (SP-API knows NORMAL, AT_RISK, DEACTIVATED):
    ``UNDER_REVIEW`` is shown as ``AT_RISK``."""
    return AT_RISK if status == UNDER_REVIEW else status


@dataclass(frozen=True)
class Issue:
    """One reason behind a decision.

    ``causes`` counts what caused it (claim reasons such as ``not_received``, cancellation reasons
    such as ``out_of_stock``, policies); ``evidence`` holds the ids of the orders or violations.
    ``related`` names the store that caused a ``RELATED_ACCOUNT`` issue
    (``{"seller": …, "marketplace": …}``).
    """

    code: str
    value: float | int | None = None
    target: float | int | None = None
    causes: Mapping[str, int] = field(default_factory=dict)
    evidence: tuple[str, ...] = ()
    window: tuple[date, date] | None = None
    related: Mapping[str, str] | None = None


# --------------------------------------------------------------------------- the decision

#: the metric issues whose breach, lasting ``sustained_days``, deactivates (issue 14, item 1)
SUSTAINED_CODES = (ORDER_DEFECT_RATE, LATE_SHIPMENT_RATE, CANCELLATION_RATE)
#: the related-accounts modes of ``[enforcement] related_accounts``
RELATED_MODES = ("deactivate", "flag")


@dataclass(frozen=True)
class EnforcementConfig:
    """Every threshold of the decision; ``[enforcement]`` (and per marketplace) in the config
    file overrides them (ADR 0024)."""

    #: AHR below this: AT_RISK (Amazon's "At Risk" band starts at 199)
    at_risk_score: int = 200
    #: AHR below this: deactivation (Amazon's red band, 0–99)
    deactivate_score: int = 100
    #: metric issues that put a store AT_RISK when their metric misses its target
    at_risk_metrics: tuple[str, ...] = SUSTAINED_CODES
    #: metric issues that deactivate when they stay breached this long
    sustained_metrics: tuple[str, ...] = SUSTAINED_CODES
    sustained_days: int = 7
    #: Account Health Assurance: AHR at least this …
    assurance_score: int = 250
    #: … over this many days before the trigger …
    assurance_days: int = 180
    #: … with at most this many days below it
    assurance_days_below: int = 10
    grace_hours: int = 72
    appeal_days: int = 17
    probation_days: int = 30
    related_accounts: str = "deactivate"


@dataclass(frozen=True)
class Counted:
    """One order behind a metric's numerator: its id, when it was placed (probation looks at
    it) and what caused it (``not_received``, ``out_of_stock``, a ship service …)."""

    id: str
    placed_at: datetime | None = None
    causes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricInput:
    """One metric as enforcement reads it. ``comparison`` is the metric's own: ``<`` means
    "good while below target" (ODR, late shipment, cancellation), ``>=`` "good at or above"
    (valid tracking). ``counted`` is empty where the numerator's ids are not the defects
    (valid tracking counts the good orders); ``causes`` then come from the metric itself."""

    code: str
    numerator: int
    denominator: int
    target: float
    comparison: str = "<"
    counted: tuple[Counted, ...] = ()
    causes: Mapping[str, int] = field(default_factory=dict)
    window: tuple[date, date] | None = None


@dataclass(frozen=True)
class OpenViolation:
    violation_id: str
    policy: str
    #: the points it takes off the AHR today (0 when it costs nothing)
    points: int


@dataclass(frozen=True)
class Facts:
    """What one evaluation sees: the store's AHR, its metrics and open violations."""

    score: int
    metrics: tuple[MetricInput, ...] = ()
    violations: tuple[OpenViolation, ...] = ()


@dataclass(frozen=True)
class Previous:
    """What the store's state carries from earlier evaluations and decisions."""

    status: str = NORMAL
    #: per metric issue code, the day its current unbroken breach began
    breached_since: Mapping[str, date] = field(default_factory=dict)
    grace_until: datetime | None = None
    probation_from: datetime | None = None
    probation_until: datetime | None = None
    probation_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """``status`` is what the rules say (NORMAL, AT_RISK or DEACTIVATED); ``trigger`` is True
    when a deactivation condition holds, whether or not a grace period holds it back."""

    status: str
    issues: tuple[Issue, ...]
    trigger: bool
    breached_since: Mapping[str, date]
    grace_until: datetime | None
    #: a grace period starts with this decision
    grace_started: bool = False
    #: a grace period ended with this decision (deactivated, or the issue was fixed)
    grace_ended: bool = False


def breached(numerator: int, denominator: int, target: float, comparison: str) -> bool:
    """Whether ``numerator / denominator`` misses ``target``, compared exactly (as fractions,
    like the health engine: 1/100 misses a 1 % target written ``< 0.01``). Nothing measured
    misses nothing."""
    if denominator <= 0:
        return False
    p, q = Fraction(str(target)).as_integer_ratio()
    if comparison == "<":
        return numerator * q >= p * denominator
    if comparison == ">":
        return numerator * q <= p * denominator
    return numerator * q < p * denominator  # ">=": good at or above


def on_probation(previous: Previous, code: str, at: datetime) -> bool:
    return (
        previous.probation_from is not None
        and previous.probation_until is not None
        and at < previous.probation_until
        and code in previous.probation_codes
    )


def metric_issue(m: MetricInput, previous: Previous, at: datetime) -> Issue | None:
    """The issue of one metric when it misses its target, else None.

    On probation for ``m.code`` (after a reinstatement at R), orders placed before R leave the
    numerator; the denominator stays as it is (ADR 0024)."""
    counted = m.counted
    numerator = m.numerator
    if m.comparison == "<" and on_probation(previous, m.code, at):
        start = previous.probation_from
        assert start is not None
        counted = tuple(c for c in counted if c.placed_at is None or c.placed_at >= start)
        numerator = len(counted)
    if not breached(numerator, m.denominator, m.target, m.comparison):
        return None
    causes: dict[str, int] = dict(m.causes)
    for c in counted:
        for cause in set(c.causes):
            causes[cause] = causes.get(cause, 0) + 1
    return Issue(
        code=m.code,
        value=numerator / m.denominator,
        target=m.target,
        causes=dict(sorted(causes.items())),
        evidence=tuple(sorted(c.id for c in counted)),
        window=m.window,
    )


def policy_issue(violations: Sequence[OpenViolation]) -> Issue | None:
    """The open violations that cost points, by policy (value: how many; target: 0)."""
    costly = [v for v in violations if v.points > 0]
    if not costly:
        return None
    by_policy: dict[str, int] = {}
    for v in costly:
        by_policy[v.policy] = by_policy.get(v.policy, 0) + 1
    return Issue(
        code=POLICY_VIOLATION,
        value=len(costly),
        target=0,
        causes=dict(sorted(by_policy.items())),
        evidence=tuple(sorted(v.violation_id for v in costly)),
    )


def assured(scores: Sequence[int], config: EnforcementConfig) -> bool:
    """Account Health Assurance: the AHR of each of the last ``assurance_days`` days before the
    trigger (``scores``, one per day) was at least ``assurance_score`` on all but at most
    ``assurance_days_below`` days. Fewer days than that (a new store) is no assurance."""
    if len(scores) < config.assurance_days:
        return False
    recent = scores[-config.assurance_days :]
    below = sum(1 for s in recent if s < config.assurance_score)
    return below <= config.assurance_days_below


def decide(
    facts: Facts,
    previous: Previous,
    *,
    day: date,
    at: datetime,
    config: EnforcementConfig,
    assurance: bool = False,
) -> Decision:
    """The rules' status for one store on ``day``, evaluated at instant ``at``.

    - AHR below ``at_risk_score`` (200): AT_RISK, ``LOW_ACCOUNT_HEALTH``; with the open
      violations that cost points as ``POLICY_VIOLATION``.
    - a metric of ``at_risk_metrics`` over its target: AT_RISK with its issue.
    - AHR below ``deactivate_score`` (100), or a metric of ``sustained_metrics`` breached since
      at least ``sustained_days`` days: DEACTIVATED …
    - … unless the store is assured (``assurance``) or already in a grace period: then AT_RISK
      with ``grace_until``, and DEACTIVATED only when an evaluation at or after it still finds
      a deactivation condition.

    A store the rules would leave is never lifted out of DEACTIVATED here: only a reinstatement
    or an operator does that (the service keeps the status).
    """
    issues: list[Issue] = []
    since: dict[str, date] = {}
    trigger = False
    for m in facts.metrics:
        issue = metric_issue(m, previous, at)
        if issue is None:
            continue
        began = previous.breached_since.get(m.code, day)
        since[m.code] = min(began, day)
        if (
            m.code in config.sustained_metrics
            and (day - since[m.code]).days >= config.sustained_days
        ):
            trigger = True
            issues.append(issue)
        elif m.code in config.at_risk_metrics or m.code in config.sustained_metrics:
            issues.append(issue)
    if facts.score < config.at_risk_score:
        issues.append(
            Issue(code=LOW_ACCOUNT_HEALTH, value=facts.score, target=config.at_risk_score)
        )
        policy = policy_issue(facts.violations)
        if policy is not None:
            issues.append(policy)
    if facts.score < config.deactivate_score:
        trigger = True
    issues = merged(issues)
    status = AT_RISK if issues else NORMAL
    grace = previous.grace_until
    if not trigger:
        return Decision(status, tuple(issues), False, since, None, grace_ended=grace is not None)
    if grace is not None and at < grace:
        return Decision(AT_RISK, tuple(issues), True, since, grace)
    if grace is None and assurance:
        until = at + timedelta(hours=config.grace_hours)
        return Decision(AT_RISK, tuple(issues), True, since, until, grace_started=True)
    return Decision(DEACTIVATED, tuple(issues), True, since, None, grace_ended=grace is not None)


def merged(issues: Sequence[Issue]) -> list[Issue]:
    """One issue per code, in the order of :data:`ISSUE_CODES`: the two ODR channels become one
    issue with the higher rate, the causes added up and the evidence of both."""
    by_code: dict[str, Issue] = {}
    for issue in issues:
        known = by_code.get(issue.code)
        if known is None:
            by_code[issue.code] = issue
            continue
        causes = dict(known.causes)
        for cause, count in issue.causes.items():
            causes[cause] = causes.get(cause, 0) + count
        values = [v for v in (known.value, issue.value) if v is not None]
        by_code[issue.code] = Issue(
            code=issue.code,
            value=max(values) if values else None,
            target=known.target,
            causes=dict(sorted(causes.items())),
            evidence=tuple(sorted(set(known.evidence) | set(issue.evidence))),
            window=known.window,
            related=known.related,
        )
    return sorted(by_code.values(), key=lambda i: ISSUE_CODES.index(i.code))


def related_issue(seller_id: str, marketplace: str) -> Issue:
    """The issue of a store deactivated (or flagged) because another store was."""
    return Issue(code=RELATED_ACCOUNT, related={"seller": seller_id, "marketplace": marketplace})


def issue_to_json(issue: Issue) -> dict[str, Any]:
    """The public shape of an issue (CLI ``--json``, REST, stored JSON)."""
    return {
        "code": issue.code,
        "value": issue.value,
        "target": issue.target,
        "causes": dict(issue.causes),
        "evidence": list(issue.evidence),
        "window": None
        if issue.window is None
        else [issue.window[0].isoformat(), issue.window[1].isoformat()],
        "related": None if issue.related is None else dict(issue.related),
    }


def issue_from_json(data: Mapping[str, Any]) -> Issue:
    window = data.get("window")
    related = data.get("related")
    return Issue(
        code=str(data["code"]),
        value=data.get("value"),
        target=data.get("target"),
        causes={str(k): int(v) for k, v in (data.get("causes") or {}).items()},
        evidence=tuple(str(e) for e in data.get("evidence") or ()),
        window=None
        if not window
        else (date.fromisoformat(window[0]), date.fromisoformat(window[1])),
        related=None if related is None else {str(k): str(v) for k, v in related.items()},
    )
