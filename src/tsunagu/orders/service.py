"""Reading the order projection. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.core.i18n import N_
from tsunagu.core.paging import instant, next_page, read_cursor, text
from tsunagu.orders import repo
from tsunagu.orders.models import Message, Order, OrderCase, OrderItem
from tsunagu.sellers.service import get_seller

STATUSES = ("unshipped", "shipped", "delivered", "cancelled")
#: the status names as sellers read them (marked for translation)
STATUS_LABELS = {
    "unshipped": N_("unshipped"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "cancelled": N_("cancelled"),
}


def list_orders(
    session: Session,
    *,
    seller_id: str,
    marketplace: str | None = None,
    statuses: Sequence[str] = (),
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Order], str | None]:
    """One page of a seller's orders, newest purchase first, and the cursor of the next page."""
    get_seller(session, seller_id)
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidInput(
            N_("Unknown order status {value}; use one of {choices}"),
            code="invalid_status",
            value=bad[0],
            choices=", ".join(STATUSES),
            details={"field": "status", "value": bad[0]},
        )
    rows = repo.list_orders(
        session,
        seller_id,
        marketplace=marketplace,
        statuses=statuses,
        after=read_cursor(cursor, instant, text, text),
        limit=limit + 1,
    )
    return next_page(rows, limit, lambda o: (o.purchased_at, o.marketplace, o.order_id))


def get_order(session: Session, *, seller_id: str, marketplace: str, order_id: str) -> Order:
    """One order of the seller's store in ``marketplace`` (``order_not_found`` if none)."""
    get_seller(session, seller_id)
    order = repo.get_order(session, seller_id, marketplace, order_id)
    if order is None:
        raise NotFound(
            N_("No order {order_id} in this store"),
            code="order_not_found",
            order_id=order_id,
            details={"order_id": order_id},
        )
    return order


@dataclass(frozen=True)
class OrderDetail:
    """An order with its item lines (by line number), cases and buyer messages."""

    order: Order
    items: list[OrderItem]
    cases: list[OrderCase]
    messages: list[Message]


def order_detail(
    session: Session, *, seller_id: str, marketplace: str, order_id: str
) -> OrderDetail:
    order = get_order(session, seller_id=seller_id, marketplace=marketplace, order_id=order_id)
    items, cases, messages = repo.order_children(session, seller_id, marketplace, order_id)
    return OrderDetail(order, items, cases, messages)
