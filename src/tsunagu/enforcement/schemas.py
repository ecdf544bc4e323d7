"""API (and ``--json``) models of the enforcement slice. The keys of :class:`StoreStatusOut` are
a public contract (``tsunagu enforcement status --json``): never rename one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from tsunagu.enforcement.rules import Issue, amazon_status
from tsunagu.enforcement.service import Change, Evaluated, StoreStatus


class IssueOut(BaseModel):
    code: str = Field(description="ORDER_DEFECT_RATE, CANCELLATION_RATE, … (stable codes).")
    value: float | None = Field(description="The metric's rate, the AHR, or a count.")
    target: float | None
    causes: dict[str, int] = Field(description="What caused it, counted (`not_received` …).")
    evidence: list[str] = Field(description="The ids of the orders or violations behind it.")
    window: list[date] | None = None
    related: dict[str, str] | None = Field(
        None, description="`RELATED_ACCOUNT`: the store (`seller`, `marketplace`) that caused it."
    )

    @classmethod
    def of(cls, issue: Issue) -> IssueOut:
        return cls(
            code=issue.code,
            value=None if issue.value is None else float(issue.value),
            target=None if issue.target is None else float(issue.target),
            causes=dict(issue.causes),
            evidence=list(issue.evidence),
            window=None if issue.window is None else list(issue.window),
            related=None if issue.related is None else dict(issue.related),
        )


class StoreStatusOut(BaseModel):
    seller_id: str
    marketplace: str
    status: str = Field(description="NORMAL, AT_RISK, UNDER_REVIEW or DEACTIVATED.")
    amazon_status: str = Field(description="As Amazon shows it: UNDER_REVIEW is AT_RISK.")
    since: datetime | None
    issues: list[IssueOut]
    grace_until: datetime | None = Field(
        description="Account Health Assurance: deactivated only if the issue is still open then."
    )
    deactivation_id: str | None
    appeal_deadline: datetime | None = None
    probation_until: datetime | None
    probation_codes: list[str]

    @classmethod
    def of(cls, s: StoreStatus, appeal_deadline: datetime | None = None) -> StoreStatusOut:
        return cls(
            seller_id=s.seller_id,
            marketplace=s.marketplace,
            status=s.status,
            amazon_status=amazon_status(s.status),
            since=s.since,
            issues=[IssueOut.of(i) for i in s.issues],
            grace_until=s.grace_until,
            deactivation_id=s.deactivation_id,
            appeal_deadline=appeal_deadline,
            probation_until=s.probation_until,
            probation_codes=list(s.probation_codes),
        )


class ChangeOut(BaseModel):
    id: str
    at: datetime
    previous: str
    current: str
    reason: str = Field(
        description="rules, grace_started, grace_ended, override, fraud, related_account, "
        "related_account_flagged or reinstated."
    )
    actor: str
    note: str | None
    issues: list[IssueOut]
    metrics: dict[str, Any] = Field(description="The AHR and metrics the change was decided on.")
    deactivation_id: str | None
    grace_until: datetime | None

    @classmethod
    def of(cls, c: Change) -> ChangeOut:
        return cls(
            id=c.id,
            at=c.at,
            previous=c.previous,
            current=c.current,
            reason=c.reason,
            actor=c.actor,
            note=c.note,
            issues=[IssueOut.of(i) for i in c.issues],
            metrics=c.metrics,
            deactivation_id=c.deactivation_id,
            grace_until=c.grace_until,
        )


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None


class EvaluatedOut(BaseModel):
    seller_id: str
    marketplace: str
    day: date
    evaluation_id: str
    previous: str
    status: str
    issues: list[IssueOut]
    grace_until: datetime | None
    recorded: bool = Field(description="False when the day had been evaluated already.")
    changed: bool

    @classmethod
    def of(cls, e: Evaluated) -> EvaluatedOut:
        return cls(
            seller_id=e.seller_id,
            marketplace=e.marketplace,
            day=e.day,
            evaluation_id=e.evaluation_id,
            previous=e.previous,
            status=e.status,
            issues=[IssueOut.of(i) for i in e.issues],
            grace_until=e.grace_until,
            recorded=e.recorded,
            changed=e.changed,
        )


class EvaluationsOut(BaseModel):
    items: list[EvaluatedOut]
