"""The ``/v1`` routes. Thin: check access, call a service, commit, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tsunagu.api.deps import (
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    SettingsDep,
)
from tsunagu.api.errors import request_language
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.events import ingest
from tsunagu.health import alert_service, incremental
from tsunagu.health import service as health_service
from tsunagu.health import snapshots as health_snapshots
from tsunagu.health.metrics import local_date
from tsunagu.health.schemas import (
    AlertOut,
    HealthComparisonOut,
    SnapshotImportOut,
    StoreForecastOut,
    StoreHealthOut,
    StoreHistoryOut,
    StoreWhatIfOut,
)
from tsunagu.orders import repo as orders_repo
from tsunagu.orders import service as orders_service
from tsunagu.orders.schemas import OrderOut, OrderPage
from tsunagu.sellers import service as sellers_service
from tsunagu.sellers.schemas import SellerCreate, SellerOut, SellerPage

router = APIRouter(prefix="/v1")

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
Cursor = Annotated[str | None, Query(max_length=500, description="From `next_cursor`.")]


class MarketplaceOut(BaseModel):
    code: str = Field(examples=["JP"])
    marketplace_id: str = Field(examples=["A1VC38T7YXB528"])
    currency: str
    timezone: str
    sales_channel: str
    region: str
    name: str
    builtin: bool


@router.get("/marketplaces", tags=["marketplaces"], summary="Marketplaces tsunagu knows")
def list_marketplaces(registry: RegistryDep) -> list[MarketplaceOut]:
    return [MarketplaceOut(**m.__dict__) for m in registry.marketplaces]


@router.post("/sellers", status_code=201, tags=["sellers"], summary="Create a seller")
def create_seller(body: SellerCreate, session: SessionDep, registry: RegistryDep) -> SellerOut:
    """A seller (a business) with one store per marketplace it sells in."""
    seller = sellers_service.create_seller(
        session, name=body.name, marketplaces=body.marketplaces, registry=registry, now=utcnow()
    )
    shown = SellerOut.of(seller)
    session.commit()
    return shown


@router.get("/sellers", tags=["sellers"], summary="List sellers")
def list_sellers(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> SellerPage:
    only = None if actor.sellers is None else sorted(actor.sellers)
    rows = sellers_service.list_sellers(session, after=cursor, limit=limit + 1, only=only)
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    return SellerPage(items=[SellerOut.of(s) for s in rows[:limit]], next_cursor=next_cursor)


@router.get(
    "/sellers/{seller_id}",
    tags=["sellers"],
    summary="One seller",
    responses={404: {"description": "No such seller (or not yours)."}},
)
def get_seller(seller_id: SellerIdDep, session: SessionDep) -> SellerOut:
    return SellerOut.of(sellers_service.get_seller(session, seller_id))


@router.get(
    "/sellers/{seller_id}/orders",
    tags=["orders"],
    summary="A seller's orders",
    responses={404: {"description": "No such seller."}},
)
def list_orders(
    seller_id: SellerIdDep,
    session: SessionDep,
    registry: RegistryDep,
    marketplace: Annotated[str | None, Query(max_length=20, examples=["JP"])] = None,
    status: Annotated[
        list[str] | None, Query(description="unshipped, shipped, delivered, cancelled")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> OrderPage:
    """Newest purchase first; page with `cursor`."""
    code = registry.require(marketplace, InvalidInput).code if marketplace else None
    rows, next_cursor = orders_service.list_orders(
        session,
        seller_id=seller_id,
        marketplace=code,
        statuses=status or (),
        cursor=cursor,
        limit=limit,
    )
    return OrderPage(items=[OrderOut.of(o) for o in rows], next_cursor=next_cursor)


@router.get(
    "/sellers/{seller_id}/orders/{marketplace}/{order_id}",
    tags=["orders"],
    summary="One order",
    responses={404: {"description": "No such order."}},
)
def get_order(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    order_id: str,
    session: SessionDep,
) -> OrderOut:
    sellers_service.get_seller(session, seller_id)
    order = orders_repo.get_order(session, seller_id, marketplace.code, order_id)
    if order is None:
        raise NotFound(
            N_("No order {order_id} in this store"),
            code="order_not_found",
            order_id=order_id,
            details={"order_id": order_id},
        )
    return OrderOut.of(order)


AsOf = Annotated[
    date | None,
    Query(description="Evaluation day YYYY-MM-DD (default: today in each store's time zone)."),
]


@router.get(
    "/sellers/{seller_id}/health",
    tags=["health"],
    summary="Account health of every store of a seller",
    responses={404: {"description": "No such seller."}},
)
def seller_health(
    seller_id: SellerIdDep, session: SessionDep, registry: RegistryDep, as_of: AsOf = None
) -> list[StoreHealthOut]:
    now = utcnow()
    if as_of is None:
        found = incremental.seller_health_now(
            session, seller_id=seller_id, registry=registry, now=now
        )
    else:
        found = health_service.seller_health(
            session, seller_id=seller_id, registry=registry, day=as_of, now=now
        )
    return [StoreHealthOut.of(h, with_ids=False) for h in found]


@router.get(
    "/sellers/{seller_id}/health/{marketplace}",
    tags=["health"],
    summary="Account health of one store",
    responses={404: {"description": "No such seller, or no store in that marketplace."}},
)
def store_health(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> StoreHealthOut:
    """The performance metrics and the Account Health Rating with every term explained. Today's
    figures come from the daily rollups; the ids behind each metric are listed by `/explain`."""
    now = utcnow()
    if as_of is None or as_of == local_date(now, marketplace.tz):
        found = incremental.store_health_now(
            session, seller_id=seller_id, marketplace=marketplace, now=now
        )
    else:
        found = health_service.store_health(
            session, seller_id=seller_id, marketplace=marketplace, day=as_of, now=now
        )
    return StoreHealthOut.of(found, with_ids=False)


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/forecast",
    tags=["health"],
    summary="The Account Health Rating day by day if nothing new happens",
    responses={
        404: {"description": "No such seller, or no store in that marketplace."},
        422: {"description": "Bad parameters."},
    },
)
def store_forecast(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
    days: Annotated[int, Query(ge=1, le=365, description="Days ahead (1–365).")] = 90,
) -> StoreForecastOut:
    """Violations age out and orders leave the 180-day window; no new orders or violations."""
    found = health_service.store_forecast(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
        days=days,
    )
    return StoreForecastOut.of(found)


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/what-if",
    tags=["health"],
    summary="The Account Health Rating after hypothetical changes",
    responses={
        404: {"description": "No such seller, or no store in that marketplace."},
        422: {"description": "Bad parameters, or an unknown violation (`unknown_violation`)."},
    },
)
def store_what_if(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
    resolve: Annotated[
        list[str] | None,
        Query(max_length=200, description="A violation id to suppose resolved; repeatable."),
    ] = None,
    add_orders: Annotated[
        int, Query(ge=0, le=1_000_000, description="Fulfilled orders to suppose added.")
    ] = 0,
) -> StoreWhatIfOut:
    """Nothing is written: the rating now and with the changes applied on the day."""
    found = health_service.store_what_if(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
        resolve=resolve or (),
        add_orders=add_orders,
    )
    return StoreWhatIfOut.of(found)


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/report",
    tags=["health"],
    summary="Account health shaped like Amazon's V2 seller performance report",
    responses={
        404: {"description": "No such seller, or no store in that marketplace."},
        422: {"description": "Bad parameters."},
    },
)
def store_report(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """`accountStatuses` and `performanceMetrics[]` as in `GET_V2_SELLER_PERFORMANCE_REPORT`;
    rates are fractions, date ranges UTC; tsunagu's own metrics are under `tsunagu…` keys."""
    return health_service.store_report(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
    )


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/compare",
    tags=["health"],
    summary="Amazon's imported health report beside tsunagu's figures for the same date",
    responses={
        404: {
            "description": "No such seller, no store in that marketplace, or no imported "
            "report on or before `as_of` (`no_snapshot`)."
        },
        422: {"description": "Bad parameters."},
    },
)
def store_compare(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: Annotated[
        date | None,
        Query(
            description="Use the latest imported report on or before this day YYYY-MM-DD "
            "(default: the latest)."
        ),
    ] = None,
) -> HealthComparisonOut:
    """One row per figure: Amazon's value, tsunagu's value for the report's date and the
    difference (`same`, `differs`, `missing_in_amazon`, `missing_in_tsunagu`). Rates are
    fractions and the same within 0.0005; counts must be equal."""
    found = health_snapshots.compare(
        session, seller_id=seller_id, marketplace=marketplace, as_of=as_of, now=utcnow()
    )
    return HealthComparisonOut.of(found)


_REPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "example": {
                    "accountStatuses": [{"marketplaceId": "A1VC38T7YXB528", "status": "NORMAL"}],
                    "performanceMetrics": [
                        {
                            "marketplaceId": "A1VC38T7YXB528",
                            "accountHealthRating": {
                                "ahrStatus": "GREAT",
                                "ahrScore": 212,
                                "reportingDateRange": {
                                    "reportingDateFrom": "2026-05-30T00:00Z",
                                    "reportingDateTo": "2026-11-25T23:59Z",
                                },
                            },
                        }
                    ],
                },
            }
        },
    }
}


@router.post(
    "/sellers/{seller_id}/health/{marketplace}/amazon-report",
    tags=["health"],
    summary="Import Amazon's V2 seller performance report as a snapshot",
    openapi_extra=_REPORT_BODY,
    responses={
        200: {"description": "The same file was imported before (`duplicate`); nothing written."},
        201: {"description": "Stored."},
        400: {"description": "The body is not JSON (`invalid_json`)."},
        404: {"description": "No such seller, or no store in that marketplace."},
        413: {"description": "The body is too large."},
        422: {
            "description": "No performanceMetrics item for the marketplace, or a value of the "
            "wrong kind; `details.path` is its JSON path."
        },
    },
    status_code=201,
)
async def import_amazon_report(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    response: Response,
    filename: Annotated[
        str, Query(min_length=1, max_length=500, description="The file's name, kept as a label.")
    ] = "amazon-health.json",
) -> SnapshotImportOut:
    """The body is the report file as downloaded (JSON). Only Amazon's figures are stored:
    no orders or violations are created. The same bytes twice is a duplicate."""
    raw = await request.body()

    def store() -> SnapshotImportOut:
        with unit_of_work(request.app.state.factory) as session:
            result = health_snapshots.import_snapshot(
                session,
                seller_id=seller_id,
                marketplace=marketplace,
                data=raw,
                source_name=filename,
                now=utcnow(),
            )
            return SnapshotImportOut.of(result)

    found = await run_in_threadpool(store)
    if found.outcome == "duplicate":
        response.status_code = 200
    return found


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/history",
    tags=["health"],
    summary="The Account Health Rating and main metrics day by day",
    responses={
        404: {"description": "No such seller, or no store in that marketplace."},
        422: {"description": "Bad parameters, or a range outside 1–366 days (`invalid_range`)."},
    },
)
def store_history(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    start: Annotated[date, Query(alias="from", description="First day YYYY-MM-DD.")],
    end: Annotated[date, Query(alias="to", description="Last day YYYY-MM-DD (≤ 366 days).")],
) -> StoreHistoryOut:
    """Each day evaluated at the earlier of now and the end of that day."""
    days = health_service.store_history(
        session, seller_id=seller_id, marketplace=marketplace, start=start, end=end, now=utcnow()
    )
    return StoreHistoryOut.of(seller_id, marketplace.code, start, end, days)


_EXPLAIN_EXAMPLE = {
    "seller_id": "sel_01jd5m3q7x8k2v4b9c6n0p1r2s",
    "marketplace": "JP",
    "day": "2026-11-25",
    "evaluated_at": "2026-11-25T15:00:00Z",
    "fulfilled_orders": 150,
    "rating": {
        "score": 198,
        "band": "at_risk",
        "profile": "amazon",
        "terms": [
            {"kind": "base", "points": 200, "label": "starting score"},
            {
                "kind": "sales_credit",
                "points": 0,
                "label": "4 points per 200 fulfilled orders",
                "orders": 150,
            },
            {
                "kind": "violation",
                "points": -2,
                "label": "low violation of receivedIntellectualPropertyComplaints",
                "violation_id": "V-logo",
                "policy": "receivedIntellectualPropertyComplaints",
                "severity": "low",
                "repeat": 1,
                "opened_on": "2026-10-26",
                "ages_out_on": "2027-04-24",
            },
        ],
    },
    "metrics": [
        {
            "name": "late_shipment_rate_30",
            "numerator": 1,
            "denominator": 40,
            "rate": 0.025,
            "target": 0.04,
            "comparison": "<",
            "status": "GOOD",
            "not_measurable": 0,
            "window_from": "2026-10-27",
            "window_to": "2026-11-25",
            "components": {"late": 1},
            "ids": ["503-1234567-1234567"],
        }
    ],
}


@router.get(
    "/sellers/{seller_id}/health/{marketplace}/explain",
    tags=["health"],
    summary="Every term of the Account Health Rating and the ids behind each metric",
    responses={
        200: {"content": {"application/json": {"example": _EXPLAIN_EXAMPLE}}},
        404: {"description": "No such seller, or no store in that marketplace."},
        422: {"description": "Bad parameters."},
    },
)
def store_explain(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> StoreHealthOut:
    """What `tsunagu health explain --json` prints: the rating's terms (base, sales credit, each
    violation with its repeat, opening day and age-out day, critical, metric, floor, clamp) whose
    points add up to the score, and every metric with the order, message or return ids behind its
    numerator."""
    found = health_service.store_health(
        session, seller_id=seller_id, marketplace=marketplace, day=as_of, now=utcnow()
    )
    return StoreHealthOut.of(found)


@router.get(
    "/sellers/{seller_id}/alerts",
    tags=["health"],
    summary="A seller's health alerts",
    responses={
        404: {"description": "No such seller."},
        422: {"description": "Bad parameters, or an unknown marketplace."},
    },
)
def list_alerts(
    seller_id: SellerIdDep,
    session: SessionDep,
    registry: RegistryDep,
    marketplace: Annotated[
        str | None,
        Query(max_length=20, examples=["JP"], description="Only this marketplace's store."),
    ] = None,
    active: Annotated[bool, Query(description="Only alerts not cleared yet.")] = False,
) -> list[AlertOut]:
    """Newest first. An alert is raised once when a metric comes within its alert margin of the
    target (ODR ≥ 0.75 %, late shipment ≥ 3 %, cancellation ≥ 2 %, valid tracking ≤ 96 %,
    contact response ≤ 92 % by default), when the rating drops into a lower band, or when the
    forecast shows it will within 30 days; it is cleared on the day its condition has ended.
    The daily `health.alerts` job records them; reading never checks."""
    code = registry.require(marketplace, InvalidInput).code if marketplace else None
    found = alert_service.list_alerts(
        session, seller_id=seller_id, marketplace=code, active_only=active
    )
    return [AlertOut.of(a) for a in found]


class EventResult(BaseModel):
    index: int = Field(description="Position of the event in the request array (0-based).")
    event_id: str | None
    status: str = Field(description="stored, duplicate or rejected.")
    errors: list[dict[str, Any]] = Field(default_factory=list)


class EventsAnswer(BaseModel):
    read: int
    stored: int
    duplicates: int
    rejected: int
    results: list[EventResult]


_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}, "maxItems": 10000},
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


@router.post(
    "/events",
    tags=["events"],
    summary="Send seller events",
    openapi_extra=_EVENTS_BODY,
    responses={
        400: {"description": "The body is not a JSON array."},
        413: {"description": "The body is too large."},
    },
)
async def post_events(
    request: Request,
    actor: ActorDep,
    settings: SettingsDep,
    registry: RegistryDep,
    response: Response,
) -> EventsAnswer:
    """Store events idempotently by `event_id`; one result per item (stored, duplicate, rejected).

    Items are checked as one batch: an event may refer to an order placed later in the same array.
    """
    raw = await request.body()
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
    factory = request.app.state.factory
    report = await run_in_threadpool(
        ingest.run,
        factory,
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
