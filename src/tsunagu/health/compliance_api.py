"""``GET /v1/sellers/{seller_id}/stores/{marketplace}/policy-compliance``: a store's policy
violations as the Account Health Rating counts them, beside Amazon's per-policy counts from the
latest V2 report (ADR 0035). Thin: check access, call the service, shape the answer.

Policy names are in the caller's language (``Accept-Language``), in Seller Central's words;
the ``policy`` keys stay as they are for scripts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import Request
from pydantic import BaseModel, Field

from tsunagu.core.clock import utcnow
from tsunagu.health.compliance import (
    AmazonReport,
    PolicyCompliance,
    PolicyCount,
    ViolationLine,
    policy_compliance,
)
from tsunagu.http.deps import MarketplaceDep, SellerIdDep, SessionDep, signed_in_router
from tsunagu.http.params import STORE_404
from tsunagu.http.responses import documented, request_language
from tsunagu.violations import words

#: every route here needs a signed-in caller
router = signed_in_router()


class ViolationOut(BaseModel):
    violation_id: str = Field(examples=["demo-vio-7-1-1"])
    policy: str | None = Field(
        description="The policy's key (the V2 report's key for Amazon's policies).",
        examples=["receivedIntellectualPropertyComplaints"],
    )
    policy_name: str = Field(
        description="The policy's name on Seller Central's Account Health page, in the "
        "caller's language.",
        examples=["Received Intellectual Property Complaints"],
    )
    severity: str | None = Field(examples=["low"])
    asin: str | None = Field(examples=["B0C1234567"])
    opened_at: datetime | None
    opened_on: date | None = Field(description="The opening day in the store's time zone.")
    resolved_at: datetime | None
    resolved_on: date | None
    ages_out_on: date | None = Field(
        description="The first day the violation no longer counts, even unresolved."
    )
    status: Literal["open", "resolved", "aged_out"]
    counts: bool = Field(description="Whether it counts against the rating today.")
    points: int = Field(description="Rating points it takes off today (0 when not counting).")
    repeat: int | None = Field(description="Its rank among the policy's counting violations.")
    sets_rating_to_zero: bool
    how: str | None
    opened_by_event: str | None = Field(description="The `violation_opened` event's id.")
    resolved_by_event: str | None = Field(description="The last `violation_resolved` event.")

    @classmethod
    def of(cls, v: ViolationLine, lang: str) -> ViolationOut:
        return cls(
            violation_id=v.violation_id,
            policy=v.policy,
            policy_name=words.policy_name(v.policy, lang),
            severity=v.severity,
            asin=v.asin,
            opened_at=v.opened_at,
            opened_on=v.opened_on,
            resolved_at=v.resolved_at,
            resolved_on=v.resolved_on,
            ages_out_on=v.ages_out_on,
            status=v.status,
            counts=v.counts,
            points=v.points,
            repeat=v.repeat,
            sets_rating_to_zero=v.sets_rating_to_zero,
            how=v.how,
            opened_by_event=v.opened_by,
            resolved_by_event=v.resolved_by,
        )


class PolicyCountOut(BaseModel):
    policy: str = Field(examples=["receivedIntellectualPropertyComplaints"])
    policy_name: str
    tsunagu: int | None = Field(
        description="tsunagu's violations of this policy counting today; null when tsunagu "
        "has no violation events for it."
    )
    amazon: int | None = Field(description="Amazon's count in the latest report, if any.")
    count: int | None = Field(description="The count used: tsunagu's, else Amazon's.")
    source: Literal["tsunagu", "amazon", "none"]

    @classmethod
    def of(cls, p: PolicyCount, lang: str) -> PolicyCountOut:
        return cls(
            policy=p.policy,
            policy_name=words.policy_name(p.policy, lang),
            tsunagu=p.tsunagu,
            amazon=p.amazon,
            count=p.shown,
            source=p.source,
        )


class AmazonReportOut(BaseModel):
    snapshot_id: str
    report_date: date
    imported_at: datetime
    policy_violation_warnings: int | None

    @classmethod
    def of(cls, a: AmazonReport) -> AmazonReportOut:
        return cls(
            snapshot_id=a.snapshot_id,
            report_date=a.report_date,
            imported_at=a.imported_at,
            policy_violation_warnings=a.warnings,
        )


class PolicyComplianceOut(BaseModel):
    seller_id: str
    marketplace: str = Field(examples=["JP"])
    day: date = Field(description="Today in the store's time zone: the day evaluated.")
    evaluated_at: datetime
    window_days: int = Field(description="How long a violation counts (days).")
    points_deducted: int
    rating_zeroed: bool
    violations: list[ViolationOut]
    policies: list[PolicyCountOut]
    amazon: AmazonReportOut | None = Field(
        description="The latest imported V2 report of the store; null when none was imported."
    )

    @classmethod
    def of(cls, c: PolicyCompliance, lang: str) -> PolicyComplianceOut:
        return cls(
            seller_id=c.seller_id,
            marketplace=c.marketplace,
            day=c.day,
            evaluated_at=c.evaluated_at,
            window_days=c.window_days,
            points_deducted=c.points_deducted,
            rating_zeroed=c.rating_zeroed,
            violations=[ViolationOut.of(v, lang) for v in c.violations],
            policies=[PolicyCountOut.of(p, lang) for p in c.policies],
            amazon=AmazonReportOut.of(c.amazon) if c.amazon is not None else None,
        )


@router.get(
    "/sellers/{seller_id}/stores/{marketplace}/policy-compliance",
    tags=["policy"],
    summary="A store's policy violations beside Amazon's per-policy counts",
    responses=documented(422, e404=STORE_404),
)
def store_policy_compliance(
    request: Request, seller_id: SellerIdDep, marketplace: MarketplaceDep, session: SessionDep
) -> PolicyComplianceOut:
    """Every violation of the store with the points it costs the Account Health Rating today,
    the day it ages out, its status and the events behind it; and per policy tsunagu's count
    beside Amazon's from the latest imported V2 report (Amazon's count is used where tsunagu
    has no violation events for the policy)."""
    found = policy_compliance(session, seller_id=seller_id, marketplace=marketplace, now=utcnow())
    return PolicyComplianceOut.of(found, request_language(request))
