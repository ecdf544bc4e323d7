"""The appeal lifecycle: open an appeal for a deactivation, write its Plan of Action, attach
evidence, check, submit, withdraw, and the operator's decision. Never commits.

Every transition goes through :func:`_move`: the table of :mod:`tsunagu.appeals.rules` decides
(SH-01), a row of ``appeal_transitions`` and an audit entry record it (SH-03), and the seller
is notified (``APPEAL_STATUS_CHANGED``). Writes read the appeal ``FOR UPDATE`` and the row's
``version`` guards every UPDATE, so two reviewers deciding at once yield one decision and one
409 (SH-02). A seller who may not read the appeal's store gets ``appeal_not_found``, exactly as
for an appeal that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from tsunagu.access.actor import Actor
from tsunagu.appeals import repo, rules, storage
from tsunagu.appeals.checker import Finding, check_plan
from tsunagu.appeals.config import AppealsConfig, appeals_of, templates_at
from tsunagu.appeals.drafts import draft_plan
from tsunagu.appeals.facts import gather
from tsunagu.appeals.models import Appeal, AppealAttachment, AppealSection, AppealTransition
from tsunagu.appeals.plan import Missing, Plan, Section, missing_parts
from tsunagu.core.errors import Conflict, InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.core.text import control_character
from tsunagu.enforcement import service as enforcement
from tsunagu.enforcement.rules import Issue
from tsunagu.identity import audit
from tsunagu.marketplaces.registry import Registry
from tsunagu.notifications import service as notifications
from tsunagu.sellers.service import require_store, seller_not_found

log = logging.getLogger(__name__)

#: the notification every status change of an appeal sends
APPEAL_STATUS_CHANGED = "APPEAL_STATUS_CHANGED"
#: the actor of the deadline job
SYSTEM = "system"
#: longest part of a section, and longest note, in characters
MAX_PART_CHARS = 20_000
MAX_NOTE_CHARS = 4_000
MAX_EVIDENCE = 50


@dataclass(frozen=True)
class AppealDetail:
    appeal: Appeal
    plan: Plan
    attachments: tuple[AppealAttachment, ...]
    transitions: tuple[AppealTransition, ...]


@dataclass(frozen=True)
class CheckResult:
    complete: bool
    missing: tuple[Missing, ...]
    findings: tuple[Finding, ...]


# -- errors ---------------------------------------------------------------------------------------


def appeal_not_found(appeal_id: str) -> NotFound:
    """The one answer for an appeal that does not exist or whose store the caller may not see."""
    return NotFound(
        N_("No appeal with id {appeal_id}"),
        code="appeal_not_found",
        appeal_id=appeal_id,
        details={"appeal_id": appeal_id},
    )


def forbidden(message: str) -> TsunaguError:
    return TsunaguError(message, code="forbidden", status=403)


def is_operator(actor: Actor) -> bool:
    """Platform operators signed in with a session, and the local CLI owner, decide appeals."""
    return actor.roles is None or (actor.roles.operator and actor.via == "session")


# -- reading --------------------------------------------------------------------------------------


def _load(
    session: Session, appeal_id: str, actor: Actor, *, write: bool, for_update: bool = False
) -> Appeal:
    appeal = repo.get(session, appeal_id, for_update=for_update)
    if appeal is None or not actor.allows(appeal.seller_id, "read"):
        raise appeal_not_found(appeal_id)
    if write and not actor.allows(appeal.seller_id, "write"):
        raise forbidden(N_("Your access to this seller does not allow changing its appeals."))
    return appeal


def _plan(session: Session, appeal_id: str) -> Plan:
    return Plan(
        tuple(
            Section(
                issue=s.issue,
                root_cause=s.root_cause,
                actions=s.actions,
                prevention=s.prevention,
                evidence=tuple(s.evidence),
            )
            for s in repo.sections(session, appeal_id)
        )
    )


def _detail(session: Session, appeal: Appeal) -> AppealDetail:
    return AppealDetail(
        appeal=appeal,
        plan=_plan(session, appeal.id),
        attachments=tuple(repo.attachments(session, appeal.id)),
        transitions=tuple(repo.transitions(session, appeal.id)),
    )


def _config(registry: Registry, appeal: Appeal) -> AppealsConfig:
    return appeals_of(registry.require(appeal.marketplace))


def _issues(session: Session, appeal: Appeal) -> tuple[Issue, ...]:
    """The deactivation's issues (with their causes), in the appeal's order."""
    by_code = {
        i.code: i for i in enforcement.get_deactivation(session, appeal.deactivation_id).issues
    }
    return tuple(by_code.get(code, Issue(code)) for code in appeal.issues)


def show(session: Session, *, appeal_id: str, actor: Actor) -> AppealDetail:
    return _detail(session, _load(session, appeal_id, actor, write=False))


def list_appeals(
    session: Session,
    *,
    actor: Actor,
    seller_id: str | None = None,
    marketplace: str | None = None,
    status: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[Appeal]:
    """Newest first: every appeal for an operator (the review queue), the caller's sellers'
    otherwise."""
    if status is not None and status not in rules.STATUSES:
        raise InvalidInput(
            N_("Unknown appeal status {value}; known: {known}"),
            code="invalid_status",
            value=status,
            known=", ".join(rules.STATUSES),
            details={"field": "status", "value": status},
        )
    return repo.list_appeals(
        session,
        sellers=actor.sellers,
        seller_id=seller_id,
        marketplace=marketplace,
        status=status,
        before=before,
        limit=limit,
    )


# -- transitions ----------------------------------------------------------------------------------


def _move(
    session: Session,
    appeal: Appeal,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """One step of the table, recorded, audited and notified; 409 ``sequence_fail`` when the
    table has no such step or another writer changed the appeal first."""
    previous = appeal.status
    target = rules.next_status(previous, action)
    appeal.status = target
    appeal.updated_at = now
    if target in rules.FINAL:
        appeal.open_key = None
    seq = repo.last_seq(session, appeal.id) + 1
    session.add(
        AppealTransition(
            appeal_id=appeal.id,
            seq=seq,
            from_status=previous,
            to_status=target,
            action=action,
            actor=actor,
            note=note,
            at=now,
        )
    )
    try:
        session.flush()
    except (StaleDataError, IntegrityError) as exc:
        log.warning("sequence_fail: appeal %s changed under %s (%s)", appeal.id, action, exc)
        raise rules.sequence_fail(previous, action) from None
    audit.append(
        session,
        action=f"appeal_{action}",
        outcome="success",
        now=now,
        actor=actor,
        target=appeal.id,
        details={
            "seller_id": appeal.seller_id,
            "marketplace": appeal.marketplace,
            "from": previous,
            "to": target,
        },
    )
    notifications.notify(
        session,
        kind=APPEAL_STATUS_CHANGED,
        seller_id=appeal.seller_id,
        marketplace=appeal.marketplace,
        payload={
            "appealId": appeal.id,
            "deactivationId": appeal.deactivation_id,
            "previousAppealStatus": previous,
            "currentAppealStatus": target,
        },
        now=now,
        key=f"appeal:{appeal.id}:{seq}",
    )


def create_appeal(
    session: Session, *, seller_id: str, marketplace: str, actor: Actor, now: datetime
) -> AppealDetail:
    """A DRAFT appeal for the store's current deactivation, one section due per issue.

    409 ``not_deactivated`` when the store is not deactivated, ``appeal_exists`` when an open
    appeal answers the deactivation already (one at a time), ``deadline_passed`` after the
    deactivation's appeal deadline."""
    if not actor.allows(seller_id, "read"):
        raise seller_not_found(seller_id)
    if not actor.allows(seller_id, "write"):
        raise forbidden(N_("Your access to this seller does not allow changing its appeals."))
    require_store(session, seller_id, marketplace)
    deactivation = enforcement.current_deactivation(
        session, seller_id=seller_id, marketplace=marketplace
    )
    if deactivation is None:
        raise Conflict(
            N_(
                "The store {seller_id} {marketplace} is not deactivated: there is nothing to appeal."
            ),
            code="not_deactivated",
            seller_id=seller_id,
            marketplace=marketplace,
            details={"seller_id": seller_id, "marketplace": marketplace},
        )
    existing = repo.open_for(session, deactivation.id)
    if existing is not None:
        raise _exists(existing)
    if now >= deactivation.appeal_deadline:
        raise _deadline_passed(deactivation.appeal_deadline)
    appeal = Appeal(
        id=new_id("apl"),
        seller_id=seller_id,
        marketplace=marketplace,
        deactivation_id=deactivation.id,
        open_key=deactivation.id,
        status=rules.DRAFT,
        issues=[i.code for i in deactivation.issues],
        deadline=deactivation.appeal_deadline,
        created_at=now,
        created_by=actor.name,
        updated_at=now,
    )
    session.add(appeal)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        found = repo.open_for(session, deactivation.id)
        raise (
            _exists(found)
            if found is not None
            else Conflict(
                N_("Another appeal was opened at the same time; try again."), code="appeal_exists"
            )
        ) from None
    session.add(
        AppealTransition(
            appeal_id=appeal.id,
            seq=1,
            from_status=None,
            to_status=rules.DRAFT,
            action="create",
            actor=actor.name,
            note=None,
            at=now,
        )
    )
    audit.append(
        session,
        action="appeal_create",
        outcome="success",
        now=now,
        actor=actor.name,
        target=appeal.id,
        details={"seller_id": seller_id, "marketplace": marketplace, "to": rules.DRAFT},
    )
    session.flush()
    return _detail(session, appeal)


def _exists(appeal: Appeal) -> Conflict:
    return Conflict(
        N_("Appeal {appeal_id} ({current}) already answers this deactivation."),
        code="appeal_exists",
        appeal_id=appeal.id,
        current=appeal.status,
        details={"appeal_id": appeal.id, "status": appeal.status},
    )


def _deadline_passed(deadline: datetime) -> Conflict:
    shown = deadline.isoformat().replace("+00:00", "Z")
    return Conflict(
        N_("The deadline to appeal this deactivation passed at {deadline}."),
        code="deadline_passed",
        deadline=shown,
        details={"deadline": shown},
    )


def submit(
    session: Session, *, appeal_id: str, actor: Actor, now: datetime, registry: Registry
) -> AppealDetail:
    """DRAFT or INFO_REQUESTED → SUBMITTED, when the deadline has not passed, the store that
    caused a related-account deactivation is reinstated first (``appeal_order``), and the plan
    answers every issue in every part (``plan_incomplete``)."""
    appeal = _load(session, appeal_id, actor, write=True, for_update=True)
    rules.next_status(appeal.status, rules.SUBMIT)
    if now >= appeal.deadline:
        raise _deadline_passed(appeal.deadline)
    deactivation = enforcement.get_deactivation(session, appeal.deactivation_id)
    if deactivation.reinstated_at is not None:
        raise Conflict(
            N_("The store was reinstated already; this appeal cannot be submitted."),
            code="not_deactivated",
            details={"seller_id": appeal.seller_id, "marketplace": appeal.marketplace},
        )
    blocker = enforcement.appeal_blocked_by(session, deactivation.id)
    if blocker is not None:
        raise Conflict(
            N_(
                "Reinstate store {seller_id} {marketplace} first: this deactivation follows "
                "from it (related account)."
            ),
            code="appeal_order",
            seller_id=blocker.seller_id,
            marketplace=blocker.marketplace,
            details={
                "seller_id": blocker.seller_id,
                "marketplace": blocker.marketplace,
                "deactivation_id": blocker.id,
            },
        )
    min_chars = _config(registry, appeal).min_part_chars
    missing = missing_parts(_plan(session, appeal.id), appeal.issues, min_chars)
    if missing:
        raise rules.PlanIncomplete(missing, _issues(session, appeal), min_chars)
    _move(session, appeal, rules.SUBMIT, actor=actor.name, now=now)
    appeal.submitted_at = now
    session.flush()
    return _detail(session, appeal)


def withdraw(
    session: Session, *, appeal_id: str, actor: Actor, now: datetime, note: str | None = None
) -> AppealDetail:
    appeal = _load(session, appeal_id, actor, write=True, for_update=True)
    _move(session, appeal, rules.WITHDRAW, actor=actor.name, now=now, note=_note(note))
    return _detail(session, appeal)


def decide(
    session: Session,
    *,
    appeal_id: str,
    decision: str,
    actor: Actor,
    now: datetime,
    registry: Registry,
    note: str | None = None,
) -> AppealDetail:
    """The operator's decision; a SUBMITTED appeal is taken UNDER_REVIEW first. ACCEPTED
    reinstates the store for the issues the plan covers; INFO_REQUESTED gives the seller at
    least ``info_request_days`` to answer (403 ``forbidden`` for anyone but an operator)."""
    action = rules.decision_action(decision)
    appeal = _load(session, appeal_id, actor, write=False, for_update=True)
    if not is_operator(actor):
        raise forbidden(N_("Only platform operators decide appeals."))
    note = _note(note)
    if appeal.status == rules.SUBMITTED:
        _move(session, appeal, rules.REVIEW, actor=actor.name, now=now)
    _move(session, appeal, action, actor=actor.name, now=now, note=note)
    appeal.decided_at = now
    if action == rules.REQUEST_INFO:
        days = _config(registry, appeal).info_request_days
        appeal.deadline = rules.info_deadline(appeal.deadline, now, days)
    session.flush()
    if action == rules.ACCEPT:
        covered = [s.issue for s in repo.sections(session, appeal.id)]
        enforcement.reinstate(
            session,
            deactivation_id=appeal.deactivation_id,
            now=now,
            actor=actor.name,
            reason=f"appeal {appeal.id} accepted",
            covered=covered,
            registry=registry,
        )
    return _detail(session, appeal)


def expire_overdue(session: Session, *, now: datetime) -> list[str]:
    """Every DRAFT or INFO_REQUESTED appeal whose deadline passed becomes EXPIRED (the job
    ``appeals.expire``); the ids, in order. Running it again changes nothing."""
    expired: list[str] = []
    for appeal_id in repo.overdue(session, statuses=sorted(rules.EXPIRABLE), now=now):
        appeal = repo.get(session, appeal_id, for_update=True)
        if appeal is None or not rules.overdue(appeal.status, appeal.deadline, now):
            continue
        _move(session, appeal, rules.EXPIRE, actor=SYSTEM, now=now)
        expired.append(appeal.id)
    return expired


def missed_deadlines(session: Session, *, now: datetime) -> list[str]:
    """Every deactivation still in force whose appeal deadline passed with no appeal submitted
    for it is recorded once as such: an audit entry ``appeal_deadline_missed`` and an
    ``APPEAL_STATUS_CHANGED`` notification (``currentAppealStatus`` EXPIRED, no appeal id).
    The deactivation ids newly recorded, in store order."""
    missed: list[str] = []
    for seller_id, marketplace in repo.stores(session):
        found = enforcement.current_deactivation(
            session, seller_id=seller_id, marketplace=marketplace
        )
        if found is None or now < found.appeal_deadline:
            continue
        if repo.ever_submitted(session, found.id):
            continue
        _, new = notifications.record(
            session,
            kind=APPEAL_STATUS_CHANGED,
            seller_id=seller_id,
            marketplace=marketplace,
            payload={
                "appealId": None,
                "deactivationId": found.id,
                "previousAppealStatus": None,
                "currentAppealStatus": rules.EXPIRED,
            },
            now=now,
            key=f"appeal-deadline-missed:{found.id}",
        )
        if not new:
            continue
        audit.append(
            session,
            action="appeal_deadline_missed",
            outcome="success",
            now=now,
            actor=SYSTEM,
            target=found.id,
            details={"seller_id": seller_id, "marketplace": marketplace},
        )
        missed.append(found.id)
    return missed


def _note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    _free_text("note", note, MAX_NOTE_CHARS)
    return note.strip()


def _free_text(field: str, value: str, limit: int) -> None:
    if control_character(value, free_text=True) is not None:
        raise InvalidInput(
            N_("{field} must not hold control characters."),
            code="invalid_value",
            field=field,
            details={"field": field},
        )
    if len(value) > limit:
        raise InvalidInput(
            N_("{field} may hold at most {limit} characters."),
            code="invalid_value",
            field=field,
            limit=limit,
            details={"field": field, "limit": limit},
        )


# -- the plan and its evidence --------------------------------------------------------------------


def set_plan(
    session: Session, *, appeal_id: str, plan: Plan, actor: Actor, now: datetime
) -> AppealDetail:
    """Replace the plan (only while DRAFT or INFO_REQUESTED). A section must name one of the
    appeal's issues (``unknown_issue``), once (``duplicate_section``); its evidence must be
    attachments of this appeal (``unknown_attachment``). Completeness is not checked here:
    a draft may be incomplete until it is submitted."""
    appeal = _load(session, appeal_id, actor, write=True, for_update=True)
    rules.require_editable(appeal.status)
    attached = {a.id for a in repo.attachments(session, appeal.id)}
    _validate(plan, appeal.issues, attached)
    _store_plan(session, appeal, plan)
    appeal.updated_at = now
    audit.append(
        session,
        action="appeal_plan_set",
        outcome="success",
        now=now,
        actor=actor.name,
        target=appeal.id,
        details={"sections": [s.issue for s in plan.sections]},
    )
    try:
        session.flush()
    except StaleDataError:
        raise rules.sequence_fail(appeal.status, rules.EDIT) from None
    return _detail(session, appeal)


def _validate(plan: Plan, issues: Sequence[str], attached: set[str]) -> None:
    seen: set[str] = set()
    for index, section in enumerate(plan.sections):
        where = f"sections[{index}]"
        if section.issue not in issues:
            raise InvalidInput(
                N_("{field}: {value} is not an issue of this appeal (its issues: {issues})."),
                code="unknown_issue",
                field=f"{where}.issue",
                value=section.issue,
                issues=", ".join(issues),
                details={"field": f"{where}.issue", "value": section.issue, "issues": list(issues)},
            )
        if section.issue in seen:
            raise InvalidInput(
                N_("{field}: the plan has two sections for {value}."),
                code="duplicate_section",
                field=f"{where}.issue",
                value=section.issue,
                details={"field": f"{where}.issue", "value": section.issue},
            )
        seen.add(section.issue)
        for part in ("root_cause", "actions", "prevention"):
            _free_text(f"{where}.{part}", section.part(part), MAX_PART_CHARS)
        if len(section.evidence) > MAX_EVIDENCE:
            raise InvalidInput(
                N_("{field} may list at most {limit} files."),
                code="invalid_value",
                field=f"{where}.evidence",
                limit=MAX_EVIDENCE,
                details={"field": f"{where}.evidence", "limit": MAX_EVIDENCE},
            )
        for j, ref in enumerate(section.evidence):
            if ref not in attached:
                raise InvalidInput(
                    N_("{field}: {value} is not an attachment of this appeal."),
                    code="unknown_attachment",
                    field=f"{where}.evidence[{j}]",
                    value=ref,
                    details={"field": f"{where}.evidence[{j}]", "value": ref},
                )


def _store_plan(session: Session, appeal: Appeal, plan: Plan) -> None:
    order = {code: i for i, code in enumerate(appeal.issues)}
    repo.replace_sections(
        session,
        appeal.id,
        [
            AppealSection(
                appeal_id=appeal.id,
                issue=s.issue,
                position=order.get(s.issue, len(order)),
                root_cause=s.root_cause,
                actions=s.actions,
                prevention=s.prevention,
                evidence=list(dict.fromkeys(s.evidence)),
            )
            for s in plan.sections
        ],
    )


def attach(
    session: Session,
    *,
    appeal_id: str,
    content: bytes,
    label: str,
    actor: Actor,
    now: datetime,
    registry: Registry,
    files_dir: Path,
) -> AppealAttachment:
    """Store one evidence file (only while DRAFT or INFO_REQUESTED): 413
    ``attachment_too_large`` over ``[appeals] max_attachment_bytes``, 422 ``attachment_type``
    for anything but PDF, PNG, JPEG or UTF-8 text. The same content again is the same
    attachment."""
    appeal = _load(session, appeal_id, actor, write=True, for_update=True)
    rules.require_editable(appeal.status)
    limit = _config(registry, appeal).max_attachment_bytes
    stored = storage.save(files_dir, appeal.id, content, label=label, max_bytes=limit)
    existing = repo.attachment_by_sha(session, appeal.id, stored.sha256)
    if existing is not None:
        return existing
    attachment = AppealAttachment(
        id=new_id("att"),
        appeal_id=appeal.id,
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        label=label[:200],
        uploaded_at=now,
        uploaded_by=actor.name,
    )
    session.add(attachment)
    audit.append(
        session,
        action="appeal_attachment_added",
        outcome="success",
        now=now,
        actor=actor.name,
        target=appeal.id,
        details={"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type},
    )
    session.flush()
    return attachment


def check(
    session: Session, *, appeal_id: str, actor: Actor, lang: str, registry: Registry
) -> CheckResult:
    """What ``submit`` would refuse (``missing``) and what weakens the plan (``findings`` of the
    checker, which never block)."""
    appeal = _load(session, appeal_id, actor, write=False)
    plan = _plan(session, appeal.id)
    missing = missing_parts(plan, appeal.issues, _config(registry, appeal).min_part_chars)
    attached = {a.id for a in repo.attachments(session, appeal.id)}
    findings = check_plan(
        plan, _issues(session, appeal), lang=lang, evidence_ok=attached.__contains__
    )
    return CheckResult(not missing, tuple(missing), tuple(findings))


def draft(
    session: Session,
    *,
    appeal_id: str,
    actor: Actor,
    lang: str,
    registry: Registry,
    now: datetime,
    save: bool = False,
) -> tuple[Plan, bool]:
    """A first draft of every section from the seller's own records, and whether it was stored
    as the plan: with ``save`` (while DRAFT or INFO_REQUESTED), or when the appeal is editable,
    its plan is still empty and the caller may change it."""
    appeal = _load(session, appeal_id, actor, write=save, for_update=save)
    deactivation = enforcement.get_deactivation(session, appeal.deactivation_id)
    facts = gather(session, deactivation=deactivation, registry=registry)
    configured = _config(registry, appeal).templates
    templates = templates_at(configured) if configured is not None else None
    drafted = draft_plan(_issues(session, appeal), facts, lang=lang, templates=templates)
    # evidence is the seller's to attach: a draft names none
    plan = Plan(
        tuple(Section(s.issue, s.root_cause, s.actions, s.prevention) for s in drafted.sections)
    )
    if save:
        rules.require_editable(appeal.status)
    elif not (
        appeal.status in rules.EDITABLE
        and not repo.sections(session, appeal.id)
        and actor.allows(appeal.seller_id, "write")
    ):
        return plan, False
    _store_plan(session, appeal, plan)
    appeal.updated_at = now
    session.flush()
    return plan, True
