"""The appeal lifecycle on both databases, against real deactivations (issue 14 item 5, SH-01,
SH-03): one open appeal per deactivation, completeness before submission, the operator's
decision with its consequences, related accounts in order, the deadline, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Db
from tests.factories import make_seller
from tsunagu.access.actor import LOCAL_OWNER, Actor
from tsunagu.access.rules import PrincipalRoles
from tsunagu.appeals import service
from tsunagu.appeals.jobs import KINDS
from tsunagu.appeals.models import Appeal
from tsunagu.appeals.plan import Plan, Section
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.enforcement import service as enforcement
from tsunagu.enforcement.rules import DEACTIVATED, NORMAL, POLICY_VIOLATION, RELATED_ACCOUNT
from tsunagu.identity.models import AuditEntry
from tsunagu.jobs.registry import by_name
from tsunagu.jobs.service import run_due
from tsunagu.notifications.models import Notification

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
OPERATOR = Actor(
    name="prn_operator",
    principal_id="prn_operator",
    roles=PrincipalRoles(operator=True),
    via="session",
)
LONG = "x" * 60


def deactivate(db: Db, seller: str, marketplace: str = "US") -> str:
    """An operator deactivates the store (its other stores follow as related accounts)."""
    with unit_of_work(db.factory) as session:
        enforcement.override(
            session,
            seller_id=seller,
            marketplace=db.registry.require(marketplace),
            status=DEACTIVATED,
            reason="test deactivation",
            actor=LOCAL_OWNER,
            now=NOW,
            registry=db.registry,
        )
        found = enforcement.current_deactivation(session, seller_id=seller, marketplace=marketplace)
        assert found is not None
        return found.id


def run(db: Db, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with unit_of_work(db.factory) as session:
        return fn(session, **kwargs)


def create(db: Db, seller: str, marketplace: str = "US", now: datetime = LATER) -> Appeal:
    found = run(
        db,
        service.create_appeal,
        seller_id=seller,
        marketplace=marketplace,
        actor=LOCAL_OWNER,
        now=now,
    )
    return found.appeal


def complete_plan(issues: list[str]) -> Plan:
    return Plan(tuple(Section(code, LONG, LONG, LONG) for code in issues))


def refused(db: Db, fn: Callable[..., Any], **kwargs: Any) -> TsunaguError:
    with pytest.raises(TsunaguError) as caught:
        run(db, fn, **kwargs)
    return caught.value


def submit(db: Db, appeal_id: str, actor: Actor = LOCAL_OWNER, now: datetime = LATER) -> Any:
    return run(db, service.submit, appeal_id=appeal_id, actor=actor, now=now, registry=db.registry)


def decide(
    db: Db, appeal_id: str, decision: str, actor: Actor = OPERATOR, note: str | None = None
) -> Any:
    return run(
        db,
        service.decide,
        appeal_id=appeal_id,
        decision=decision,
        actor=actor,
        now=LATER,
        registry=db.registry,
        note=note,
    )


def set_plan(db: Db, appeal_id: str, plan: Plan, actor: Actor = LOCAL_OWNER) -> Any:
    return run(db, service.set_plan, appeal_id=appeal_id, plan=plan, actor=actor, now=LATER)


def test_a_draft_answers_the_deactivation_and_its_issues(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivation = deactivate(db, seller)
    appeal = create(db, seller)
    assert appeal.status == "DRAFT"
    assert appeal.deactivation_id == deactivation
    assert appeal.issues == [POLICY_VIOLATION]
    assert appeal.deadline == NOW + timedelta(days=17)
    with db.factory() as session:
        shown = service.show(session, appeal_id=appeal.id, actor=LOCAL_OWNER)
        audited = session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == appeal.id)
        ).all()
    assert [(t.from_status, t.to_status, t.action) for t in shown.transitions] == [
        (None, "DRAFT", "create")
    ]
    assert audited == ["appeal_create"]


def test_one_open_appeal_per_deactivation(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    first = create(db, seller)
    error = refused(
        db, service.create_appeal, seller_id=seller, marketplace="US", actor=LOCAL_OWNER, now=LATER
    )
    assert (error.status, error.code) == (409, "appeal_exists")
    assert error.details["appeal_id"] == first.id
    run(db, service.withdraw, appeal_id=first.id, actor=LOCAL_OWNER, now=LATER)
    second = create(db, seller)
    assert second.id != first.id


def test_a_store_that_is_not_deactivated_has_nothing_to_appeal(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    error = refused(
        db, service.create_appeal, seller_id=seller, marketplace="US", actor=LOCAL_OWNER, now=LATER
    )
    assert (error.status, error.code) == (409, "not_deactivated")


def test_an_incomplete_plan_is_refused_naming_what_is_missing_and_nothing_changes(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    error = refused(
        db, service.submit, appeal_id=appeal.id, actor=LOCAL_OWNER, now=LATER, registry=db.registry
    )
    assert (error.status, error.code) == (422, "plan_incomplete")
    assert error.details["missing"] == [{"issue": POLICY_VIOLATION, "part": "section"}]
    assert "does not address" in error.message("en")
    assert POLICY_VIOLATION in error.message("en")
    set_plan(db, appeal.id, Plan((Section(POLICY_VIOLATION, LONG, "too short", LONG),)))
    error = refused(
        db, service.submit, appeal_id=appeal.id, actor=LOCAL_OWNER, now=LATER, registry=db.registry
    )
    assert error.details["missing"] == [{"issue": POLICY_VIOLATION, "part": "actions"}]
    with db.factory() as session:
        assert (
            service.show(session, appeal_id=appeal.id, actor=LOCAL_OWNER).appeal.status == "DRAFT"
        )


def test_the_whole_lifecycle_reinstates_the_store(db: Db):
    """DRAFT → SUBMITTED → UNDER_REVIEW → INFO_REQUESTED → SUBMITTED → UNDER_REVIEW →
    ACCEPTED: the store is NORMAL again, each step a transition row, an audit entry and a
    notification."""
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    assert submit(db, appeal.id).appeal.status == "SUBMITTED"
    asked = decide(db, appeal.id, "request-info", note="Which carrier do you use now?")
    assert asked.appeal.status == "INFO_REQUESTED"
    assert asked.appeal.deadline >= LATER + timedelta(days=17)
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    submit(db, appeal.id)
    accepted = decide(db, appeal.id, "accept")
    assert accepted.appeal.status == "ACCEPTED"
    assert [(t.action, t.to_status) for t in accepted.transitions] == [
        ("create", "DRAFT"),
        ("submit", "SUBMITTED"),
        ("review", "UNDER_REVIEW"),
        ("request_info", "INFO_REQUESTED"),
        ("submit", "SUBMITTED"),
        ("review", "UNDER_REVIEW"),
        ("accept", "ACCEPTED"),
    ]
    assert accepted.transitions[3].note == "Which carrier do you use now?"
    assert accepted.transitions[-1].actor == OPERATOR.name
    with db.factory() as session:
        store = enforcement.store_status(session, seller_id=seller, marketplace="US")
        kinds = session.scalars(
            select(Notification.payload).where(Notification.kind == "APPEAL_STATUS_CHANGED")
        ).all()
        row = session.get(Appeal, appeal.id)
        assert row is not None
        assert row.open_key is None
    assert store.status == NORMAL
    assert [p["currentAppealStatus"] for p in kinds] == [
        "SUBMITTED",
        "UNDER_REVIEW",
        "INFO_REQUESTED",
        "SUBMITTED",
        "UNDER_REVIEW",
        "ACCEPTED",
    ]


def test_rejected_is_final_and_the_store_stays_deactivated(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    submit(db, appeal.id)
    assert decide(db, appeal.id, "reject").appeal.status == "REJECTED"
    for action in ("accept", "reject", "request-info"):
        error = refused(
            db,
            service.decide,
            appeal_id=appeal.id,
            decision=action,
            actor=OPERATOR,
            now=LATER,
            registry=db.registry,
        )
        assert (error.status, error.code, error.details["status"]) == (
            409,
            "sequence_fail",
            "REJECTED",
        )
    with db.factory() as session:
        assert (
            enforcement.store_status(session, seller_id=seller, marketplace="US").status
            == DEACTIVATED
        )


def test_sh01_illegal_steps_through_the_service_are_409_sequence_fail(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    error = refused(
        db,
        service.decide,
        appeal_id=appeal.id,
        decision="accept",
        actor=OPERATOR,
        now=LATER,
        registry=db.registry,
    )
    assert error.details == {"status": "DRAFT", "action": "accept"}
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    submit(db, appeal.id)
    error = refused(
        db,
        service.set_plan,
        appeal_id=appeal.id,
        plan=complete_plan(appeal.issues),
        actor=LOCAL_OWNER,
        now=LATER,
    )
    assert error.details == {"status": "SUBMITTED", "action": "edit"}
    error = refused(
        db, service.submit, appeal_id=appeal.id, actor=LOCAL_OWNER, now=LATER, registry=db.registry
    )
    assert error.details == {"status": "SUBMITTED", "action": "submit"}
    decide(db, appeal.id, "request-info")
    run(db, service.withdraw, appeal_id=appeal.id, actor=LOCAL_OWNER, now=LATER)
    error = refused(db, service.withdraw, appeal_id=appeal.id, actor=LOCAL_OWNER, now=LATER)
    assert (error.code, error.details["status"]) == ("sequence_fail", "WITHDRAWN")


def test_a_plan_names_only_the_appeals_issues_once_and_its_own_attachments(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    cases = [
        (
            Plan((Section("LATE_SHIPMENT_RATE", LONG, LONG, LONG),)),
            "unknown_issue",
            "sections[0].issue",
        ),
        (
            Plan((Section(POLICY_VIOLATION), Section(POLICY_VIOLATION))),
            "duplicate_section",
            "sections[1].issue",
        ),
        (
            Plan((Section(POLICY_VIOLATION, evidence=("att_nope",)),)),
            "unknown_attachment",
            "sections[0].evidence[0]",
        ),
        (
            Plan((Section(POLICY_VIOLATION, root_cause="bad\x00text"),)),
            "invalid_value",
            "sections[0].root_cause",
        ),
    ]
    for plan, code, field in cases:
        error = refused(
            db, service.set_plan, appeal_id=appeal.id, plan=plan, actor=LOCAL_OWNER, now=LATER
        )
        assert (error.status, error.code, error.details["field"]) == (422, code, field)


def test_a_related_account_is_appealed_after_the_store_that_caused_it(db: Db):
    """amazon-domain.md §5.2: reinstate the originating account first."""
    seller = make_seller(db, marketplaces=("JP", "US"))
    origin = deactivate(db, seller, "US")
    related = create(db, seller, "JP")
    assert related.issues == [RELATED_ACCOUNT]
    set_plan(db, related.id, complete_plan(related.issues))
    error = refused(
        db, service.submit, appeal_id=related.id, actor=LOCAL_OWNER, now=LATER, registry=db.registry
    )
    assert (error.status, error.code) == (409, "appeal_order")
    assert error.details == {"seller_id": seller, "marketplace": "US", "deactivation_id": origin}
    first = create(db, seller, "US")
    set_plan(db, first.id, complete_plan(first.issues))
    submit(db, first.id)
    decide(db, first.id, "accept")
    assert submit(db, related.id).appeal.status == "SUBMITTED"


def test_the_deadline_job_expires_what_the_seller_still_holds(db: Db):
    """A DRAFT past its deadline becomes EXPIRED under the job runner (explicit clock); a
    SUBMITTED appeal waits for its reviewer; no appeal can be opened afterwards."""
    held = make_seller(db, marketplaces=("US",))
    waiting = make_seller(db, name="Waiting Store", marketplaces=("US",))
    deactivate(db, held)
    deactivate(db, waiting)
    draft = create(db, held)
    sent = create(db, waiting)
    set_plan(db, sent.id, complete_plan(sent.issues))
    submit(db, sent.id)
    deadline = NOW + timedelta(days=17)
    early = run_due(
        db.factory, as_of=deadline - timedelta(days=1), registry=db.registry, kinds=by_name(KINDS)
    )
    assert [r["result"]["expired"] for r in early.ran] == [0]
    late = run_due(
        db.factory, as_of=deadline + timedelta(days=1), registry=db.registry, kinds=by_name(KINDS)
    )
    assert [r["result"]["expired"] for r in late.ran] == [1]
    with db.factory() as session:
        assert (
            service.show(session, appeal_id=draft.id, actor=LOCAL_OWNER).appeal.status == "EXPIRED"
        )
        assert (
            service.show(session, appeal_id=sent.id, actor=LOCAL_OWNER).appeal.status == "SUBMITTED"
        )
    error = refused(
        db,
        service.create_appeal,
        seller_id=held,
        marketplace="US",
        actor=LOCAL_OWNER,
        now=deadline + timedelta(days=1),
    )
    assert (error.status, error.code) == (409, "deadline_passed")
    error = refused(
        db, service.submit, appeal_id=sent.id, actor=LOCAL_OWNER, now=deadline, registry=db.registry
    )
    assert error.code == "sequence_fail"


def test_a_deactivation_left_without_an_appeal_is_recorded_once_when_its_deadline_passes(db: Db):
    silent = make_seller(db, marketplaces=("US",))
    appealed = make_seller(db, name="Appealed Store", marketplaces=("US",))
    missed = deactivate(db, silent)
    deactivate(db, appealed)
    sent = create(db, appealed)
    set_plan(db, sent.id, complete_plan(sent.issues))
    submit(db, sent.id)
    kinds = by_name(KINDS)
    after = NOW + timedelta(days=18)
    first = run_due(db.factory, as_of=after, registry=db.registry, kinds=kinds)
    again = run_due(db.factory, as_of=after + timedelta(days=1), registry=db.registry, kinds=kinds)
    assert [r["result"]["deactivations"] for r in first.ran] == [[missed]]
    assert [r["result"]["missed"] for r in again.ran] == [0]
    with db.factory() as session:
        entries = session.scalars(
            select(AuditEntry.target).where(AuditEntry.action == "appeal_deadline_missed")
        ).all()
        told = session.scalars(
            select(Notification.payload)
            .where(Notification.seller_id == silent)
            .where(Notification.kind == "APPEAL_STATUS_CHANGED")
        ).all()
    assert entries == [missed]
    assert [(p["deactivationId"], p["currentAppealStatus"]) for p in told] == [(missed, "EXPIRED")]


def test_submitting_after_the_deadline_is_refused_before_the_job_runs(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    set_plan(db, appeal.id, complete_plan(appeal.issues))
    error = refused(
        db,
        service.submit,
        appeal_id=appeal.id,
        actor=LOCAL_OWNER,
        now=NOW + timedelta(days=17),
        registry=db.registry,
    )
    assert (error.status, error.code) == (409, "deadline_passed")


def test_sellers_see_only_their_own_appeals_and_only_operators_decide(db: Db):
    mine = make_seller(db, marketplaces=("US",))
    theirs = make_seller(db, name="Other Shop", marketplaces=("US",))
    deactivate(db, theirs)
    appeal = create(db, theirs)
    owner = Actor(
        name="prn_a", principal_id="prn_a", roles=PrincipalRoles({mine: "owner"}), via="session"
    )
    viewer = Actor(
        name="prn_v", principal_id="prn_v", roles=PrincipalRoles({theirs: "viewer"}), via="session"
    )
    seller_owner = Actor(
        name="prn_o", principal_id="prn_o", roles=PrincipalRoles({theirs: "owner"}), via="session"
    )
    for fn, kwargs in (
        (service.show, {}),
        (service.withdraw, {"now": LATER}),
        (service.set_plan, {"plan": Plan(), "now": LATER}),
    ):
        error = refused(db, fn, appeal_id=appeal.id, actor=owner, **kwargs)
        assert (error.status, error.code) == (404, "appeal_not_found")
    with db.factory() as session:
        assert service.show(session, appeal_id=appeal.id, actor=viewer).appeal.id == appeal.id
        assert service.list_appeals(session, actor=owner) == []
        assert [a.id for a in service.list_appeals(session, actor=OPERATOR)] == [appeal.id]
    error = refused(db, service.withdraw, appeal_id=appeal.id, actor=viewer, now=LATER)
    assert (error.status, error.code) == (403, "forbidden")
    set_plan(db, appeal.id, complete_plan(appeal.issues), actor=seller_owner)
    submit(db, appeal.id, actor=seller_owner)
    error = refused(
        db,
        service.decide,
        appeal_id=appeal.id,
        decision="accept",
        actor=seller_owner,
        now=LATER,
        registry=db.registry,
    )
    assert (error.status, error.code) == (403, "forbidden")
    error = refused(
        db, service.create_appeal, seller_id=theirs, marketplace="US", actor=owner, now=LATER
    )
    assert (error.status, error.code) == (404, "seller_not_found")


PDF = b"%PDF-1.7\n%evidence\n"


def attach(db: Db, appeal_id: str, content: bytes, files: Path, label: str = "e.pdf") -> Any:
    return run(
        db,
        service.attach,
        appeal_id=appeal_id,
        content=content,
        label=label,
        actor=LOCAL_OWNER,
        now=LATER,
        registry=db.registry,
        files_dir=files,
    )


def test_evidence_is_stored_once_under_its_checksum_and_named_in_the_plan(db: Db, tmp_path: Path):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)
    first = attach(db, appeal.id, PDF, tmp_path, label="../../invoice.pdf")
    again = attach(db, appeal.id, PDF, tmp_path, label="copy.pdf")
    assert first.id == again.id
    assert (tmp_path / "appeals" / appeal.id / first.sha256).read_bytes() == PDF
    assert (first.media_type, first.size, first.label) == (
        "application/pdf",
        len(PDF),
        "../../invoice.pdf",
    )
    plan = Plan((Section(POLICY_VIOLATION, LONG, LONG, LONG, evidence=(first.id,)),))
    shown = set_plan(db, appeal.id, plan)
    assert shown.plan.sections[0].evidence == (first.id,)
    assert [a.id for a in shown.attachments] == [first.id]
    error = refused(
        db,
        service.attach,
        appeal_id=appeal.id,
        content=b"\x00\x01binary",
        label="x.pdf",
        actor=LOCAL_OWNER,
        now=LATER,
        registry=db.registry,
        files_dir=tmp_path,
    )
    assert (error.status, error.code) == (422, "attachment_type")
    submit(db, appeal.id)
    error = refused(
        db,
        service.attach,
        appeal_id=appeal.id,
        content=PDF + b"more",
        label="x.pdf",
        actor=LOCAL_OWNER,
        now=LATER,
        registry=db.registry,
        files_dir=tmp_path,
    )
    assert (error.status, error.code) == (409, "sequence_fail")


def test_a_draft_fills_an_empty_plan_once_and_is_otherwise_only_shown(db: Db):
    seller = make_seller(db, marketplaces=("US",))
    deactivate(db, seller)
    appeal = create(db, seller)

    def draft(lang: str, save: bool = False) -> tuple[Plan, bool]:
        return run(
            db, service.draft, appeal_id=appeal.id, actor=LOCAL_OWNER, lang=lang,
            registry=db.registry, now=LATER, save=save,
        )  # fmt: skip

    plan, saved = draft("en")
    assert saved
    assert [s.issue for s in plan.sections] == appeal.issues
    assert all(s.root_cause and s.actions and s.prevention for s in plan.sections)
    japanese, saved_again = draft("ja")
    assert not saved_again
    assert japanese.sections[0].root_cause != plan.sections[0].root_cause
    with db.factory() as session:
        stored = service.show(session, appeal_id=appeal.id, actor=LOCAL_OWNER).plan
    assert stored == plan
    _, forced = draft("ja", save=True)
    assert forced
