"""``/v1`` routes of the event log: sending events, importing Amazon report files and the
record of imports.

An Amazon file is imported as ``tsunagu import amazon-<kind>`` imports it
(:func:`tsunagu.events.imports.import_file`): the body is the file as downloaded from Seller
Central, the answer is the report the CLI prints with ``--json``, the run is recorded in
``import_runs`` (not on a dry run) and the store's health rollups are refreshed afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Annotated, Any

import orjson
from fastapi import Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, NotFound, TsunaguError, UsageError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import instant, next_page, read_cursor, text
from tsunagu.core.uploads import file_label
from tsunagu.events import auto, imports, ingest, runs
from tsunagu.events.auto_schemas import AutoImportOut
from tsunagu.events.schemas import (
    EventResult,
    EventsAnswer,
    ImportReportOut,
    ImportRunDetailOut,
    ImportRunOut,
    ImportRunPage,
)
from tsunagu.http.deps import (
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    SettingsDep,
    signed_in_router,
)
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented, request_language
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller

#: every route here needs a signed-in caller
router = signed_in_router()

_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "maxItems": 10000,
                    "items": {
                        "description": "An event object. Each item is checked on its own: one "
                        "that is not an object, or not a valid event, is `rejected` in its "
                        "result; the request still succeeds."
                    },
                },
                "example": [
                    {
                        "event_id": "e-1",
                        "type": "order_placed",
                        "seller": "sel_...",
                        "marketplace": "JP",
                        "at": "2026-10-02T12:00:00+09:00",
                        "order_id": "503-1234567-1234567",
                        "channel": "MFN",
                        "currency": "JPY",
                        "items": [{"sku": "MATCHA-100", "quantity": 1, "price": 1980}],
                    }
                ],
            }
        },
    }
}
MAX_EVENTS = 10_000


def _event_items(raw: bytes) -> list[Any]:
    """The request's events: a JSON array of at most :data:`MAX_EVENTS` items."""
    try:
        items = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise TsunaguError(
            N_("The body is not valid JSON"),
            code="invalid_json",
            status=400,
            details={"reason": str(exc)},
        ) from exc
    if not isinstance(items, list):
        raise TsunaguError(
            N_("The body must be a JSON array of events"), code="not_an_array", status=400
        )
    if len(items) > MAX_EVENTS:
        raise InvalidInput(
            N_("At most {max} events per request"),
            code="too_many_events",
            status=413,
            max=MAX_EVENTS,
        )
    return items


@router.post(
    "/events",
    tags=["events"],
    summary="Send seller events",
    openapi_extra=_EVENTS_BODY,
    responses=documented(
        e400="The body is not JSON (`invalid_json`) or not an array (`not_an_array`).",
        e413="The body is larger than the limit (`payload_too_large`), or holds more than "
        "10,000 events (`too_many_events`).",
    ),
)
async def post_events(request: Request, actor: ActorDep, registry: RegistryDep) -> EventsAnswer:
    """Store events idempotently by `event_id`; one result per item (stored, duplicate, rejected).

    Items are checked as one batch: an event may refer to an order placed later in the same array.
    """
    items = _event_items(await request.body())
    report = await run_in_threadpool(
        ingest.run,
        request.app.state.factory,
        lambda: enumerate(items),
        registry=registry,
        now=utcnow(),
        source_label="api",
        chunk_size=max(len(items), 1),
        can_access=actor.can_access,
        read_factory=request.app.state.read_factory,
    )
    lang = request_language(request)
    results = []
    for index, item in enumerate(items):
        event_id = item.get("event_id") if isinstance(item, dict) else None
        results.append(
            EventResult(
                index=index,
                event_id=event_id if isinstance(event_id, str) else None,
                status=report.outcomes.get(index, "rejected"),
                errors=[e.to_dict(lang) for e in report.item_errors.get(index, [])],
            )
        )
    return EventsAnswer(
        read=report.read,
        stored=report.stored,
        duplicates=report.duplicates,
        rejected=report.rejected,
        results=results,
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
    "settlement": (
        "Import a settlement report",
        "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2: every amount posted to the store's "
        "settlement ledger (it must add up to the report's total: `settlement_total_mismatch` "
        "otherwise, nothing written); refunds, A-to-z claims and lost chargebacks become events.",
        "settlement-id\tsettlement-start-date\tsettlement-end-date\tdeposit-date\t"
        "total-amount\tcurrency\ttransaction-type\torder-id\tamount-type\t"
        "amount-description\tamount\tposted-date-time\n"
        "11223344\t2026-11-01 00:00:00 UTC\t2026-11-15 00:00:00 UTC\t"
        "2026-11-17 00:00:00 UTC\t1782\tJPY\t\t\t\t\t\t\n"
        "11223344\t\t\t\t\t\tOrder\t503-1234567-1234567\tItemPrice\tPrincipal\t1980\t"
        "2026-11-03 01:00:00 UTC\n"
        "11223344\t\t\t\t\t\tOrder\t503-1234567-1234567\tItemFees\tCommission\t-198\t"
        "2026-11-03 01:00:00 UTC\n",
    ),
    "returns": (
        "Import a Returns report",
        "GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE: return requests, their resolutions and "
        "A-to-z claims.",
        "Order ID\tReturn request date\tReturn request status\tAmazon RMA ID\tA-to-Z Claim\t"
        "In policy\tResolution\n"
        "503-1234567-1234567\t22-Nov-2026\tApproved\tDq1RMA7kRRMA\tN\tY\tStandardRefund\n",
    ),
    "shipconfirm": (
        "Import a shipping confirmation file",
        "The shipping confirmation upload template: ship dates, carriers and tracking numbers.",
        "order-id\torder-item-id\tquantity\tship-date\tcarrier-code\tcarrier-name\t"
        "tracking-number\tship-method\n"
        "503-1234567-1234567\t\t1\t2026-11-21\tYamatoTransport\t\t123456789012\tStandard\n",
    ),
    "afn-shipments": (
        "Import an Amazon Fulfilled Shipments report",
        "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL: when and how Amazon shipped AFN orders.",
        "amazon-order-id\tshipment-id\tshipment-date\tcarrier\ttracking-number\t"
        "sales-channel\tcurrency\n"
        "503-1234567-1234567\tDk3Bq9Ttk\t2026-11-21T09:12:00+09:00\tYAMATO\t123456789012\t"
        "Amazon.co.jp\tJPY\n",
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

        def run() -> ImportReportOut:
            with imports.saved_upload(raw, label) as path:
                found = imports.import_file(
                    request.app.state.factory,
                    imports.FileImport(
                        f"amazon-{kind}",
                        path,
                        label,
                        seller_id=seller_id,
                        marketplace=marketplace,
                        strict=strict,
                        dry_run=dry_run,
                        chunk_size=settings.import_chunk_size,
                    ),
                    registry=registry,
                    read_factory=request.app.state.read_factory,
                    lang=request_language(request),
                )
            return ImportReportOut(import_id=found.run_id, dry_run=dry_run, **found.report)

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
    after = read_cursor(cursor, instant, text)
    found = runs.list_runs(
        session, seller_id=seller_id, marketplace=code, after=after, limit=limit + 1
    )
    page, next_cursor = next_page(found, limit, lambda r: (r.started_at, r.id))
    return ImportRunPage(items=[ImportRunOut.of(r) for r in page], next_cursor=next_cursor)


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


# -- many files at once: ``tsunagu import auto`` -----------------------------------------------

_AUTO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": auto.MAX_FILES,
                            "items": {"type": "string", "format": "binary"},
                            "description": "Amazon report files as downloaded, in any order "
                            "(repeat the field for each file).",
                        }
                    },
                },
                # the files' contents as a client would send them (two reports of one store)
                "example": {
                    "files": [
                        "amazon-order-id\tpurchase-date\tsales-channel\t…",
                        "Date\tRating\tComments\tYour Response\tOrder ID\tRater Email",
                    ]
                },
            }
        },
    }
}
_AUTO_422 = (
    "Bad parameters (`validation_error`: no `files`), an unknown `marketplace` "
    "(`unknown_marketplace`) or a file name with control characters (`invalid_file_name`)."
)
_AUTO_400 = (
    "The body is not a multipart form (`usage_error`) or holds more than "
    f"{auto.MAX_FILES} files (`too_many_files`)."
)
_AUTO_404 = "No such seller (`seller_not_found`), or no store in `marketplace` " + (
    "(`marketplace_not_enabled`)."
)


async def _auto_uploads(request: Request) -> list[tuple[str, bytes]]:
    """The form's ``files`` as (label, bytes), read after the caller is known."""
    try:
        form = await request.form(max_files=auto.MAX_FILES + 1, max_fields=20)
    except (HTTPException, MultiPartException, ValueError, AssertionError):
        raise UsageError(
            N_("The body is not a multipart form with files."), code="usage_error"
        ) from None
    found = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not found:
        raise InvalidInput(
            N_("The request is not valid."),
            code="validation_error",
            details={
                "errors": [{"field": "files", "code": "missing", "message": "files are required"}]
            },
        )
    if len(found) > auto.MAX_FILES:
        raise UsageError(
            N_("At most {max} files at once"),
            code="too_many_files",
            max=auto.MAX_FILES,
            details={"max": auto.MAX_FILES, "files": len(found)},
        )
    return [
        (file_label(f.filename, fallback=f"file-{n + 1}", field="files"), await f.read())
        for n, f in enumerate(found)
    ]


def _auto_call(
    request: Request,
    seller_id: str,
    marketplace: str | None,
    registry: Registry,
    uploads: list[tuple[str, bytes]],
    work: Callable[[list[auto.Upload], Marketplace | None], auto.AutoResult],
) -> AutoImportOut:
    market = registry.require(marketplace, InvalidInput) if marketplace else None
    with ExitStack() as stack:
        saved = [
            auto.Upload(stack.enter_context(imports.saved_upload(raw, name)), name)
            for name, raw in uploads
        ]
        result = work(saved, market)
    return AutoImportOut.model_validate(result.as_dict(request_language(request)))


_MarketplaceQuery = Annotated[
    str | None,
    Query(
        max_length=20,
        examples=["JP"],
        description="Every file must be for this store: a file naming another is refused "
        "(`file_marketplace_mismatch`). Without it, each file's store is found from its "
        "columns or from the orders it names.",
    ),
]


@router.post(
    "/sellers/{seller_id}/auto-imports",
    tags=["imports"],
    summary="Import many Amazon files at once",
    openapi_extra=_AUTO_BODY,
    responses=documented(413, e400=_AUTO_400, e404=_AUTO_404, e422=_AUTO_422),
)
async def import_auto(
    request: Request,
    seller_id: SellerIdDep,
    registry: RegistryDep,
    settings: SettingsDep,
    marketplace: _MarketplaceQuery = None,
    dry_run: Annotated[
        bool, Query(description="Check everything, write nothing, report what would be.")
    ] = False,
    strict: Annotated[
        bool,
        Query(description="Import nothing if a file is refused; store nothing of a bad file."),
    ] = False,
) -> AutoImportOut:
    """What `tsunagu import auto --json` prints. Each file's kind is found from its header
    (`unknown_file_kind` when none fits) and its store from its own columns or the orders it
    names; the files are imported in dependency order (orders first, the V2 account health JSON
    last), each recorded in `import_runs` unless `dry_run`. A file refused or failed has its
    `problems`; the others are still imported (not with `strict`). 200 even then: see
    `totals`."""
    uploads = await _auto_uploads(request)

    def work(saved: list[auto.Upload], market: Marketplace | None) -> auto.AutoResult:
        return auto.import_auto(
            request.app.state.factory,
            saved,
            seller_id=seller_id,
            registry=registry,
            marketplace=market,
            read_factory=request.app.state.read_factory,
            strict=strict,
            dry_run=dry_run,
            chunk_size=settings.import_chunk_size,
            lang=request_language(request),
        )

    return await run_in_threadpool(
        _auto_call, request, seller_id, marketplace, registry, uploads, work
    )


@router.post(
    "/sellers/{seller_id}/auto-imports/detect",
    tags=["imports"],
    summary="Tell what Amazon files are, without importing them",
    openapi_extra=_AUTO_BODY,
    responses=documented(413, e400=_AUTO_400, e404=_AUTO_404, e422=_AUTO_422),
)
async def detect_imports(
    request: Request,
    seller_id: SellerIdDep,
    registry: RegistryDep,
    marketplace: _MarketplaceQuery = None,
) -> AutoImportOut:
    """Each file's kind, store, rows and problems as `…/auto-imports` would find them; status
    `ready` or `refused`. Nothing is written or recorded."""
    uploads = await _auto_uploads(request)

    def work(saved: list[auto.Upload], market: Marketplace | None) -> auto.AutoResult:
        return auto.detect_files(
            request.app.state.read_factory,
            saved,
            seller_id=seller_id,
            registry=registry,
            marketplace=market,
        )

    return await run_in_threadpool(
        _auto_call, request, seller_id, marketplace, registry, uploads, work
    )
