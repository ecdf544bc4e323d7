"""A seller's orders: the filterable, paged list and one order's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from tsunagu.core.i18n import N_, ngettext, translate
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
        "status": status_label(o.status, lang),
        "channel": channel_label(o.channel, lang),
        "total": (o.items_total, o.currency),
        "feedback": stars(o.feedback_rating, lang) if o.feedback_rating else None,
    }


def status_label(status: str, lang: str) -> str:
    """An order's status in words ("Shipped"); a status tsunagu has no words for is "Other"."""
    return translate(labels.ORDER_STATUSES.get(status, N_("Other status")), lang)


def channel_label(channel: str, lang: str) -> str:
    return translate(labels.CHANNELS.get(channel, N_("Other channel")), lang)


def stars(rating: int, lang: str) -> str:
    """ "1 star", "4 stars" (星1つ …)."""
    return ngettext("{n} star", "{n} stars", rating, lang)


def _words(table: dict[str, str], code: str | None, lang: str) -> str | None:
    """The words for ``code`` from ``table``; ``None`` for no code or one without words."""
    if not code or code not in table:
        return None
    return translate(table[code], lang)


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
            _cancelled(order, lang),
        ),
        (
            order.feedback_at,
            "feedback",
            _feedback(order, lang),
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
        opened = translate(_CASE_OPENED.get(c.kind, N_("Case opened")), lang)
        reason = _words(labels.DEFECT_DETAILS, c.reason, lang)
        if reason:
            opened = translate(N_("{event} ({reason})"), lang, event=opened, reason=reason)
        entries.append((c.opened_at, c.kind, opened))
        if c.decided_at is not None:
            decided = translate(_CASE_DECIDED.get(c.kind, N_("Case decided")), lang)
            outcome = _words(labels.CASE_OUTCOMES, c.outcome, lang)
            if outcome:
                decided = translate(N_("{event}: {outcome}"), lang, event=decided, outcome=outcome)
            entries.append((c.decided_at, c.kind, decided))
    for m in messages:
        entries.append((m.received_at, "message", translate(N_("Buyer message received"), lang)))
        entries.append((m.answered_at, "message", translate(N_("Message answered"), lang)))
    dated = [(at, kind, text) for at, kind, text in entries if at is not None]
    dated.sort(key=lambda e: e[0])
    return [{"at": at, "kind": kind, "text": text} for at, kind, text in dated]


def _cancelled(order: Order, lang: str) -> str:
    """ "Cancelled by the seller: out of stock" and the like."""
    by = _words(labels.CANCELLED_BY, order.cancelled_by, lang)
    text = (
        translate(N_("Cancelled ({by})"), lang, by=by) if by else translate(N_("Cancelled"), lang)
    )
    reason = _words(labels.DEFECT_DETAILS, order.cancel_reason, lang)
    if reason:
        text = translate(N_("{event}: {reason}"), lang, event=text, reason=reason)
    return text


def _feedback(order: Order, lang: str) -> str:
    rating = order.feedback_rating
    if rating is None:
        return translate(N_("Feedback received"), lang)
    if order.feedback_removed:
        return translate(N_("Feedback removed ({stars})"), lang, stars=stars(rating, lang))
    return translate(N_("Feedback: {stars}"), lang, stars=stars(rating, lang))


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
        status_label=status_label(order.status, lang),
        channel_label=channel_label(order.channel, lang),
        zone=mp.tz,
        items=found.items,
        events=events,
    )
