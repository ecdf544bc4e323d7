"""The ``/v1`` routes of account health: each store's metrics and rating, its forecast, what-if
and history, Amazon's own reports beside tsunagu's figures, and the health alerts. Thin: check
access, call a health service, commit, shape the answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.types import DecoratedCallable
from pydantic import BeforeValidator, WithJsonSchema
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tsunagu.core import paging
from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.core.uploads import file_label
from tsunagu.enforcement import service as enforcement
from tsunagu.health import alert_service, incremental
from tsunagu.health import service as health_service
from tsunagu.health import snapshots as health_snapshots
from tsunagu.health.metrics import MetricResult
from tsunagu.health.rules import StoreHealth, Term
from tsunagu.health.schemas import (
    AlertCheckOut,
    AlertOut,
    AlertPage,
    CoverageOut,
    HealthComparisonOut,
    SnapshotImportOut,
    StoreForecastOut,
    StoreHealthOut,
    StoreHistoryOut,
    StoreWhatIfOut,
)
from tsunagu.http.deps import (
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    signed_in_router,
)
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented, json_answer
from tsunagu.marketplaces.registry import Marketplace

#: every route here needs a signed-in caller
router = signed_in_router()

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


AsOf = Annotated[
    Day | None,
    Query(description="Evaluation day YYYY-MM-DD (default: today in each store's time zone)."),
]

#: the path of one store's health; its other routes are below it
_STORE_PATH = "/sellers/{seller_id}/health/{marketplace}"


def _store_get(
    below: str, summary: str, **options: Any
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A GET route of one store's health at ``_STORE_PATH + below``; unless ``responses`` says
    otherwise it answers 404 for an unknown store and 422 for bad parameters."""
    options.setdefault("responses", documented(422, e404=STORE_404))
    return router.get(_STORE_PATH + below, tags=["health"], summary=summary, **options)


def _metric_summary(m: MetricResult) -> dict[str, Any]:
    return {
        "name": m.name,
        "numerator": m.numerator,
        "denominator": m.denominator,
        "rate": None if m.rate is None else float(m.rate),
        "target": float(m.target),
        "comparison": m.comparison,
        "status": m.status,
        "not_measurable": m.not_measurable,
        "window_from": m.window[0],
        "window_to": m.window[1],
        "components": dict(m.components),
        "ids": [],
        "average_response_hours": (
            None if m.average_response_hours is None else float(m.average_response_hours)
        ),
    }


def _term(t: Term) -> dict[str, Any]:
    return {
        "kind": t.kind,
        "points": t.points,
        "label": t.label,
        "violation_id": t.violation_id,
        "policy": t.policy,
        "severity": t.severity,
        "repeat": t.repeat,
        "opened_on": t.opened_on,
        "ages_out_on": t.ages_out_on,
        "orders": t.orders,
        "metric": t.metric,
    }


def health_summary(h: StoreHealth) -> dict[str, Any]:
    """``StoreHealthOut.of(h, with_ids=False)`` as plain values, key for key in the model's
    order: the summary routes send it through :func:`json_answer` (one serialisation, no model
    built and validated per request); their ``response_model`` documents the shape."""
    return {
        "seller_id": h.seller_id,
        "marketplace": h.marketplace,
        "day": h.day,
        "evaluated_at": h.evaluated_at,
        "fulfilled_orders": h.fulfilled_orders,
        "rating": {
            "score": h.rating.score,
            "band": h.rating.band,
            "profile": h.rating.profile,
            "terms": [_term(t) for t in h.rating.terms],
        },
        "metrics": [_metric_summary(m) for m in h.metrics.values()],
    }


def with_coverage(session: Session, h: StoreHealth, marketplace: Marketplace) -> dict[str, Any]:
    """:func:`health_summary` with the store's coverage and ``data_status`` (ADR 0033)."""
    found = health_service.coverage_for(session, h, marketplace)
    return health_summary(h) | {
        "data_status": found.data_status,
        "coverage": CoverageOut.of(found).model_dump(),
    }


@router.get(
    "/sellers/{seller_id}/health",
    tags=["health"],
    summary="Account health of every store of a seller",
    response_model=list[StoreHealthOut],
    responses=documented(422, e404="No such seller (`seller_not_found`)."),
)
def seller_health(
    seller_id: SellerIdDep, session: SessionDep, registry: RegistryDep, as_of: AsOf = None
) -> Response:
    """One entry per store (not paged: a seller has one store per marketplace). Today's
    figures come from the daily rollups."""
    found = incremental.seller_health_on(
        session, seller_id=seller_id, registry=registry, day=as_of, now=utcnow()
    )
    return json_answer([with_coverage(session, h, registry.require(h.marketplace)) for h in found])


@_store_get("", "Account health of one store", response_model=StoreHealthOut)
def store_health(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> Response:
    """The performance metrics and the Account Health Rating with every term explained. Today's
    figures come from the daily rollups; the ids behind each metric are listed by `/explain`."""
    found = incremental.store_health_on(
        session, seller_id=seller_id, marketplace=marketplace, day=as_of, now=utcnow()
    )
    return json_answer(with_coverage(session, found, marketplace))


@_store_get("/forecast", "The Account Health Rating day by day if nothing new happens")
def store_forecast(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
    days: Annotated[int, Query(ge=1, le=365, description="Days ahead (1–365).")] = 90,
) -> StoreForecastOut:
    """Violations age out and orders leave the 180-day window; no new orders or violations."""
    found = incremental.store_forecast(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
        days=days,
    )
    return StoreForecastOut.of(found)


@_store_get(
    "/what-if",
    "The Account Health Rating after hypothetical changes",
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
    found = incremental.store_what_if(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
        resolve=resolve or (),
        add_orders=add_orders,
    )
    return StoreWhatIfOut.of(found)


@_store_get("/report", "Account health shaped like Amazon's V2 seller performance report")
def store_report(
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    session: SessionDep,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """`accountStatuses` and `performanceMetrics[]` as in `GET_V2_SELLER_PERFORMANCE_REPORT`;
    rates are fractions, date ranges UTC; tsunagu's own metrics are under `tsunagu…` keys."""
    status = enforcement.reported_status(session, seller_id=seller_id, marketplace=marketplace.code)
    return health_service.store_report(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        day=as_of,
        now=utcnow(),
        account_status=status,
    )


@_store_get(
    "/compare",
    "Amazon's imported health report beside tsunagu's figures for the same date",
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
    _STORE_PATH + "/amazon-report",
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


@_store_get(
    "/history",
    "The Account Health Rating and main metrics day by day",
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
    days = incremental.store_history(
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


@_store_get(
    "/explain",
    "Every term of the Account Health Rating and the ids behind each metric",
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
    numerator, with the store's coverage as the health route gives it."""
    found = health_service.store_health(
        session, seller_id=seller_id, marketplace=marketplace, day=as_of, now=utcnow()
    )
    return StoreHealthOut.of(
        found, coverage=health_service.coverage_for(session, found, marketplace)
    )


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
    found = alert_service.list_alerts(
        session,
        seller_id=seller_id,
        marketplace=code,
        active_only=active,
        after=paging.read_cursor(cursor, paging.day, paging.text),
        limit=limit + 1,
    )
    page, next_cursor = paging.next_page(found, limit, lambda a: (a.raised_on, a.id))
    return AlertPage(items=[AlertOut.of(a) for a in page], next_cursor=next_cursor)


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
    with unit_of_work(request.app.state.factory) as session:
        found = alert_service.check_stores(
            session,
            seller_id=seller_id,
            registry=registry,
            marketplace=market,
            day=as_of,
            now=utcnow(),
        )
        return [AlertCheckOut.of(f) for f in found]
