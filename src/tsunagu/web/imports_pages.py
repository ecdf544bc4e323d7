"""The imports page: many Amazon files at once, one file of a chosen kind, and past imports.

Many files (``tsunagu import auto``, :mod:`tsunagu.events.auto`): the files are picked or dropped
on the page; their detection (kind, store, rows, problems) is shown before anything is imported
(an htmx fragment from ``…/imports/detect`` when the files are chosen; without JavaScript the
"Check files" button shows the same on a full page), then "Import" imports them in dependency
order and shows each file's outcome. One file of a chosen kind goes through the same pipeline as
``tsunagu import …`` / ``events import``: good rows are stored, bad ones are listed with their
line, column, code and message. Every import is kept in ``import_runs``; the page lists the
latest. An events file may only carry events of the seller whose page it was sent from.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.uploads import SAVED_NAME, file_label
from tsunagu.events import auto, imports, runs
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.service import get_seller
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

#: rows of the error table shown on the page (the counts above it are always complete)
MAX_SHOWN_ERRORS = 1000
#: past imports listed on the page
PAST_IMPORTS = 20

#: ``import_runs.status`` in words
RUN_STATUSES = {
    "running": N_("running"),
    "done": N_("done"),
    "done_with_rejections": N_("done, some rows rejected"),
    "rejected": N_("refused (strict): nothing stored"),
    "failed": N_("failed"),
}


def _kind_words(kind: str, lang: str) -> str:
    """An ``import_runs.kind`` (``amazon-orders``, ``events`` …) or a detected kind in words."""
    label = labels.IMPORT_KINDS.get(kind) or auto.KIND_NAMES.get(kind.removeprefix("amazon-"))
    return translate(label, lang) if label else translate(N_("other file"), lang)


def _past_imports(request: Request, seller_id: str, lang: str) -> list[dict[str, Any]]:
    registry: Registry = request.app.state.registry
    with request.app.state.read_factory() as session:
        found = runs.list_runs(session, seller_id=seller_id, limit=PAST_IMPORTS)
        rows = []
        for r in found:
            market = registry.get(r.marketplace) if r.marketplace else None
            report = r.report if isinstance(r.report, dict) else {}
            waiting = report.get("waiting_for_order")
            rows.append(
                {
                    "id": r.id,
                    "when": (r.started_at, market.tz if market is not None else None),
                    "name": r.source_name,
                    "kind": _kind_words(r.kind, lang),
                    "marketplace": r.marketplace or "",
                    "status": translate(RUN_STATUSES.get(r.status, N_("other")), lang),
                    "failed": r.status in ("failed", "rejected"),
                    "read": r.read,
                    "stored": r.stored,
                    "duplicates": r.duplicates,
                    "rejected": r.rejected,
                    "waiting": waiting if isinstance(waiting, int) else None,
                }
            )
    return rows


def _form(request: Request, seller_id: str, **extra: Any) -> HTMLResponse:
    lang = page_language(request)
    with request.app.state.read_factory() as session:
        seller = get_seller(session, seller_id)
        name, stores = seller.name, sorted(s.marketplace for s in seller.stores)
    status = extra.pop("status", 200)
    context: dict[str, Any] = {
        "report": None,
        "error": None,
        "chosen": {"kind": "amazon-orders", "marketplace": stores[0] if stores else ""},
        "auto": None,
        "auto_error": None,
        "auto_marketplace": "",
        "step": None,
        "fragment_only": False,
    }
    context.update(extra)
    return render(
        request,
        "imports.html",
        status=status,
        seller_id=seller_id,
        seller_name=name,
        stores=stores,
        kinds=[(k, translate(label, lang)) for k, label in labels.IMPORT_KINDS.items()],
        max_shown=MAX_SHOWN_ERRORS,
        past=_past_imports(request, seller_id, lang),
        **context,
    )


@router.get("/sellers/{seller_id}/imports", response_class=HTMLResponse)
def imports_page(request: Request, seller_id: SellerIdDep) -> HTMLResponse:
    return _form(request, seller_id)


def _run(
    request: Request, seller_id: str, kind: str, marketplace: str, path: Path, name: str
) -> dict[str, Any]:
    """Import the saved upload, record the run, refresh the health rollups; the report dict."""
    registry: Registry = request.app.state.registry
    read_factory = request.app.state.read_factory
    with read_factory() as session:
        get_seller(session, seller_id)  # before anything is recorded
    market = registry.require(marketplace, InvalidInput) if kind != imports.EVENTS else None
    found = imports.import_file(
        request.app.state.factory,
        imports.FileImport(kind, path, name, seller_id=seller_id, marketplace=market, label="web"),
        registry=registry,
        read_factory=read_factory,
        lang=page_language(request),
    )
    return found.report


def _file_report(exc: TsunaguError, message: str) -> dict[str, Any] | None:
    """A file that cannot be read at all (no header, not tab-separated, a required column
    missing …) as a report whose one error is on the header line; ``None`` for other errors."""
    if "path" not in exc.details:
        return None
    columns = exc.details.get("columns")
    field = ", ".join(map(str, columns)) if isinstance(columns, list) else ""
    error = {"line": 1, "field": field, "code": exc.code, "value": None, "message": message}
    return {"read": 0, "stored": 0, "duplicates": 0, "rejected": 0, "errors": [error]}


@router.post("/sellers/{seller_id}/imports", response_class=HTMLResponse)
async def upload(
    request: Request,
    seller_id: SellerIdDep,
    kind: Annotated[str, Form(max_length=40)],
    marketplace: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    lang = page_language(request)
    chosen = {"kind": kind, "marketplace": marketplace}
    if kind not in labels.IMPORT_KINDS:
        message = translate(N_("Choose what kind of file this is."), lang)
        return await run_in_threadpool(
            _form, request, seller_id, error=message, chosen=chosen, status=422
        )
    if file is None or not file.filename:
        message = translate(N_("Choose a file to upload."), lang)
        return await run_in_threadpool(
            _form, request, seller_id, error=message, chosen=chosen, status=422
        )
    try:
        name = file_label(file.filename, fallback=SAVED_NAME, field="file")
    except TsunaguError as exc:
        return await run_in_threadpool(
            _form, request, seller_id, error=exc.message(lang), chosen=chosen, status=exc.status
        )
    try:
        # the browser's name is only a label: a path made from it could be ``..`` or too long
        with imports.saved_upload(file.file, name) as path:
            report = await run_in_threadpool(
                _run, request, seller_id, kind, marketplace, path, name
            )
    except TsunaguError as exc:
        message = exc.message(lang)
        return await run_in_threadpool(
            _form,
            request,
            seller_id,
            error=message,
            error_code=exc.code,
            report=_file_report(exc, message),
            filename=name,
            chosen=chosen,
            status=exc.status,
        )
    return await run_in_threadpool(
        _form, request, seller_id, report=report, chosen=chosen, filename=name
    )


# -- many files at once ----------------------------------------------------------------------


def _shown_outcome(found: dict[str, Any], lang: str) -> dict[str, Any]:
    """The use case's answer with words for its codes (the page shows no code or enum)."""
    files = []
    for f in found["files"]:
        kind = f["kind"]
        how = f["attributed_by"]
        files.append(
            {
                **f,
                "kind_words": translate(auto.KIND_NAMES[kind], lang)
                if kind in auto.KIND_NAMES
                else translate(N_("not recognised"), lang),
                "how_words": translate(auto.ATTRIBUTION_NAMES[how], lang)
                if how in auto.ATTRIBUTION_NAMES
                else "",
                "status_words": translate(auto.STATUS_NAMES.get(f["status"], N_("other")), lang),
                "ok": f["status"] in ("ready", "imported", "checked"),
            }
        )
    return {**found, "files": files}


def _auto_page(
    request: Request, seller_id: str, *, step: str, status: int = 200, **extra: Any
) -> HTMLResponse:
    if step == "detect" and request.headers.get("hx-request") == "true":
        context = {"auto_error": None, **extra}
        return render(
            request,
            "_import_detection.html",
            status=status,
            seller_id=seller_id,
            step=step,
            fragment_only=True,
            max_shown=MAX_SHOWN_ERRORS,
            **context,
        )
    return _form(request, seller_id, step=step, status=status, **extra)


async def _auto(
    request: Request,
    seller_id: str,
    files: list[UploadFile] | None,
    marketplace: str,
    step: str,
) -> HTMLResponse:
    lang = page_language(request)
    chosen = marketplace.strip()
    picked = [f for f in files or [] if f.filename]
    if not picked:
        message = translate(N_("Choose one or more files."), lang)
        return await run_in_threadpool(
            _auto_page, request, seller_id, step=step, auto_error=message, status=422
        )
    registry: Registry = request.app.state.registry

    def work() -> dict[str, Any]:
        with request.app.state.read_factory() as session:
            get_seller(session, seller_id)
        market = registry.require(chosen, InvalidInput) if chosen else None
        with ExitStack() as stack:
            uploads = []
            for n, f in enumerate(picked):
                name = file_label(f.filename, fallback=f"file-{n + 1}", field="files")
                path = stack.enter_context(imports.saved_upload(f.file, name))
                uploads.append(auto.Upload(path, name))
            if step == "detect":
                result = auto.detect_files(
                    request.app.state.read_factory,
                    uploads,
                    seller_id=seller_id,
                    registry=registry,
                    marketplace=market,
                )
            else:
                result = auto.import_auto(
                    request.app.state.factory,
                    uploads,
                    seller_id=seller_id,
                    registry=registry,
                    marketplace=market,
                    read_factory=request.app.state.read_factory,
                    lang=lang,
                )
        return _shown_outcome(result.as_dict(lang), lang)

    try:
        found = await run_in_threadpool(work)
    except TsunaguError as exc:
        return await run_in_threadpool(
            _auto_page,
            request,
            seller_id,
            step=step,
            auto_error=exc.message(lang),
            auto_marketplace=chosen,
            status=exc.status,
        )
    return await run_in_threadpool(
        _auto_page, request, seller_id, step=step, auto=found, auto_marketplace=chosen
    )


FilesField = Annotated[list[UploadFile] | None, File()]
MarketplaceField = Annotated[str, Form(max_length=20)]


@router.post("/sellers/{seller_id}/imports/detect", response_class=HTMLResponse)
async def detect_page(
    request: Request,
    seller_id: SellerIdDep,
    files: FilesField = None,
    marketplace: MarketplaceField = "",
) -> HTMLResponse:
    """What the chosen files are, before importing: a fragment for htmx, else the page."""
    return await _auto(request, seller_id, files, marketplace, "detect")


@router.post("/sellers/{seller_id}/imports/auto", response_class=HTMLResponse)
async def import_auto_page(
    request: Request,
    seller_id: SellerIdDep,
    files: FilesField = None,
    marketplace: MarketplaceField = "",
) -> HTMLResponse:
    """Import the chosen files, each to its store, in dependency order."""
    return await _auto(request, seller_id, files, marketplace, "import")
