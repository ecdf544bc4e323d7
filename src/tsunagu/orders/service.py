"""Reading the order projection. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.paging import decode_cursor, encode_cursor
from tsunagu.core.timeutil import format_instant, parse_instant
from tsunagu.orders import repo
from tsunagu.orders.models import Order
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
    after = None
    if cursor:
        at, mp, oid = decode_cursor(cursor, 3)
        try:
            after = (parse_instant(at), mp, oid)
        except ValueError as exc:
            raise InvalidInput(
                N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
            ) from exc
    rows = repo.list_orders(
        session, seller_id, marketplace=marketplace, statuses=statuses, after=after, limit=limit + 1
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            format_instant(last.purchased_at), last.marketplace, last.order_id
        )
    return rows, next_cursor
