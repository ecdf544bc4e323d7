"""``/v1`` routes for Amazon report files and the record of imports.

The same import as ``tsunagu import amazon-<kind>``: the body is the file as downloaded from
Seller Central, the answer is the report the CLI prints with ``--json``, the run is recorded in
``import_runs`` (not on a dry run) and the store's health rollups are refreshed afterwards.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tsunagu.api.routes import STORE_404, Cursor, Limit
from tsunagu.connectors.amazon.service import import_file
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import decode_cursor, encode_cursor
from tsunagu.core.timeutil import format_instant, parse_instant
from tsunagu.core.uploads import SAVED_NAME, file_label
from tsunagu.events import runs
from tsunagu.events.models import ImportRun
from tsunagu.health import incremental
from tsunagu.http.deps import (
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    SettingsDep,
    current_actor,
)
from tsunagu.http.responses import documented, request_language
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.sellers.service import get_seller

#: every route here needs a signed-in caller
router = APIRouter(prefix="/v1", dependencies=[Depends(current_actor)])


class ImportRowError(BaseModel):
    line: int = Field(description="Physical line of the file (the header is line 1).")
    field: str = Field(description="The column or event field.", examples=["currency"])
    code: str = Field(description="A stable per-row error code.", examples=["currency_mismatch"])
    value: Any = Field(description="The offending value; `***` for personal data.")
    message: str = Field(examples=["marketplace JP trades in JPY"])


class ImportReportOut(BaseModel):
    """The import report of `tsunagu import amazon-* --json`, with the run it was recorded as."""

    import_id: str | None = Field(
        description="The `import_runs` record (`GET …/imports/{import_id}`); null on a dry run.",
        examples=["imp_01jd5m3q7x8k2v4b9c6n0p1r2s"],
    )
    dry_run: bool = Field(description="Nothing was written; `stored` says what would have been.")
    read: int = Field(description="Events built from the file plus rows refused.", examples=[19])
    stored: int = Field(description="New events written.", examples=[19])
    duplicates: int = Field(description="Events already stored; they change nothing.")
    rejected: int = Field(description="Rows or events refused; each has entries in `errors`.")
    errors: list[ImportRowError] = Field(description="Sorted by line.")
    file: dict[str, int | str] = Field(
        description="What the file held: rows, encoding, personal_values, and for orders "
        "reports orders (and pending, known_orders, other_channel).",
        examples=[{"rows": 16, "orders": 12, "encoding": "utf-8", "personal_values": 44}],
    )


_KINDS = {
    "orders": (
        "Import an All Orders report",
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: orders, their items and states.",
        "amazon-order-id\tpurchase-date\torder-status\tfulfillment-channel\tsales-channel\t"
        "sku\tquantity\tcurrency\titem-price\n"
        "503-1234567-1234567\t2026-11-20T10:00:00+09:00\tShipped\tMerchant\tAmazon.co.jp\t"
        "MATCHA-100\t1\tJPY\t1980\n",
    ),
    "unshipped": (
        "Import an Unshipped Orders report",
        "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING: the ship-by promises of open orders.",
        "order-id\tpurchase-date\tpromise-date\tsku\tquantity-to-ship\n"
        "503-1234567-1234567\t2026-11-20T10:00:00+09:00\t2026-11-22T23:59:59+09:00\t"
        "MATCHA-100\t1\n",
    ),
    "feedback": (
        "Import a Seller Feedback report",
        "GET_SELLER_FEEDBACK_DATA: buyer ratings and comments per order.",
        "Date\tRating\tComments\tOrder ID\n2026/11/20\t5\tGreat tea\t503-1234567-1234567\n",
    ),
}


def _body(example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": "The report file as downloaded: tab-separated, UTF-8 or CP932.",
            "content": {
                "text/tab-separated-values": {
                    "schema": {"type": "string"},
                    "example": example,
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }


def _hide_upload_path(exc: TsunaguError, folder: str, name: str) -> None:
    """File-level errors name the file they read; show the caller's file name, not ours."""
    for mapping in (exc.params, exc.details):
        for key, value in mapping.items():
            if isinstance(value, str) and folder in value:
                mapping[key] = name


def _import_route(kind: str) -> Callable[..., Awaitable[ImportReportOut]]:
    async def import_amazon_file(
        request: Request,
        seller_id: SellerIdDep,
        marketplace: MarketplaceDep,
        registry: RegistryDep,
        settings: SettingsDep,
        filename: Annotated[
            str,
            Query(
                min_length=1,
                max_length=200,
                description="The file's name, kept as a label (never used as a path); no "
                "control characters.",
            ),
        ] = f"amazon-{kind}.txt",
        dry_run: Annotated[
            bool, Query(description="Check everything, write nothing, report what would be.")
        ] = False,
        strict: Annotated[bool, Query(description="Store nothing if any row is bad.")] = False,
    ) -> ImportReportOut:
        label = file_label(filename, fallback=f"amazon-{kind}.txt")
        raw = await request.body()
        lang = request_language(request)
        factory = request.app.state.factory

        def work(path: FilePath) -> dict[str, Any]:
            result = import_file(
                factory,
                kind,
                path,
                seller_id=seller_id,
                marketplace=marketplace,
                registry=registry,
                now=utcnow(),
                strict=strict,
                dry_run=dry_run,
                chunk_size=settings.import_chunk_size,
                read_factory=request.app.state.read_factory,
            )
            if not dry_run:
                incremental.refresh_all(factory, registry, utcnow())
            return result.as_dict(lang)

        def run() -> ImportReportOut:
            with tempfile.TemporaryDirectory(prefix="tsunagu-upload-") as folder:
                path = FilePath(folder) / SAVED_NAME
                path.write_bytes(raw)
                try:
                    return _imported(path, marketplace)
                except TsunaguError as exc:
                    _hide_upload_path(exc, folder, label)
                    raise

        def _imported(path: FilePath, market: Marketplace) -> ImportReportOut:
            if dry_run:
                return ImportReportOut(import_id=None, dry_run=True, **work(path))
            run_id, report = runs.recorded(
                factory,
                kind=f"amazon-{kind}",
                source_name=label,
                sha256=hashlib.sha256(raw).hexdigest(),
                seller_id=seller_id,
                marketplace=market.code,
                mode="strict" if strict else "partial",
                clock=utcnow,
                work=lambda: work(path),
            )
            return ImportReportOut(import_id=run_id, dry_run=False, **report)

        return await run_in_threadpool(run)

    _, detail, _ = _KINDS[kind]
    import_amazon_file.__doc__ = (
        f"{detail} The body is the file; the answer is the report `tsunagu import amazon-{kind} "
        "--json` prints (200 even when rows were rejected: see `rejected` and `errors`). "
        "Idempotent: importing the same file again stores nothing new. Recorded in "
        "`import_runs` unless `dry_run`."
    )
    import_amazon_file.__name__ = f"import_amazon_{kind}"
    return import_amazon_file


for _kind, (_summary, _detail, _example) in _KINDS.items():
    router.post(
        f"/sellers/{{seller_id}}/imports/{{marketplace}}/amazon-{_kind}",
        tags=["imports"],
        summary=_summary,
        openapi_extra=_body(_example),
        responses=documented(
            413,
            e400="The file cannot be used: not UTF-8 or CP932 (`unreadable_file`), empty "
            "(`empty_file`), not tab-separated (`not_tab_separated`) or without a required "
            "column (`missing_column`; `details.columns` lists them).",
            e404=STORE_404,
            e422="Bad parameters (`validation_error`) or a `filename` with control characters "
            "(`invalid_file_name`).",
        ),
    )(_import_route(_kind))


class ImportRunOut(BaseModel):
    id: str = Field(examples=["imp_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    kind: str = Field(
        description="amazon-orders, amazon-unshipped, amazon-feedback …",
        examples=["amazon-orders"],
    )
    source_name: str = Field(description="The file's name.", examples=["all-orders.txt"])
    sha256: str | None = Field(description="SHA-256 of the file's bytes.")
    seller_id: str | None
    marketplace: str | None = Field(examples=["JP"])
    mode: str = Field(description="strict or partial.", examples=["partial"])
    status: str = Field(
        description="running, done, done_with_rejections, rejected (strict, nothing stored) or "
        "failed.",
        examples=["done"],
    )
    started_at: datetime
    finished_at: datetime | None
    read: int
    stored: int
    duplicates: int
    rejected: int

    @classmethod
    def of(cls, r: ImportRun) -> ImportRunOut:
        return cls(
            id=r.id,
            kind=r.kind,
            source_name=r.source_name,
            sha256=r.sha256,
            seller_id=r.seller_id,
            marketplace=r.marketplace,
            mode=r.mode,
            status=r.status,
            started_at=r.started_at,
            finished_at=r.finished_at,
            read=r.read,
            stored=r.stored,
            duplicates=r.duplicates,
            rejected=r.rejected,
        )


class ImportRunDetailOut(ImportRunOut):
    report: dict[str, Any] = Field(
        description="The import report as it ended (its first 1,000 errors).",
        examples=[{"read": 2, "stored": 1, "duplicates": 0, "rejected": 1, "errors": []}],
    )


class ImportRunPage(BaseModel):
    items: list[ImportRunOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


@router.get(
    "/sellers/{seller_id}/imports",
    tags=["imports"],
    summary="A seller's imports",
    responses=documented(
        e404="No such seller (`seller_not_found`).",
        e422="Bad parameters, an unknown `marketplace` (`unknown_marketplace`) or a cursor "
        "tsunagu did not make (`invalid_cursor`).",
    ),
)
def list_imports(
    seller_id: SellerIdDep,
    session: SessionDep,
    registry: RegistryDep,
    marketplace: Annotated[
        str | None,
        Query(max_length=20, examples=["JP"], description="Only this marketplace's store."),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ImportRunPage:
    """The record of the seller's Amazon file imports (CLI and API; not dry runs), latest
    first; page with `cursor`."""
    get_seller(session, seller_id)
    code = registry.require(marketplace, InvalidInput).code if marketplace else None
    after = None
    if cursor:
        at, run_id = decode_cursor(cursor, 2)
        try:
            after = (parse_instant(at), run_id)
        except ValueError as exc:
            raise InvalidInput(
                N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
            ) from exc
    found = runs.list_runs(
        session, seller_id=seller_id, marketplace=code, after=after, limit=limit + 1
    )
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_cursor(format_instant(found[-1].started_at), found[-1].id)
    return ImportRunPage(items=[ImportRunOut.of(r) for r in found], next_cursor=next_cursor)


@router.get(
    "/sellers/{seller_id}/imports/{import_id}",
    tags=["imports"],
    summary="One import with its report",
    responses=documented(
        422, e404="No such seller (`seller_not_found`) or import (`import_not_found`)."
    ),
)
def get_import(
    seller_id: SellerIdDep,
    import_id: Annotated[str, Path(min_length=1, max_length=40, description="Import run id.")],
    session: SessionDep,
) -> ImportRunDetailOut:
    """The run and the report it ended with, rejected rows included (up to 1,000)."""
    get_seller(session, seller_id)
    found = runs.get_run(session, seller_id=seller_id, run_id=import_id)
    if found is None:
        raise NotFound(
            N_("No import {import_id} for this seller"),
            code="import_not_found",
            import_id=import_id,
            details={"import_id": import_id},
        )
    return ImportRunDetailOut(**ImportRunOut.of(found).model_dump(), report=dict(found.report))
