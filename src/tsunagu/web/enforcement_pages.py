"""A store's account status and its appeal: the status banner, the appeal editor (one section
per issue, "draft from my data", the plan check, evidence uploads, submission) and the
operators' review queue.

The pages call the same services as ``tsunagu enforcement …``/``tsunagu appeals …`` and the
REST API; every rule (who may see, edit or decide an appeal; which transition is legal) lives
there. A seller only ever reaches its own stores' appeals: another's is "not found".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload

from tsunagu.access.actor import LOCAL_OWNER, Actor
from tsunagu.appeals import rules as appeal_rules
from tsunagu.appeals import service as appeals
from tsunagu.appeals import storage
from tsunagu.appeals.library import name_of
from tsunagu.appeals.plan import PARTS, SECTION, Plan, Section
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.uploads import file_label
from tsunagu.enforcement import service as enforcement
from tsunagu.enforcement.rules import (
    DEACTIVATED,
    LOW_ACCOUNT_HEALTH,
    NORMAL,
    POLICY_VIOLATION,
    Issue,
)
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller
from tsunagu.web import format as fmt
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, failure, page_language, render
from tsunagu.web.session import page_actor, private, redirect

router = APIRouter(route_class=PageRoute)

PageActor = Annotated[Actor, Depends(page_actor)]

#: the statuses an operator's review queue lists by default
QUEUE = ("SUBMITTED", "UNDER_REVIEW", "INFO_REQUESTED")
#: the largest plan part a form may post, in characters (the service has its own limit)
MAX_FORM_TEXT = 20_000


# -- the status banner (store page, overview) ----------------------------------------------------


def cause_name(code: str, cause: str, lang: str) -> str:
    """A cause as a seller reads it: tsunagu's words for reasons and defect kinds, the policy's
    name (Seller Central's words, from the appeal templates) for a policy violation, else a
    ship service or carrier as it was recorded."""
    if cause in labels.CAUSES:
        return translate(labels.CAUSES[cause], lang)
    if code in (POLICY_VIOLATION, LOW_ACCOUNT_HEALTH):
        return name_of("policies", cause, lang)
    return cause


def issue_row(issue: Issue, zone: Any, lang: str) -> dict[str, Any]:
    """One issue as a seller reads it: its name, value against target, what caused it."""

    def shown(value: float | int | None) -> str:
        if value is None:
            return "–"
        if issue.code in ("LOW_ACCOUNT_HEALTH", "POLICY_VIOLATION"):
            return fmt.number(value, lang)
        return fmt.percent(float(value), lang)

    causes = [
        (cause_name(issue.code, name, lang), count)
        for name, count in sorted(issue.causes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    related = None
    if issue.related:
        related = {"seller": issue.related.get("seller"), "store": issue.related.get("marketplace")}
    return {
        "code": issue.code,
        "label": translate(labels.ISSUES.get(issue.code, issue.code), lang),
        "value": shown(issue.value),
        "target": shown(issue.target),
        "has_value": issue.value is not None,
        "causes": causes,
        "evidence": len(issue.evidence),
        "related": related,
    }


def status_banner(
    session: Session, *, seller_id: str, marketplace: Marketplace, lang: str
) -> dict[str, Any]:
    """What the banner of a store shows: status, issues, deadlines, the appeal in progress."""
    found = enforcement.store_status(session, seller_id=seller_id, marketplace=marketplace.code)
    deactivation = None
    appeal = None
    previous = None
    if found.status == DEACTIVATED and found.deactivation_id is not None:
        d = enforcement.get_deactivation(session, found.deactivation_id)
        deactivation = {"id": d.id, "at": d.at, "deadline": d.appeal_deadline}
        appeal, previous = _appeals_of(session, seller_id, marketplace.code, d.id, lang)
        if appeal is not None:  # a request for information may have moved the deadline
            deactivation["deadline"] = appeal["deadline"]
    return {
        "status": found.status,
        "label": translate(labels.ENFORCEMENT_STATUS.get(found.status, found.status), lang),
        "normal": found.status == NORMAL,
        "issues": [issue_row(i, marketplace.tz, lang) for i in found.issues],
        # the issues' figures are those of the last enforcement check, not necessarily today's
        "checked_on": date.fromisoformat(found.last_day) if found.last_day else None,
        "grace_until": found.grace_until,
        "probation_until": found.probation_until,
        "deactivation": deactivation,
        "appeal": appeal,
        "previous_appeal": previous,
        "zone": marketplace.tz,
    }


def _appeals_of(
    session: Session, seller_id: str, marketplace: str, deactivation_id: str, lang: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The appeal in progress for this deactivation, and the latest closed one (withdrawn,
    rejected, expired: the seller may start another)."""
    # the page already checked that the caller may read this seller
    found: list[dict[str, Any]] = [
        {
            "id": a.id,
            "status": a.status,
            "status_label": translate(labels.APPEAL_STATUS.get(a.status, a.status), lang),
            "deadline": a.deadline,
            "open": a.status not in appeal_rules.FINAL,
        }
        for a in appeals.list_appeals(
            session, actor=LOCAL_OWNER, seller_id=seller_id, marketplace=marketplace, limit=50
        )
        if a.deactivation_id == deactivation_id
    ]
    current = next((a for a in found if a["open"]), None)
    previous = next((a for a in found if not a["open"]), None) if current is None else None
    return current, previous


# -- starting an appeal --------------------------------------------------------------------------


@router.get("/sellers/{seller_id}/stores/{marketplace}/appeal", response_class=HTMLResponse)
def appeal_start(
    request: Request, seller_id: SellerIdDep, marketplace: str, actor: PageActor
) -> Response:
    """The store's appeal: the one in progress, or what an appeal would answer and a button."""
    lang = page_language(request)
    mp = _market(request, marketplace)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        banner = status_banner(session, seller_id=seller_id, marketplace=mp, lang=lang)
    if banner["appeal"] is not None:
        return redirect(f"/appeals/{banner['appeal']['id']}")
    return render(
        request,
        "appeal_start.html",
        seller_id=seller_id,
        seller_name=name,
        store={"code": mp.code, "name": mp.name},
        banner=banner,
        can_write=actor.allows(seller_id, "write"),
    )


@router.post("/sellers/{seller_id}/stores/{marketplace}/appeal", response_class=HTMLResponse)
def appeal_create(
    request: Request, seller_id: SellerIdDep, marketplace: str, actor: PageActor
) -> Response:
    mp = _market(request, marketplace)
    with request.app.state.factory() as session:
        created = appeals.create_appeal(
            session, seller_id=seller_id, marketplace=mp.code, actor=actor, now=utcnow()
        )
        session.commit()
        appeal_id = created.appeal.id
    return redirect(f"/appeals/{appeal_id}")


# -- the editor ----------------------------------------------------------------------------------


def _market(request: Request, code: str) -> Marketplace:
    registry: Registry = request.app.state.registry
    return registry.require(code)


def _sections(
    detail: appeals.AppealDetail, issues: Sequence[Issue], mp: Marketplace, lang: str
) -> list[dict[str, Any]]:
    names = {a.id: a.label for a in detail.attachments}
    rows = []
    for issue in issues:
        section = detail.plan.section(issue.code) or Section(issue.code)
        rows.append(
            {
                "issue": issue_row(issue, mp.tz, lang),
                "parts": [
                    (part, translate(labels.PLAN_PARTS[part], lang), section.part(part))
                    for part in PARTS
                ],
                "evidence": [(ref, names.get(ref, ref)) for ref in section.evidence],
                "appeal_id": detail.appeal.id,
            }
        )
    return rows


def _editor(
    request: Request,
    appeal_id: str,
    actor: Actor,
    *,
    status: int = 200,
    check: appeals.CheckResult | None = None,
    error: TsunaguError | None = None,
    posted: Plan | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    with request.app.state.read_factory() as session:
        detail = appeals.show(session, appeal_id=appeal_id, actor=actor)
        appeal = detail.appeal
        mp = registry.require(appeal.marketplace)
        seller_name = get_seller(session, appeal.seller_id).name
        deactivation = enforcement.get_deactivation(session, appeal.deactivation_id)
        by_code = {i.code: i for i in deactivation.issues}
        issues = [by_code.get(code, Issue(code)) for code in appeal.issues]
        if posted is not None:  # show what was typed, not what is stored, after an error
            detail = appeals.AppealDetail(appeal, posted, detail.attachments, detail.transitions)
        blocked = enforcement.appeal_blocked_by(session, deactivation.id)
    editable = appeal.status in appeal_rules.EDITABLE and actor.allows(appeal.seller_id, "write")
    operator = appeals.is_operator(actor)
    findings_by_issue: dict[str, list[dict[str, str]]] = {}
    missing_by_issue: dict[str, list[str]] = {}
    if check is not None:
        for finding in check.findings:
            findings_by_issue.setdefault(finding.issue, []).append(
                {
                    "code": finding.rule,
                    "rule": translate(labels.FINDING_RULES.get(finding.rule, finding.rule), lang),
                    "part": translate(labels.PLAN_PARTS.get(finding.part, finding.part), lang),
                    # a missing-evidence finding names the issue: nothing of the plan to quote
                    "text": finding.text if finding.part in PARTS else "",
                    "explanation": finding.message(lang),
                }
            )
        for gap in check.missing:
            missing_by_issue.setdefault(gap.issue, []).append(gap.part)
    missing = {
        code: {
            "whole": SECTION in parts,
            "parts": fmt_list(
                [translate(labels.PLAN_PARTS[p], lang) for p in parts if p != SECTION], lang
            ),
        }
        for code, parts in missing_by_issue.items()
    }
    unanswered = [
        translate(labels.ISSUES.get(code, code), lang)
        for code in appeal.issues
        if code in missing_by_issue
    ]
    # the header's store switcher names the appeal's store, as on the store's own pages
    request.state.seller_id, request.state.marketplace = appeal.seller_id, appeal.marketplace
    return render(
        request,
        "appeal.html",
        status=status,
        seller_id=appeal.seller_id,
        seller_name=seller_name,
        store={"code": mp.code, "name": mp.name},
        zone=mp.tz,
        appeal={
            "id": appeal.id,
            "status": appeal.status,
            "status_label": translate(labels.APPEAL_STATUS.get(appeal.status, appeal.status), lang),
            "deadline": appeal.deadline,
            "deactivated_at": deactivation.at,
        },
        reviewer_note=_reviewer_note(detail, lang),
        sections=_sections(detail, issues, mp, lang),
        attachments=[
            {"id": a.id, "label": a.label, "size": a.size, "type": a.media_type}
            for a in detail.attachments
        ],
        transitions=[
            {
                "at": t.at,
                "from": translate(labels.APPEAL_STATUS.get(t.from_status or "", "–"), lang)
                if t.from_status
                else "–",
                "to": translate(labels.APPEAL_STATUS.get(t.to_status, t.to_status), lang),
                "actor": t.actor,
                "note": t.note,
            }
            for t in detail.transitions
        ],
        editable=editable,
        submittable=editable and blocked is None,
        blocked=(
            {"seller": blocked.seller_id, "store": blocked.marketplace}
            if blocked is not None
            else None
        ),
        can_decide=operator and appeal.status in ("SUBMITTED", "UNDER_REVIEW"),
        check=check,
        findings=findings_by_issue,
        missing=missing,
        unanswered=fmt_list(unanswered, lang),
        error=_readable(failure(request, error), appeal.issues) if error is not None else None,
        notice=notice,
    )


def fmt_list(items: Sequence[str], lang: str) -> str:
    """Names in a run of text: "a, b, c" in English, "a、b、c" in Japanese."""
    return ("、" if lang == "ja" else ", ").join(items)


def _readable(error: dict[str, Any], codes: Sequence[str]) -> dict[str, Any]:
    """A service's message as the page shows it: without the issue codes it names in
    parentheses for the command line ("cancellations (CANCELLATION_RATE)")."""
    message = str(error["message"])
    for code in codes:
        message = message.replace(f" ({code})", "").replace(f"（{code}）", "")
        message = message.replace(f"({code})", "")
    return {**error, "message": message}


def _reviewer_note(detail: appeals.AppealDetail, lang: str) -> dict[str, Any] | None:
    """The operator's latest decision with its note, while it is what the seller must read:
    a request for more information, or the final word."""
    if detail.appeal.status not in appeal_rules.DECIDED:
        return None
    decided = next(
        (t for t in reversed(detail.transitions) if t.to_status == detail.appeal.status), None
    )
    if decided is None:
        return None
    return {"status": detail.appeal.status, "at": decided.at, "note": decided.note}


@router.get("/appeals/{appeal_id}", response_class=HTMLResponse)
def appeal_page(request: Request, appeal_id: str, actor: PageActor) -> HTMLResponse:
    notice = request.query_params.get("done")
    return _editor(request, appeal_id, actor, notice=_NOTICES.get(notice or ""))


_NOTICES = {
    "saved": N_("Your plan is saved."),
    "drafted": N_(
        "A draft from your data is in the editor. Read it and change it before you submit."
    ),
    "submitted": N_("Your appeal is submitted. You will see the decision here."),
    "attached": N_("The file is attached."),
    "decided": N_("The decision is recorded."),
    "withdrawn": N_("The appeal is withdrawn."),
}


def _plan_of(form: FormData, issues: Sequence[str], evidence: Mapping[str, Sequence[str]]) -> Plan:
    """The plan the editor posted: ``<part>:<ISSUE>`` fields, one section per issue."""

    def text(name: str) -> str:
        value = form.get(name)
        if not isinstance(value, str):
            return ""
        if len(value) > MAX_FORM_TEXT:
            raise InvalidInput(
                N_("{field} is longer than {max} characters."),
                code="invalid_value",
                field=name,
                max=MAX_FORM_TEXT,
                details={"field": name},
            )
        return value.replace("\r\n", "\n")

    sections = [
        Section(
            issue=code,
            root_cause=text(f"root_cause:{code}"),
            actions=text(f"actions:{code}"),
            prevention=text(f"prevention:{code}"),
            evidence=tuple(evidence.get(code, ())),
        )
        for code in issues
    ]
    # a section left blank (no words, no evidence) does not answer its issue: the plan has no
    # section for it, and the refusal says the plan "does not address" it
    return Plan(tuple(s for s in sections if s.evidence or any(s.part(p).strip() for p in PARTS)))


@router.post("/appeals/{appeal_id}", response_class=HTMLResponse)
async def appeal_save(request: Request, appeal_id: str, actor: PageActor) -> Response:
    """Save the plan, then check it or submit it (the button pressed says which)."""
    form = await request.form()
    return await _in_thread(_save, request, appeal_id, actor, form)


async def _in_thread(fn: Any, *args: Any) -> Response:
    result: Response = await run_in_threadpool(fn, *args)
    return result


def _save(request: Request, appeal_id: str, actor: Actor, form: FormData) -> Response:
    """The plan is saved first, in its own transaction, so that a refused submission keeps
    what the seller typed, and the check shown with the refusal is about that text."""
    action = form.get("action")
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    now = utcnow()
    with request.app.state.read_factory() as session:
        detail = appeals.show(session, appeal_id=appeal_id, actor=actor)
        kept = {s.issue: s.evidence for s in detail.plan.sections}
    posted: Plan | None = None
    try:
        posted = _plan_of(form, detail.appeal.issues, kept)
        with request.app.state.factory() as session:
            appeals.set_plan(session, appeal_id=appeal_id, plan=posted, actor=actor, now=now)
            session.commit()
    except TsunaguError as error:  # nothing saved: the editor shows what was typed
        return _editor(
            request, appeal_id, actor, status=_status_of(error), error=error, posted=posted
        )
    if action == "submit":
        try:
            with request.app.state.factory() as session:
                appeals.submit(
                    session, appeal_id=appeal_id, actor=actor, now=now, registry=registry
                )
                session.commit()
        except TsunaguError as error:
            with request.app.state.read_factory() as session:
                found = appeals.check(
                    session, appeal_id=appeal_id, actor=actor, lang=lang, registry=registry
                )
            return _editor(
                request, appeal_id, actor, status=_status_of(error), check=found, error=error
            )
        return redirect(f"/appeals/{appeal_id}?done=submitted")
    if action == "check":
        with request.app.state.read_factory() as session:
            found = appeals.check(
                session, appeal_id=appeal_id, actor=actor, lang=lang, registry=registry
            )
        return _editor(request, appeal_id, actor, check=found, notice=_NOTICES["saved"])
    return redirect(f"/appeals/{appeal_id}?done=saved")


def _status_of(error: TsunaguError) -> int:
    return error.status if error.status >= 400 else 422


@router.post("/appeals/{appeal_id}/draft", response_class=HTMLResponse)
def appeal_draft(request: Request, appeal_id: str, actor: PageActor) -> Response:
    """Replace the plan with a draft from the seller's own records (in the page's language)."""
    with request.app.state.factory() as session:
        appeals.draft(
            session,
            appeal_id=appeal_id,
            actor=actor,
            lang=page_language(request),
            registry=request.app.state.registry,
            now=utcnow(),
            save=True,
        )
        session.commit()
    return redirect(f"/appeals/{appeal_id}?done=drafted")


@router.post("/appeals/{appeal_id}/attachments", response_class=HTMLResponse)
async def appeal_attach(request: Request, appeal_id: str, actor: PageActor) -> Response:
    """One evidence file (multipart ``file``) for one section (``issue``): stored, then named in
    that section's evidence. The editor posts the plan as typed along with it (``<part>:<ISSUE>``
    fields), which is saved first: attaching a file never loses words not saved yet."""
    form = await request.form(max_files=1, max_fields=50)
    upload = form.get("file")
    content = b""
    filename: str | None = None
    if isinstance(upload, StarletteUpload):
        content = await upload.read()
        filename = upload.filename
    return await _in_thread(_attach, request, appeal_id, actor, form, content, filename)


def _attach(
    request: Request,
    appeal_id: str,
    actor: Actor,
    form: FormData,
    content: bytes,
    filename: str | None,
) -> Response:
    now = utcnow()
    chosen = form.get("issue")
    issue = chosen if isinstance(chosen, str) else ""
    with request.app.state.read_factory() as session:
        detail = appeals.show(session, appeal_id=appeal_id, actor=actor)
        kept = {s.issue: s.evidence for s in detail.plan.sections}
    typed = any(name.partition(":")[0] in PARTS for name in form)
    posted: Plan | None = None
    try:
        if typed:
            posted = _plan_of(form, detail.appeal.issues, kept)
            with request.app.state.factory() as session:
                appeals.set_plan(session, appeal_id=appeal_id, plan=posted, actor=actor, now=now)
                session.commit()
        label = file_label(filename, fallback="evidence")
        with request.app.state.factory() as session:
            attachment = appeals.attach(
                session,
                appeal_id=appeal_id,
                content=content,
                label=label,
                actor=actor,
                now=now,
                registry=request.app.state.registry,
                files_dir=request.app.state.settings.files_folder,
            )
            detail = appeals.show(session, appeal_id=appeal_id, actor=actor)
            sections = {s.issue: s for s in detail.plan.sections}
            current = sections.get(issue, Section(issue))
            sections[issue] = Section(
                issue,
                current.root_cause,
                current.actions,
                current.prevention,
                tuple(dict.fromkeys((*current.evidence, attachment.id))),
            )
            plan = Plan(
                tuple(
                    sections[c]
                    for c in dict.fromkeys((*detail.appeal.issues, issue))
                    if c in sections
                )
            )
            appeals.set_plan(session, appeal_id=appeal_id, plan=plan, actor=actor, now=now)
            session.commit()
    except TsunaguError as error:
        return _editor(
            request, appeal_id, actor, status=_status_of(error), error=error, posted=posted
        )
    return redirect(f"/appeals/{appeal_id}?done=attached")


@router.get("/appeals/{appeal_id}/attachments/{attachment_id}")
def appeal_attachment(
    request: Request, appeal_id: str, attachment_id: str, actor: PageActor
) -> Response:
    """One evidence file, for the seller and the reviewer (whoever may read the appeal). Always
    a download, never shown in the page's origin: only PDF, images and text were accepted."""
    with request.app.state.read_factory() as session:
        detail = appeals.show(session, appeal_id=appeal_id, actor=actor)
    found = next((a for a in detail.attachments if a.id == attachment_id), None)
    if found is None:
        raise NotFound(
            N_("No evidence file {attachment_id} in this appeal."),
            attachment_id=attachment_id,
            details={"attachment_id": attachment_id},
        )
    content = storage.read(request.app.state.settings.files_folder, appeal_id, found.sha256)
    media_type = found.media_type
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"
    response = Response(content, media_type=media_type)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{found.id}\"; filename*=UTF-8''{quote(found.label)}"
    )
    return private(response)


@router.post("/appeals/{appeal_id}/withdraw", response_class=HTMLResponse)
def appeal_withdraw(request: Request, appeal_id: str, actor: PageActor) -> Response:
    with request.app.state.factory() as session:
        appeals.withdraw(session, appeal_id=appeal_id, actor=actor, now=utcnow())
        session.commit()
    return redirect(f"/appeals/{appeal_id}?done=withdrawn")


# -- the operators' side -------------------------------------------------------------------------

DECISIONS = ("accept", "reject", "request-info")


@router.post("/appeals/{appeal_id}/decision", response_class=HTMLResponse)
def appeal_decide(
    request: Request,
    appeal_id: str,
    actor: PageActor,
    decision: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """An operator's decision (the service refuses anyone else with ``forbidden``)."""
    try:
        with request.app.state.factory() as session:
            appeals.decide(
                session,
                appeal_id=appeal_id,
                decision=decision,
                actor=actor,
                now=utcnow(),
                registry=request.app.state.registry,
                note=note or None,
            )
            session.commit()
    except TsunaguError as error:
        return _editor(request, appeal_id, actor, status=error.status, error=error)
    return redirect(f"/appeals/{appeal_id}?done=decided")


@router.get("/operator/appeals", response_class=HTMLResponse)
def review_queue(request: Request, actor: PageActor, status: str | None = None) -> HTMLResponse:
    """The appeals waiting for a decision (an operator's queue; a seller sees its own)."""
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    wanted = status if status in appeal_rules.STATUSES else None
    rows = []
    with request.app.state.read_factory() as session:
        found = appeals.list_appeals(session, actor=actor, status=wanted, limit=200)
        for a in found:
            if wanted is None and a.status not in QUEUE:
                continue
            mp = registry.get(a.marketplace)
            rows.append(
                {
                    "id": a.id,
                    "seller": get_seller(session, a.seller_id).name,
                    "store": a.marketplace,
                    "status": a.status,
                    "status_label": translate(labels.APPEAL_STATUS.get(a.status, a.status), lang),
                    "issues": fmt_list(
                        [translate(labels.ISSUES.get(c, c), lang) for c in a.issues], lang
                    ),
                    "updated_at": a.updated_at,
                    "zone": mp.tz if mp is not None else None,
                }
            )
    return render(
        request,
        "appeal_queue.html",
        appeals=rows,
        statuses=[
            (s, translate(labels.APPEAL_STATUS.get(s, s), lang)) for s in appeal_rules.STATUSES
        ],
        chosen=wanted,
        operator=appeals.is_operator(actor),
    )
