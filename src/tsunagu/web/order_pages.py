"""A seller's orders: the filterable, paged list and one order's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tsunagu.core.i18n import N_, translate
from tsunagu.http.deps import SellerIdDep
from tsunagu.marketplaces.registry import Registry
from tsunagu.orders import service as orders_service
from tsunagu.orders.models import Message, Order, OrderCase
from tsunagu.sellers.service import get_seller
from tsunagu.web import labels
from tsunagu.web.render import PageRoute, page_language, render

router = APIRouter(route_class=PageRoute)

PAGE_SIZE = 50

_CASE_OPENED = {
    "claim": N_("A-to-z claim filed"),
    "chargeback": N_("Chargeback filed"),
    "return": N_("Return requested"),
}
_CASE_DECIDED = {
    "claim": N_("A-to-z claim decided"),
    "chargeback": N_("Chargeback decided"),
    "return": N_("Return resolved"),
}


@router.get("/sellers/{seller_id}/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    code = registry.require(marketplace).code if marketplace else None
    with request.app.state.read_factory() as session:
        seller = get_seller(session, seller_id)
        name, stores = seller.name, sorted(s.marketplace for s in seller.stores)
        rows, next_cursor = orders_service.list_orders(
            session,
            seller_id=seller_id,
            marketplace=code,
            statuses=[status] if status else (),
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
        orders = [_row(o, registry, lang) for o in rows]
    next_url = None
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        next_url = f"{url.path}?{url.query}"
    return render(
        request,
        "orders.html",
        seller_id=seller_id,
        seller_name=name,
        stores=stores,
        statuses=[(s, translate(label, lang)) for s, label in labels.ORDER_STATUSES.items()],
        chosen={"marketplace": code or "", "status": status or ""},
        orders=orders,
        next_url=next_url,
        first_page=not cursor,
    )


def _row(o: Order, registry: Registry, lang: str) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "marketplace": o.marketplace,
        "zone": registry.require(o.marketplace).tz,
        "purchased_at": o.purchased_at,
        "status": translate(labels.ORDER_STATUSES.get(o.status, o.status), lang),
        "channel": o.channel,
        "total": (o.items_total, o.currency),
        "feedback": o.feedback_rating,
    }


def timeline(
    order: Order, cases: list[OrderCase], messages: list[Message], lang: str
) -> list[dict[str, Any]]:
    """Everything that happened to the order, oldest first (stable for equal times)."""
    entries: list[tuple[datetime | None, str, str]] = [
        (order.purchased_at, "placed", translate(N_("Order placed"), lang)),
        (order.shipped_at, "shipped", _shipped(order, lang)),
        (order.first_scan_at, "scanned", translate(N_("First carrier scan"), lang)),
        (order.delivered_at, "delivered", translate(N_("Delivered"), lang)),
        (
            order.cancelled_at,
            "cancelled",
            translate(N_("Cancelled (by {by})"), lang, by=order.cancelled_by or "?"),
        ),
        (
            order.feedback_at,
            "feedback",
            translate(
                N_("Feedback removed ({rating} stars)")
                if order.feedback_removed
                else N_("Feedback: {rating} stars"),
                lang,
                rating=order.feedback_rating or "?",
            ),
        ),
        (order.invoice_uploaded_at, "invoice", translate(N_("Invoice uploaded"), lang)),
        (
            order.cs_answered_at,
            "survey",
            translate(
                N_("Customer service survey: satisfied")
                if order.cs_satisfied
                else N_("Customer service survey: not satisfied"),
                lang,
            ),
        ),
    ]
    for c in cases:
        detail = f" ({c.reason})" if c.reason else ""
        entries.append((c.opened_at, c.kind, translate(_CASE_OPENED[c.kind], lang) + detail))
        if c.decided_at is not None:
            outcome = f": {c.outcome}" if c.outcome else ""
            entries.append((c.decided_at, c.kind, translate(_CASE_DECIDED[c.kind], lang) + outcome))
    for m in messages:
        entries.append((m.received_at, "message", translate(N_("Buyer message received"), lang)))
        entries.append((m.answered_at, "message", translate(N_("Message answered"), lang)))
    dated = [(at, kind, text) for at, kind, text in entries if at is not None]
    dated.sort(key=lambda e: e[0])
    return [{"at": at, "kind": kind, "text": text} for at, kind, text in dated]


def _shipped(order: Order, lang: str) -> str:
    if order.tracking_id:
        return translate(
            N_("Shipped with {carrier}, tracking {tracking}"),
            lang,
            carrier=order.carrier or "?",
            tracking=order.tracking_id,
        )
    return translate(N_("Shipped without a tracking id"), lang)


@router.get("/sellers/{seller_id}/orders/{marketplace}/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, seller_id: SellerIdDep, marketplace: str, order_id: str
) -> HTMLResponse:
    lang = page_language(request)
    registry: Registry = request.app.state.registry
    mp = registry.require(marketplace)
    with request.app.state.read_factory() as session:
        name = get_seller(session, seller_id).name
        found = orders_service.order_detail(
            session, seller_id=seller_id, marketplace=mp.code, order_id=order_id
        )
        order = found.order
        events = timeline(order, found.cases, found.messages, lang)
        session.expunge_all()
    return render(
        request,
        "order.html",
        seller_id=seller_id,
        seller_name=name,
        order=order,
        status_label=translate(labels.ORDER_STATUSES.get(order.status, order.status), lang),
        zone=mp.tz,
        items=found.items,
        events=events,
    )
