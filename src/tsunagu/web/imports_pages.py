"""Uploading an Amazon report or an events file, and the row-level report of what happened.

The upload goes through the same pipeline as ``tsunagu import …`` / ``events import``: good rows
are stored, bad ones are listed with their line, column, code and message, and the run is kept in
``import_runs``. An events file may only carry events of the seller whose page it was sent from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.uploads import SAVED_NAME, file_label
from tsunagu.events import imports
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.service import get_seller
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

#: rows of the error table shown on the page (the counts above it are always complete)
MAX_SHOWN_ERRORS = 1000


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
