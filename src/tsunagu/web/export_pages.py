"""CSV downloads of the dashboard: a seller's orders, the records behind a metric and a store's
daily health history (ADR 0036).

The files open right in a spreadsheet (``core/csvfile.py``: UTF-8 with a BOM, formulas
defused); the header row and every status, band and defect are in the page's language; ids are
whole, money is a decimal with a currency column and times are ISO 8601 with the marketplace's
offset (``2026-11-25T12:04:00+09:00``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from tsunagu.core import csvfile
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import NotFound
from tsunagu.core.i18n import N_, translate
from tsunagu.core.money import exponent
from tsunagu.health import exports, service
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Registry
from tsunagu.orders.models import Order
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language
from tsunagu.web.session import private

router = APIRouter(route_class=PageRoute)

Cell = csvfile.Cell
_PERCENT = Decimal("0.01")

ORDER_COLUMNS = (
    N_("Order id"),
    N_("Store"),
    N_("Purchased"),
    N_("Status"),
    N_("Channel"),
    N_("Total"),
    N_("Tax"),
    N_("Refunded"),
    N_("Currency"),
    N_("Shipped at"),
    N_("Carrier"),
    N_("Tracking number"),
    N_("Delivered at"),
    N_("Cancelled at"),
    N_("Feedback (stars)"),
)


def iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    """An instant as ISO 8601 in the marketplace's time with its offset; ``None`` stays empty."""
    return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")


def decimal(amount: int, currency: str) -> Decimal:
    """Minor units as the decimal amount (1234 USD → 12.34, 1980 JPY → 1980)."""
    return Decimal(amount).scaleb(-exponent(currency))


def percent(rate: float | None) -> Decimal | None:
    """A rate as a percentage with two decimals (0.02222 → 2.22), as the pages show it."""
    if rate is None:
        return None
    return (Decimal(repr(rate)) * 100).quantize(_PERCENT, rounding=ROUND_HALF_EVEN)


def order_cells(o: Order, zone: ZoneInfo, lang: str) -> list[Cell]:
    return [
        o.order_id,
        o.marketplace,
        iso(o.purchased_at, zone),
        translate(labels.ORDER_STATUSES.get(o.status, o.status), lang),
        translate(labels.CHANNELS.get(o.channel, o.channel), lang),
        decimal(o.items_total, o.currency),
        decimal(o.tax_total, o.currency),
        decimal(o.refunded_total or 0, o.currency),
        o.currency,
        iso(o.shipped_at, zone),
        o.carrier,
        o.tracking_id,
        iso(o.delivered_at, zone),
        iso(o.cancelled_at, zone),
        o.feedback_rating,
    ]


def download(name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> StreamingResponse:
    """The CSV file as a download named ``name``."""
    response = StreamingResponse(csvfile.chunks(header, rows), media_type=csvfile.MEDIA_TYPE)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{quote(name)}\"; filename*=UTF-8''{quote(name)}"
    )
    return private(response)


def _orders(
    request: Request, seller_id: str, marketplace: str | None, status: str | None, name: str
) -> StreamingResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    code = registry.require(marketplace).code if marketplace else None
    with request.app.state.read_factory() as session:
        rows = [
            order_cells(o, registry.require(o.marketplace).tz, lang)
            for o in exports.all_orders(
                session, seller_id=seller_id, marketplace=code, statuses=[status] if status else ()
            )
        ]
    header = [translate(c, lang) for c in ORDER_COLUMNS]
    return download(name, header, rows)


@router.get("/sellers/{seller_id}/orders.csv")
def seller_orders_csv(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> StreamingResponse:
    """The seller's orders with the order list's filters, every page of them."""
    suffix = f"-{marketplace}" if marketplace else ""
    return _orders(request, seller_id, marketplace, status, f"{seller_id}{suffix}-orders.csv")


@router.get("/sellers/{seller_id}/stores/{marketplace}/orders.csv")
def store_orders_csv(
    request: Request, seller_id: SellerIdDep, marketplace: str
) -> StreamingResponse:
    """Every order of one store."""
    registry: Registry = request.app.state.registry
    code = registry.require(marketplace).code
    return _orders(request, seller_id, code, None, f"{seller_id}-{code}-orders.csv")


def _record_header(kind: str) -> str:
    return {"message": N_("Message"), "return": N_("Return")}.get(kind, N_("Order"))


@router.get("/sellers/{seller_id}/stores/{marketplace}/metrics/{name}/defects.csv")
def defects_csv(
    request: Request, seller_id: SellerIdDep, marketplace: str, name: str
) -> StreamingResponse:
    """The records that count against the metric today, one line per defect: the record, its
    order, what went wrong (in words, with the reason where known) and when."""
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    with request.app.state.read_factory() as session:
        found = service.metric_drill_down(
            session, seller_id=seller_id, marketplace=mp, name=name, now=utcnow()
        )
    if found is None:
        raise NotFound(N_("No metric {name}"), code="metric_not_found", name=name)
    kind = labels.ID_KINDS.get(name, "order")
    header = [translate(_record_header(kind), lang)]
    if kind != "order":
        header.append(translate(N_("Order"), lang))
    header += [
        translate(N_("Defect"), lang),
        translate(N_("Reason"), lang),
        translate(N_("Date"), lang),
    ]
    rows: list[list[Cell]] = []
    for row in found.rows:
        for reason in row.reasons:
            cells: list[Cell] = [row.id]
            if kind != "order":
                cells.append(row.order_id)
            detail = labels.DEFECT_DETAILS.get(reason.detail or "")
            cells += [
                translate(labels.DEFECTS.get(reason.kind, N_("Other defect")), lang),
                translate(detail, lang) if detail else None,
                iso(reason.at, mp.tz),
            ]
            rows.append(cells)
    return download(f"{seller_id}-{mp.code}-{name}-defects.csv", header, rows)


@router.get("/sellers/{seller_id}/stores/{marketplace}/history.csv")
def history_csv(request: Request, seller_id: SellerIdDep, marketplace: str) -> StreamingResponse:
    """The store's health for each day of the last year since its first day with data: the
    rating, the band and every metric's value in percent."""
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    with request.app.state.read_factory() as session:
        points = exports.health_history(session, seller_id=seller_id, marketplace=mp, now=utcnow())
    names = list(labels.METRICS)
    header = [
        translate(N_("Day"), lang),
        translate(N_("Rating"), lang),
        translate(N_("Band"), lang),
    ]
    header += [
        translate(N_("{metric} (%)"), lang, metric=translate(labels.METRICS[n], lang))
        for n in names
    ]
    rows: list[list[Cell]] = [
        [
            day.isoformat(),
            score,
            translate(labels.BANDS.get(band, band), lang),
            *(percent(rates.get(n)) for n in names),
        ]
        for day, score, band, rates in points
    ]
    return download(f"{seller_id}-{mp.code}-history.csv", header, rows)
