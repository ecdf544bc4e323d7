"""The JSON shapes of appeals (API and ``--json``): the CLI prints exactly these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tsunagu.appeals import rules
from tsunagu.appeals.checker import Finding
from tsunagu.appeals.models import Appeal, AppealAttachment, AppealTransition
from tsunagu.appeals.plan import Missing, Plan, Section
from tsunagu.appeals.service import AppealDetail, CheckResult

_PART = Field(default="", max_length=20_000)


class SectionIn(BaseModel):
    issue: str = Field(min_length=1, max_length=40, examples=["ORDER_DEFECT_RATE"])
    root_cause: str = _PART
    actions: str = _PART
    prevention: str = _PART
    evidence: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Attachment ids of this appeal (`POST /v1/appeals/{appeal_id}/attachments`).",
    )


class PlanIn(BaseModel):
    """`{"sections": [{"issue", "root_cause", "actions", "prevention", "evidence"}]}`; one
    section per issue of the appeal."""

    sections: list[SectionIn] = Field(max_length=20)

    def plan(self) -> Plan:
        return Plan(
            tuple(
                Section(
                    issue=s.issue,
                    root_cause=s.root_cause,
                    actions=s.actions,
                    prevention=s.prevention,
                    evidence=tuple(s.evidence),
                )
                for s in self.sections
            )
        )


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject", "request-info"] = Field(examples=["accept"])
    note: str | None = Field(default=None, max_length=4000)


class WithdrawIn(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class SectionOut(BaseModel):
    issue: str
    root_cause: str
    actions: str
    prevention: str
    evidence: list[str]

    @classmethod
    def of(cls, s: Section) -> SectionOut:
        return cls(
            issue=s.issue,
            root_cause=s.root_cause,
            actions=s.actions,
            prevention=s.prevention,
            evidence=list(s.evidence),
        )


class PlanOut(BaseModel):
    sections: list[SectionOut]

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(sections=[SectionOut.of(s) for s in plan.sections])


class DraftOut(PlanOut):
    saved: bool = Field(description="Whether the draft was stored as the appeal's plan.")
    lang: str


class AttachmentOut(BaseModel):
    id: str
    sha256: str
    size: int
    media_type: str = Field(
        description="application/pdf, image/png, image/jpeg, text/plain, text/csv"
    )
    label: str = Field(description="The file's name as uploaded: a label, never a path.")
    uploaded_at: datetime

    @classmethod
    def of(cls, a: AppealAttachment) -> AttachmentOut:
        return cls(
            id=a.id,
            sha256=a.sha256,
            size=a.size,
            media_type=a.media_type,
            label=a.label,
            uploaded_at=a.uploaded_at,
        )


class TransitionOut(BaseModel):
    seq: int
    from_status: str | None = Field(serialization_alias="from")
    to_status: str = Field(serialization_alias="to")
    action: str
    actor: str
    note: str | None
    at: datetime

    @classmethod
    def of(cls, t: AppealTransition) -> TransitionOut:
        return cls(
            seq=t.seq,
            from_status=t.from_status,
            to_status=t.to_status,
            action=t.action,
            actor=t.actor,
            note=t.note,
            at=t.at,
        )


class AppealSummary(BaseModel):
    id: str
    status: str = Field(examples=["DRAFT"])
    seller_id: str
    marketplace: str
    deactivation_id: str
    issues: list[str] = Field(description="The issue codes the plan must answer, one section each.")
    deadline: datetime = Field(description="Submit (or answer a request for information) before.")
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    actions: list[str] = Field(description="What may happen next: submit, withdraw, review …")

    @classmethod
    def fields_of(cls, a: Appeal) -> dict[str, Any]:
        return {
            "id": a.id,
            "status": a.status,
            "seller_id": a.seller_id,
            "marketplace": a.marketplace,
            "deactivation_id": a.deactivation_id,
            "issues": list(a.issues),
            "deadline": a.deadline,
            "created_at": a.created_at,
            "updated_at": a.updated_at,
            "submitted_at": a.submitted_at,
            "decided_at": a.decided_at,
            "actions": list(rules.legal_actions(a.status)),
        }

    @classmethod
    def of(cls, a: Appeal) -> AppealSummary:
        return cls(**cls.fields_of(a))


class AppealOut(AppealSummary):
    sections: list[SectionOut]
    attachments: list[AttachmentOut]
    transitions: list[TransitionOut]

    @classmethod
    def detail(cls, d: AppealDetail) -> AppealOut:
        return cls(
            **cls.fields_of(d.appeal),
            sections=[SectionOut.of(s) for s in d.plan.sections],
            attachments=[AttachmentOut.of(a) for a in d.attachments],
            transitions=[TransitionOut.of(t) for t in d.transitions],
        )


class AppealPage(BaseModel):
    items: list[AppealSummary]
    next_cursor: str | None


class MissingOut(BaseModel):
    issue: str
    part: str = Field(description="section, root_cause, actions or prevention")

    @classmethod
    def of(cls, m: Missing) -> MissingOut:
        return cls(issue=m.issue, part=m.part)


class FindingOut(BaseModel):
    rule: str = Field(description="apology, vague_promise, action_mismatch or missing_evidence")
    issue: str
    part: str
    text: str
    explanation: str

    @classmethod
    def of(cls, f: Finding) -> FindingOut:
        return cls(rule=f.rule, issue=f.issue, part=f.part, text=f.text, explanation=f.message())


class CheckOut(BaseModel):
    complete: bool
    missing: list[MissingOut]
    findings: list[FindingOut]

    @classmethod
    def of(cls, c: CheckResult) -> CheckOut:
        return cls(
            complete=c.complete,
            missing=[MissingOut.of(m) for m in c.missing],
            findings=[FindingOut.of(f) for f in c.findings],
        )


def dump(model: BaseModel) -> dict[str, Any]:
    """The JSON the API sends for ``model`` (aliases such as ``from``/``to`` included)."""
    found: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    return found
