"""``tsunagu appeals …``: a seller's appeal against a deactivation, from opening it to the
operator's decision. The local CLI acts as the installation's owner, who is also its operator.

The names, options, JSON keys and error codes of ``create``, ``draft``, ``set``, ``check``,
``submit``, ``decide`` and ``show`` are a contract other tools script against (issue 14).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import orjson
import typer

from tsunagu.access.actor import LOCAL_OWNER
from tsunagu.appeals import rules, service
from tsunagu.appeals.plan import Plan
from tsunagu.appeals.schemas import (
    AppealOut,
    AppealSummary,
    AttachmentOut,
    CheckOut,
    DraftOut,
    PlanOut,
    dump,
)
from tsunagu.cli.context import ctx, out, print_json
from tsunagu.cli.layout import Col, say, show
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_, _, current_language
from tsunagu.core.uploads import file_label
from tsunagu.enforcement.words import issue as issue_word

app = typer.Typer(
    help="Appeals: a Plan of Action against a deactivation, and its review.",
    no_args_is_help=True,
)

AppealOpt = Annotated[str, typer.Option("--appeal", help="Appeal id (apl_…).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept with the transition.")]
_PARTS = {
    "section": N_("the whole section"),
    "root_cause": N_("Root cause"),
    "actions": N_("Actions taken"),
    "prevention": N_("Preventive measures"),
    "evidence": N_("Evidence"),
}
_RULES = {
    "apology": N_("Apology instead of facts"),
    "vague_promise": N_("Promise without a number, date or tool"),
    "action_mismatch": N_("Action does not answer this issue"),
    "missing_evidence": N_("Evidence missing"),
}


def _part(code: str) -> str:
    found = _PARTS.get(code)
    return _(found) if found is not None else code.replace("_", " ")


def _rule(code: str) -> str:
    found = _RULES.get(code)
    return _(found) if found is not None else code.replace("_", " ")


_PART_LABELS = (
    ("root_cause", N_("Root cause")),
    ("actions", N_("Actions taken")),
    ("prevention", N_("Preventive measures")),
)


_STATUS = {
    "DRAFT": N_("Draft"),
    "SUBMITTED": N_("Submitted"),
    "UNDER_REVIEW": N_("Under review"),
    "ACCEPTED": N_("Accepted"),
    "REJECTED": N_("Appeal rejected"),
    "INFO_REQUESTED": N_("More information needed"),
    "WITHDRAWN": N_("Withdrawn"),
    "EXPIRED": N_("Expired"),
}


def _status(code: str | None) -> str:
    if code is None:
        return "-"
    found = _STATUS.get(code)
    return _(found) if found is not None else code.replace("_", " ").capitalize()


def _show(found: AppealOut, as_json: bool) -> None:
    if as_json:
        print_json(dump(found))
        return
    say(_("Appeal {id}: {status}", id=found.id, status=_status(found.status)))
    say(
        _(
            "Store {seller} {marketplace}; deactivation {deactivation}",
            seller=found.seller_id,
            marketplace=found.marketplace,
            deactivation=found.deactivation_id,
        ),
        indent=2,
    )
    say(_("Issues: {issues}", issues="; ".join(issue_word(i) for i in found.issues)), indent=2)
    say(_("Deadline: {deadline} (UTC)", deadline=found.deadline.strftime("%Y-%m-%d %H:%M")))
    if found.actions:
        say(_("Next: {actions}", actions=", ".join(found.actions)), indent=2)
    for section in found.sections:
        out.print("")
        say(issue_word(section.issue), style="bold")
        for part, label in _PART_LABELS:
            text = getattr(section, part) or "-"
            say(f"  {_(label)}: {text}", indent=4)
        if section.evidence:
            say("  " + _("Evidence: {ids}", ids=", ".join(section.evidence)), indent=4)
    if found.transitions:
        show(
            (
                Col(_("When (UTC)")),
                Col(_("From")),
                Col(_("To")),
                Col(_("Actor")),
                Col(_("Note")),
            ),
            [
                (
                    t.at.strftime("%Y-%m-%d %H:%M"),
                    _status(t.from_status),
                    _status(t.to_status),
                    t.actor,
                    t.note or "",
                )
                for t in found.transitions
            ],
        )


@app.command("create")
def create_cmd(
    seller: Annotated[str, typer.Option("--seller", help="Seller id.")],
    marketplace: Annotated[str, typer.Option("--marketplace", "-m", help="JP, US, …")],
    json: JsonOpt = False,
) -> None:
    """Open an appeal against the store's deactivation: one section due per issue."""
    c = ctx()
    code = c.registry.require(marketplace, UsageError).code
    with unit_of_work(c.factory) as session:
        found = service.create_appeal(
            session, seller_id=seller, marketplace=code, actor=LOCAL_OWNER, now=utcnow()
        )
        shown = AppealOut.detail(found)
    _show(shown, json)


@app.command("show")
def show_cmd(appeal: AppealOpt, json: JsonOpt = False) -> None:
    """An appeal: status, issues, deadline, plan, evidence and every transition."""
    c = ctx()
    with c.read_factory() as session:
        shown = AppealOut.detail(service.show(session, appeal_id=appeal, actor=LOCAL_OWNER))
    _show(shown, json)


@app.command("list")
def list_cmd(
    seller: Annotated[str | None, typer.Option("--seller", help="Only this seller's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="DRAFT, SUBMITTED, UNDER_REVIEW, …")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    json: JsonOpt = False,
) -> None:
    """Appeals, newest first (``--status SUBMITTED`` is the queue to review)."""
    c = ctx()
    with c.read_factory() as session:
        found = service.list_appeals(
            session,
            actor=LOCAL_OWNER,
            seller_id=seller,
            status=status.upper() if status else None,
            limit=limit,
        )
        items = [AppealSummary.of(a) for a in found]
    if json:
        print_json({"items": [dump(i) for i in items]})
        return
    if not items:
        out.print(_("No appeals."))
        return
    show(
        (
            Col(_("Appeal"), whole=True),
            Col(_("Store")),
            Col(_("Status")),
            Col(_("Deadline (UTC)")),
        ),
        [
            (
                i.id,
                f"{i.seller_id} {i.marketplace}",
                _status(i.status),
                i.deadline.strftime("%Y-%m-%d %H:%M"),
            )
            for i in items
        ],
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(
            N_("Cannot read {path}: {reason}"),
            code="unreadable_file",
            path=path,
            reason=exc.strerror or str(exc),
            details={"path": str(path)},
        ) from None


def _load_plan(file: Path) -> Plan:
    raw = _read(file)
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(
            N_("{path} is not JSON: {reason}"),
            code="invalid_json",
            path=file,
            reason=str(exc),
            details={"path": str(file)},
        ) from None
    return rules.parse_plan(document)


@app.command("set")
def set_cmd(
    appeal: AppealOpt,
    plan: Annotated[Path, typer.Option("--plan", help="The plan as a JSON file.")],
    json: JsonOpt = False,
) -> None:
    """Replace the plan with a JSON file: {"sections": [{"issue", "root_cause", "actions",
    "prevention", "evidence": [paths…]}]}. Evidence paths are relative to the file; each is
    attached (an attachment id of the appeal may be given instead)."""
    c = ctx()
    parsed = _load_plan(plan)
    now = utcnow()
    with unit_of_work(c.factory) as session:
        sections = []
        for section in parsed.sections:
            ids = []
            for ref in section.evidence:
                if ref.startswith("att_"):
                    ids.append(ref)
                    continue
                path = plan.parent / ref
                attached = service.attach(
                    session,
                    appeal_id=appeal,
                    content=_read(path),
                    label=file_label(path.name, fallback="evidence"),
                    actor=LOCAL_OWNER,
                    now=now,
                    registry=c.registry,
                    files_dir=c.settings.files_folder,
                )
                ids.append(attached.id)
            sections.append(dataclasses.replace(section, evidence=tuple(ids)))
        found = service.set_plan(
            session,
            appeal_id=appeal,
            plan=Plan(tuple(sections)),
            actor=LOCAL_OWNER,
            now=now,
        )
        shown = AppealOut.detail(found)
    _show(shown, json)


@app.command("attach")
def attach_cmd(
    appeal: AppealOpt,
    file: Annotated[Path, typer.Argument(help="A PDF, PNG, JPEG, text or CSV file.")],
    json: JsonOpt = False,
) -> None:
    """Attach one evidence file; name its id in a section's evidence."""
    c = ctx()
    content = _read(file)
    with unit_of_work(c.factory) as session:
        found = AttachmentOut.of(
            service.attach(
                session,
                appeal_id=appeal,
                content=content,
                label=file_label(file.name, fallback="evidence"),
                actor=LOCAL_OWNER,
                now=utcnow(),
                registry=c.registry,
                files_dir=c.settings.files_folder,
            )
        )
    if json:
        print_json(dump(found))
        return
    out.print(
        _(
            "Attached {id} ({type}, {size} bytes)",
            id=found.id,
            type=found.media_type,
            size=found.size,
        )
    )


@app.command("draft")
def draft_cmd(
    appeal: AppealOpt,
    lang: Annotated[str | None, typer.Option("--lang", help="en or ja (default: --lang).")] = None,
    save: Annotated[bool, typer.Option("--save", help="Store the draft as the plan.")] = False,
    json: JsonOpt = False,
) -> None:
    """Draft every section from the seller's records. The draft becomes the plan with --save,
    or when the appeal's plan is still empty."""
    c = ctx()
    language = (lang or current_language()).lower()
    if language not in ("en", "ja"):
        raise UsageError(
            N_("--lang must be en or ja, not {value}"),
            code="usage_error",
            value=lang,
            details={"field": "lang", "value": lang},
        )
    with unit_of_work(c.factory) as session:
        plan, saved = service.draft(
            session,
            appeal_id=appeal,
            actor=LOCAL_OWNER,
            lang=language,
            registry=c.registry,
            now=utcnow(),
            save=save,
        )
    shown = DraftOut(sections=PlanOut.of(plan).sections, saved=saved, lang=language)
    if json:
        print_json(dump(shown))
        return
    for section in shown.sections:
        say(issue_word(section.issue), style="bold")
        for part, label in _PART_LABELS:
            say(f"  {_(label)}: {getattr(section, part)}", indent=4)
    out.print(_("Stored as the plan.") if saved else _("Not stored (use --save)."))


@app.command("check")
def check_cmd(appeal: AppealOpt, json: JsonOpt = False) -> None:
    """What keeps the plan from being submitted, and what weakens it (never blocking)."""
    c = ctx()
    with c.read_factory() as session:
        found = CheckOut.of(
            service.check(
                session,
                appeal_id=appeal,
                actor=LOCAL_OWNER,
                lang=current_language(),
                registry=c.registry,
            )
        )
    if json:
        print_json(dump(found))
        return
    out.print(_("Complete: the plan may be submitted.") if found.complete else _("Incomplete."))
    for m in found.missing:
        say(f"  - {issue_word(m.issue)}: {_part(m.part)}", indent=4)
    for f in found.findings:
        say(f"  * {_rule(f.rule)} · {issue_word(f.issue)} · {_part(f.part)}: {f.text}", indent=4)
        say(f"    {f.explanation}", indent=4)


@app.command("submit")
def submit_cmd(appeal: AppealOpt, json: JsonOpt = False) -> None:
    """Submit for review; refused (exit 2, plan_incomplete) while an issue is unanswered."""
    c = ctx()
    with unit_of_work(c.factory) as session:
        shown = AppealOut.detail(
            service.submit(
                session, appeal_id=appeal, actor=LOCAL_OWNER, now=utcnow(), registry=c.registry
            )
        )
    _show(shown, json)


@app.command("withdraw")
def withdraw_cmd(appeal: AppealOpt, note: NoteOpt = None, json: JsonOpt = False) -> None:
    """Withdraw the appeal (from DRAFT, SUBMITTED or INFO_REQUESTED)."""
    c = ctx()
    with unit_of_work(c.factory) as session:
        shown = AppealOut.detail(
            service.withdraw(session, appeal_id=appeal, actor=LOCAL_OWNER, now=utcnow(), note=note)
        )
    _show(shown, json)


@app.command("decide")
def decide_cmd(
    appeal: AppealOpt,
    decision: Annotated[str, typer.Option("--decision", help="accept, reject or request-info")],
    note: NoteOpt = None,
    json: JsonOpt = False,
) -> None:
    """The operator's decision; a SUBMITTED appeal is taken under review first."""
    c = ctx()
    with unit_of_work(c.factory) as session:
        shown = AppealOut.detail(
            service.decide(
                session,
                appeal_id=appeal,
                decision=decision,
                note=note,
                actor=LOCAL_OWNER,
                now=utcnow(),
                registry=c.registry,
            )
        )
    _show(shown, json)
