"""``/v1`` routes of a seller's orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import WithJsonSchema

from tsunagu.core.errors import InvalidInput
from tsunagu.http.deps import (
    MarketplaceDep,
    RegistryDep,
    SellerIdDep,
    SessionDep,
    signed_in_router,
)
from tsunagu.http.params import Cursor, Limit
from tsunagu.http.responses import documented
from tsunagu.orders import service as orders_service
from tsunagu.orders.schemas import OrderOut, OrderPage
from tsunagu.orders.service import STATUSES as ORDER_STATUSES

#: every route here needs a signed-in caller
router = signed_in_router()


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
    found = orders_service.get_order(
        session, seller_id=seller_id, marketplace=marketplace.code, order_id=order_id
    )
    return OrderOut.of(found)
