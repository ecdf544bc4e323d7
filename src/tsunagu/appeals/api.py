"""``/v1`` routes of the appeals slice: a seller's appeal against a deactivation, its Plan of
Action and evidence, and the operator's review queue and decisions. Thin: check access (in the
service), call it, commit, shape the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from tsunagu.appeals import service
from tsunagu.appeals.schemas import (
    AppealOut,
    AppealPage,
    AppealSummary,
    AttachmentOut,
    CheckOut,
    DecisionIn,
    DraftOut,
    PlanIn,
    PlanOut,
    WithdrawIn,
)
from tsunagu.core import paging
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, UsageError
from tsunagu.core.i18n import N_
from tsunagu.core.uploads import file_label
from tsunagu.http.deps import (
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    get_factory,
    get_settings,
    signed_in_router,
)
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented, request_language

#: every route here needs a signed-in caller
router = signed_in_router()

StatusName = Literal[
    "DRAFT",
    "SUBMITTED",
    "UNDER_REVIEW",
    "ACCEPTED",
    "REJECTED",
    "INFO_REQUESTED",
    "WITHDRAWN",
    "EXPIRED",
]
AppealId = Annotated[str, Path(min_length=1, max_length=40, description="Appeal id (`apl_…`).")]
_404 = "No such appeal, or not one of your sellers' (`appeal_not_found`)."
_409 = (
    "The appeal's status does not allow this (`sequence_fail`, `details.status` and "
    "`details.action` name both)."
)
_403 = "Your access to the seller does not allow changes (`forbidden`)."


@router.post(
    "/sellers/{seller_id}/stores/{marketplace}/appeals",
    tags=["appeals"],
    summary="Open an appeal against the store's deactivation",
    status_code=201,
    responses=documented(
        e403=_403,
        e404=STORE_404,
        e409="The store is not deactivated (`not_deactivated`), an open appeal answers the "
        "deactivation already (`appeal_exists`, `details.appeal_id`), or its deadline passed "
        "(`deadline_passed`).",
    ),
)
def create_appeal(
    request: Request, seller_id: SellerIdDep, marketplace: MarketplaceDep, actor: ActorDep
) -> AppealOut:
    """What `tsunagu appeals create` does: a DRAFT appeal with one section due per issue of the
    deactivation (`issues`), to be submitted before `deadline`."""
    with unit_of_work(get_factory(request)) as session:
        found = service.create_appeal(
            session, seller_id=seller_id, marketplace=marketplace.code, actor=actor, now=utcnow()
        )
        return AppealOut.detail(found)


@router.get(
    "/appeals",
    tags=["appeals"],
    summary="Appeals: the operator's review queue, or your sellers' appeals",
    responses=documented(
        e422="Bad parameters, an unknown `status` (`invalid_status`) or a cursor tsunagu did not "
        "make (`invalid_cursor`)."
    ),
)
def list_appeals(
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[
        StatusName | None, Query(examples=["SUBMITTED"], description="Only appeals in this status.")
    ] = None,
    seller_id: Annotated[
        str | None, Query(max_length=40, description="Only this seller's.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AppealPage:
    """Newest first. A platform operator sees every seller's appeals (`status=SUBMITTED` is the
    queue to review); anyone else only the appeals of sellers they may read."""
    after = paging.read_cursor(cursor, paging.text)
    found = service.list_appeals(
        session,
        actor=actor,
        seller_id=seller_id,
        status=status,
        before=after[0] if after else None,
        limit=limit + 1,
    )
    page, next_cursor = paging.next_page(found, limit, lambda a: (a.id,))
    return AppealPage(items=[AppealSummary.of(a) for a in page], next_cursor=next_cursor)


@router.get(
    "/appeals/{appeal_id}",
    tags=["appeals"],
    summary="One appeal: status, issues, plan, evidence and every transition",
    responses=documented(e404=_404),
)
def show_appeal(appeal_id: AppealId, session: SessionDep, actor: ActorDep) -> AppealOut:
    """What `tsunagu appeals show --json` prints."""
    return AppealOut.detail(service.show(session, appeal_id=appeal_id, actor=actor))


@router.put(
    "/appeals/{appeal_id}/plan",
    tags=["appeals"],
    summary="Replace the appeal's Plan of Action",
    responses=documented(
        413,
        e403=_403,
        e404=_404,
        e409=_409 + " The plan changes only while DRAFT or INFO_REQUESTED.",
        e422="Bad body, a section for an issue the appeal does not have (`unknown_issue`), two "
        "for one issue (`duplicate_section`), evidence that is not an attachment of the appeal "
        "(`unknown_attachment`) or text with control characters (`invalid_value`); "
        "`details.field` names it.",
    ),
)
def set_plan(request: Request, appeal_id: AppealId, body: PlanIn, actor: ActorDep) -> AppealOut:
    """One section per issue: root cause, actions taken, preventive measures, and the ids of
    the evidence attached. An incomplete plan is stored; `submit` refuses it."""
    with unit_of_work(get_factory(request)) as session:
        found = service.set_plan(
            session, appeal_id=appeal_id, plan=body.plan(), actor=actor, now=utcnow()
        )
        return AppealOut.detail(found)


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "additionalProperties": False,
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A PDF, PNG, JPEG, UTF-8 text or CSV file.",
                        }
                    },
                },
                "example": {"file": "Tracking numbers of the 7 orders, one per line."},
            }
        },
    }
}


@router.post(
    "/appeals/{appeal_id}/attachments",
    tags=["appeals"],
    summary="Attach an evidence file (multipart, field `file`)",
    status_code=201,
    openapi_extra=_UPLOAD_BODY,
    responses=documented(
        e403=_403,
        e404=_404,
        e409=_409 + " Evidence is added only while DRAFT or INFO_REQUESTED.",
        e413="Larger than `[appeals] max_attachment_bytes` (`attachment_too_large`) or than the "
        "request limit (`payload_too_large`).",
        e422="Not a PDF, PNG, JPEG or UTF-8 text/CSV file, judged by its content "
        "(`attachment_type`), a file name with control characters (`invalid_file_name`), or "
        "no `file` (`validation_error`).",
    ),
)
async def add_attachment(
    request: Request, appeal_id: AppealId, actor: ActorDep, registry: RegistryDep
) -> AttachmentOut:
    """Stored under its SHA-256 in the appeal's folder; the file name is kept as a label. The
    same content twice is one attachment. Name its `id` in a section's `evidence`."""
    upload = await _upload(request)
    label = file_label(upload.filename, fallback="evidence")
    content = await upload.read()
    files_dir = get_settings(request).files_folder

    def store() -> AttachmentOut:
        with unit_of_work(get_factory(request)) as session:
            found = service.attach(
                session,
                appeal_id=appeal_id,
                content=content,
                label=label,
                actor=actor,
                now=utcnow(),
                registry=registry,
                files_dir=files_dir,
            )
            return AttachmentOut.of(found)

    return await run_in_threadpool(store)


async def _upload(request: Request) -> UploadFile:
    """The form's ``file``, read here (after the caller is known) rather than by the framework
    before any dependency runs: a malformed body from someone who is not signed in is a 401."""
    try:
        form = await request.form(max_files=1, max_fields=20)
    except (HTTPException, MultiPartException, ValueError, AssertionError):
        raise UsageError(
            N_("The body is not a multipart form with a file."), code="usage_error"
        ) from None
    found = form.get("file")
    if not isinstance(found, UploadFile):
        raise InvalidInput(
            N_("The request is not valid."),
            code="validation_error",
            details={
                "errors": [{"field": "file", "code": "missing", "message": "a file is required"}]
            },
        )
    return found


@router.get(
    "/appeals/{appeal_id}/check",
    tags=["appeals"],
    summary="Check the plan: what is missing (blocks submission) and what weakens it",
    responses=documented(e404=_404),
)
def check_appeal(
    request: Request,
    appeal_id: AppealId,
    session: SessionDep,
    actor: ActorDep,
    registry: RegistryDep,
) -> CheckOut:
    """What `tsunagu appeals check --json` prints. `missing` lists every issue without a
    section and every part shorter than `[appeals] min_part_chars`; `findings` are the
    checker's remarks (apologies, vague promises, actions that do not answer the issue,
    missing evidence), in the language of `Accept-Language`; they never block."""
    found = service.check(
        session, appeal_id=appeal_id, actor=actor, lang=request_language(request), registry=registry
    )
    return CheckOut.of(found)


@router.post(
    "/appeals/{appeal_id}/draft",
    tags=["appeals"],
    summary="Draft the plan from the seller's own records",
    responses=documented(
        e403=_403, e404=_404, e409=_409 + " `save` needs a DRAFT or INFO_REQUESTED appeal."
    ),
)
def draft_appeal(
    request: Request,
    appeal_id: AppealId,
    actor: ActorDep,
    registry: RegistryDep,
    lang: Annotated[
        str | None, Query(pattern="^(en|ja)$", description="en or ja (default: Accept-Language).")
    ] = None,
    save: Annotated[bool, Query(description="Store the draft as the plan.")] = False,
) -> DraftOut:
    """Every section written from the seller's records (counts, dates, examples) with suggested
    actions. It becomes the plan when `save` is set, or when the appeal is editable and its
    plan still empty; otherwise it is only shown."""
    language = lang or request_language(request)
    with unit_of_work(get_factory(request)) as session:
        plan, saved = service.draft(
            session,
            appeal_id=appeal_id,
            actor=actor,
            lang=language,
            registry=registry,
            now=utcnow(),
            save=save,
        )
        return DraftOut(sections=PlanOut.of(plan).sections, saved=saved, lang=language)


@router.post(
    "/appeals/{appeal_id}/submit",
    tags=["appeals"],
    summary="Submit the appeal for review",
    responses=documented(
        e403=_403,
        e404=_404,
        e409=_409 + " Also `deadline_passed`, `not_deactivated`, and `appeal_order` when the "
        "store that caused a related-account deactivation must be reinstated first.",
        e422="The plan leaves an issue or a part unanswered (`plan_incomplete`; the message "
        "names each issue, `details.missing` lists `{issue, part}`).",
    ),
)
def submit_appeal(
    request: Request, appeal_id: AppealId, actor: ActorDep, registry: RegistryDep
) -> AppealOut:
    """DRAFT or INFO_REQUESTED → SUBMITTED."""
    with unit_of_work(get_factory(request)) as session:
        found = service.submit(
            session, appeal_id=appeal_id, actor=actor, now=utcnow(), registry=registry
        )
        return AppealOut.detail(found)


#: the body of a withdrawal is optional: no note
_NO_NOTE = WithdrawIn()


@router.post(
    "/appeals/{appeal_id}/withdraw",
    tags=["appeals"],
    summary="Withdraw the appeal",
    responses=documented(413, e403=_403, e404=_404, e409=_409, e422="Bad body."),
)
def withdraw_appeal(
    request: Request, appeal_id: AppealId, actor: ActorDep, body: WithdrawIn = _NO_NOTE
) -> AppealOut:
    """From DRAFT, SUBMITTED or INFO_REQUESTED; not once a reviewer has taken it."""
    with unit_of_work(get_factory(request)) as session:
        found = service.withdraw(
            session,
            appeal_id=appeal_id,
            actor=actor,
            now=utcnow(),
            note=body.note,
        )
        return AppealOut.detail(found)


@router.post(
    "/appeals/{appeal_id}/decision",
    tags=["appeals"],
    summary="Decide an appeal (platform operators only)",
    responses=documented(
        413,
        e403="Only platform operators decide appeals (`forbidden`).",
        e404=_404,
        e409=_409 + " Two reviewers at once: one decision, the other `sequence_fail`.",
        e422="Bad body, or a decision other than accept, reject, request-info "
        "(`invalid_decision`).",
    ),
)
def decide_appeal(
    request: Request, appeal_id: AppealId, body: DecisionIn, actor: ActorDep, registry: RegistryDep
) -> AppealOut:
    """A SUBMITTED appeal is taken UNDER_REVIEW first. `accept` reinstates the store (NORMAL,
    the covered violations resolved, the funds hold released); `request-info` gives the seller
    time to answer and resubmit."""
    with unit_of_work(get_factory(request)) as session:
        found = service.decide(
            session,
            appeal_id=appeal_id,
            decision=body.decision,
            note=body.note,
            actor=actor,
            now=utcnow(),
            registry=registry,
        )
        return AppealOut.detail(found)
