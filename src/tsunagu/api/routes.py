"""The ``/v1`` routes. Thin: check access, call a service, commit, shape the answer."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema
from starlette.concurrency import run_in_threadpool

from tsunagu.access import service as access
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import decode_cursor, encode_cursor
from tsunagu.core.uploads import file_label
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
from tsunagu.http.deps import (
    ActorDep,
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionActorDep,
    SessionDep,
    SettingsDep,
    client_of,
    current_actor,
)
from tsunagu.http.responses import documented, request_language
from tsunagu.orders import repo as orders_repo
from tsunagu.orders import service as orders_service
from tsunagu.orders.schemas import OrderOut, OrderPage
from tsunagu.orders.service import STATUSES as ORDER_STATUSES
from tsunagu.sellers import service as sellers_service
from tsunagu.sellers.schemas import SellerCreate, SellerOut, SellerPage

#: every route here needs a signed-in caller
router = APIRouter(prefix="/v1", dependencies=[Depends(current_actor)])

STORE_404 = (
    "No such seller (`seller_not_found`), unknown marketplace (`unknown_marketplace`) or no "
    "store there (`marketplace_not_enabled`)."
)

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
Cursor = Annotated[str | None, Query(max_length=500, description="From `next_cursor`.")]
#: years 1970–2999, as for instants in events: the health windows reach 180 days back and the
#: forecast 365 days ahead, which must stay within what Python's dates can hold
DAY_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DAY = re.compile(DAY_PATTERN)


def _strict_day(value: object) -> object:
    # pydantic also reads numbers ("0" → 1970-01-01) and datetimes as dates; a day is YYYY-MM-DD
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("expected a day YYYY-MM-DD in the years 1970 to 2999")
    return value


#: A calendar day, written YYYY-MM-DD and nothing else, in the years 1970–2999.
Day = Annotated[
    date,
    BeforeValidator(_strict_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]


class MarketplaceOut(BaseModel):
    code: str = Field(examples=["JP"])
    marketplace_id: str = Field(examples=["A1VC38T7YXB528"])
    currency: str
    timezone: str
    sales_channel: str
    region: str
    name: str
    builtin: bool


@router.get(
    "/marketplaces",
    tags=["marketplaces"],
    summary="Marketplaces tsunagu knows",
    responses=documented(e404="Never for this route; any unknown path answers `not_found`."),
)
def list_marketplaces(registry: RegistryDep) -> list[MarketplaceOut]:
    """The built-in marketplaces and those of the configuration file. Not paged: the list is
    the installation's region table, a few dozen entries at most."""
    return [MarketplaceOut(**m.__dict__) for m in registry.marketplaces]


@router.post(
    "/sellers",
    status_code=201,
    tags=["sellers"],
    summary="Create a seller",
    responses=documented(
        413,
        e400="The body is not JSON (`invalid_json`).",
        e403="Called with an API token (`session_required`): sign in to create a seller.",
        e422="Invalid body (`validation_error`), a blank name (`invalid_name`) or one with a "
        "control character (`invalid_value`), no marketplace (`missing_marketplace`) or an "
        "unknown one (`unknown_marketplace`).",
    ),
)
def create_seller(
    body: SellerCreate,
    session: SessionDep,
    registry: RegistryDep,
    actor: SessionActorDep,
    request: Request,
) -> SellerOut:
    """A seller (a business) with one store per marketplace it sells in; the signed-in caller
    becomes its owner."""
    now = utcnow()
    seller = sellers_service.create_seller(
        session, name=body.name, marketplaces=body.marketplaces, registry=registry, now=now
    )
    assert actor.principal_id is not None
    access.grant_role(
        session,
        principal_id=actor.principal_id,
        seller_id=seller.id,
        role="owner",
        now=now,
        actor=actor.principal_id,
        client=client_of(request),
    )
    shown = SellerOut.of(seller)
    session.commit()
    return shown


@router.get(
    "/sellers",
    tags=["sellers"],
    summary="List sellers",
    responses=documented(
        e422="Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`)."
    ),
)
def list_sellers(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> SellerPage:
    """The sellers the caller may see, by id; page with `cursor`."""
    only = None if actor.sellers is None else sorted(actor.sellers)
    after = decode_cursor(cursor, 1)[0] if cursor else None
    rows = sellers_service.list_sellers(session, after=after, limit=limit + 1, only=only)
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return SellerPage(items=[SellerOut.of(s) for s in rows[:limit]], next_cursor=next_cursor)


@router.get(
    "/sellers/{seller_id}",
    tags=["sellers"],
    summary="One seller",
    responses=documented(422, e404="No such seller, or not yours (`seller_not_found`)."),
)
def get_seller(seller_id: SellerIdDep, session: SessionDep) -> SellerOut:
    """The seller with its stores (one per marketplace)."""
    return SellerOut.of(sellers_service.get_seller(session, seller_id))


@router.get(
    "/sellers/{seller_id}/orders",
    tags=["orders"],
    summary="A seller's orders",
    responses=documented(
        e404="No such seller (`seller_not_found`).",
        e422="Bad parameters, an unknown `marketplace` (`unknown_marketplace`) or `status` "
        "(`invalid_status`), or a cursor tsunagu did not make (`invalid_cursor`).",
    ),
)
def list_orders(
    seller_id: SellerIdDep,
    session: SessionDep,
    registry: RegistryDep,
    marketplace: Annotated[str | None, Query(max_length=20, examples=["JP"])] = None,
    status: Annotated[
        list[Annotated[str, WithJsonSchema({"type": "string", "enum": list(ORDER_STATUSES)})]]
        | None,
        Query(
            description="Only orders in these states; repeatable. Another value is 422 "
            "`invalid_status`."
        ),
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
    responses=documented(
        422,
        e404="No such seller (`seller_not_found`), marketplace (`unknown_marketplace`) or "
        "order in that store (`order_not_found`).",
    ),
)
def get_order(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    order_id: Annotated[str, Path(min_length=1, max_length=64, description="Amazon order id.")],
    session: SessionDep,
) -> OrderOut:
    """The order's current state, folded from its events."""
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
    Day | None,
    Query(description="Evaluation day YYYY-MM-DD (default: today in each store's time zone)."),
]


@router.get(
    "/sellers/{seller_id}/health",
    tags=["health"],
    summary="Account health of every store of a seller",
    responses=documented(422, e404="No such seller (`seller_not_found`)."),
)
def seller_health(
    seller_id: SellerIdDep, session: SessionDep, registry: RegistryDep, as_of: AsOf = None
) -> list[StoreHealthOut]:
    """One entry per store (not paged: a seller has one store per marketplace). Today's
    figures come from the daily rollups."""
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
    responses=documented(422, e404=STORE_404),
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
    responses=documented(422, e404=STORE_404),
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
    responses=documented(
        e404=STORE_404,
        e422="Bad parameters, or an unknown violation (`unknown_violation`).",
    ),
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
    responses=documented(422, e404=STORE_404),
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
    responses=documented(
        422,
        e404="No such seller, no store in that marketplace, or no imported report on or "
        "before `as_of` (`no_snapshot`).",
    ),
)
def store_compare(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: Annotated[
        Day | None,
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
        **documented(
            413,
            e400="The body is not JSON (`invalid_json`).",
            e404=STORE_404,
            e422="Not a report (`not_a_report`), no `performanceMetrics` "
            "(`no_performance_metrics`), no item for the marketplace "
            "(`marketplace_not_in_report`), no date (`no_report_date`) or a value of the wrong "
            "kind (`invalid_report_value`; `details.path` is its JSON path; an `ahrScore` is a "
            "whole number 0–1000), text or a key with a control character (`invalid_value`, "
            "with `details.path`), or a `filename` "
            "with control characters (`invalid_file_name`).",
        ),
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
    label = file_label(filename, fallback="amazon-health.json")
    raw = await request.body()

    def store() -> SnapshotImportOut:
        with unit_of_work(request.app.state.factory) as session:
            result = health_snapshots.import_snapshot(
                session,
                seller_id=seller_id,
                marketplace=marketplace,
                data=raw,
                source_name=label,
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
    responses=documented(
        e404=STORE_404,
        e422="Bad parameters, or a range outside 1–366 days (`invalid_range`).",
    ),
)
def store_history(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    start: Annotated[Day, Query(alias="from", description="First day YYYY-MM-DD.")],
    end: Annotated[Day, Query(alias="to", description="Last day YYYY-MM-DD (≤ 366 days).")],
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
        **documented(422, e404=STORE_404),
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


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


@router.get(
    "/sellers/{seller_id}/alerts",
    tags=["health"],
    summary="A seller's health alerts",
    responses=documented(
        e404="No such seller (`seller_not_found`).",
        e422="Bad parameters, an unknown `marketplace` (`unknown_marketplace`) or a cursor "
        "tsunagu did not make (`invalid_cursor`).",
    ),
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
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AlertPage:
    """Newest first. An alert is raised once when a metric comes within its alert margin of the
    target (ODR ≥ 0.75 %, late shipment ≥ 3 %, cancellation ≥ 2 %, valid tracking ≤ 96 %,
    contact response ≤ 92 % by default), when the rating drops into a lower band, or when the
    forecast shows it will within 30 days; it is cleared on the day its condition has ended.
    The daily `health.alerts` job records them (or `POST …/alerts/check`); reading never checks.
    Page with `cursor`."""
    code = registry.require(marketplace, InvalidInput).code if marketplace else None
    after = None
    if cursor:
        raised_on, alert_id = decode_cursor(cursor, 2)
        if not _DAY.fullmatch(raised_on):  # a day, as every cursor this route makes has
            raise InvalidInput(
                N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
            )
        after = (raised_on, alert_id)
    found = alert_service.list_alerts(
        session,
        seller_id=seller_id,
        marketplace=code,
        active_only=active,
        after=after,
        limit=limit + 1,
    )
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_cursor(found[-1].raised_on, found[-1].id)
    return AlertPage(items=[AlertOut.of(a) for a in found], next_cursor=next_cursor)


class AlertCheckOut(BaseModel):
    marketplace: str = Field(examples=["JP"])
    day: date = Field(description="The store's local day that was checked.")
    raised: list[AlertOut] = Field(description="Alerts whose condition started that day.")
    cleared: list[AlertOut] = Field(description="Alerts whose condition ended that day.")
    active: int = Field(description="Alerts of the store still active after the check.")


@router.post(
    "/sellers/{seller_id}/alerts/check",
    tags=["health"],
    summary="Check a seller's stores for health alerts now",
    responses=documented(
        e404="No such seller (`seller_not_found`), or no store in `marketplace` "
        "(`marketplace_not_enabled`).",
        e422="Bad parameters, or an unknown `marketplace` (`unknown_marketplace`).",
    ),
)
def check_alerts(
    seller_id: SellerIdDep,
    request: Request,
    registry: RegistryDep,
    marketplace: Annotated[
        str | None,
        Query(max_length=20, examples=["JP"], description="Only this marketplace's store."),
    ] = None,
    as_of: AsOf = None,
) -> list[AlertCheckOut]:
    """What `tsunagu health alerts --check` does before listing: evaluates each store (or the
    one in `marketplace`) on the day, records new alerts and clears ended ones. Checking the
    same day again changes nothing. One entry per store checked."""
    market = registry.require(marketplace, InvalidInput) if marketplace else None
    now = utcnow()
    with unit_of_work(request.app.state.factory) as session:
        if market is not None:
            found = [
                alert_service.check_alerts(
                    session, seller_id=seller_id, marketplace=market, day=as_of, now=now
                )
            ]
        else:
            found = alert_service.check_seller(
                session, seller_id=seller_id, registry=registry, day=as_of, now=now
            )
        return [
            AlertCheckOut(
                marketplace=f.marketplace,
                day=f.day,
                raised=[AlertOut.of(a) for a in f.raised],
                cleared=[AlertOut.of(a) for a in f.cleared],
                active=len(f.active),
            )
            for f in found
        ]


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
