"""What the dashboard's CSV downloads hold: every order of a store, and a store's daily health
since its first day with data. The words and the file format are the page's (``web/``); this
module reads. Writes nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.health import incremental
from tsunagu.health.history import since_first_data
from tsunagu.health.service import HISTORY_MAX_DAYS
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.orders import service as orders_service
from tsunagu.orders.models import Order

#: orders read per query while a download is assembled
ORDERS_PAGE = 1000


def all_orders(
    session: Session,
    *,
    seller_id: str,
    marketplace: str | None,
    statuses: Sequence[str] = (),
) -> Iterator[Order]:
    """Every order of the seller (of one store when ``marketplace`` is given, with one of
    ``statuses`` when any), newest purchase first, read a page at a time while the caller
    iterates (inside its session); an unknown seller or status fails on the first read."""
    cursor: str | None = None
    while True:
        rows, cursor = orders_service.list_orders(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            statuses=statuses,
            cursor=cursor,
            limit=ORDERS_PAGE,
        )
        yield from rows
        if cursor is None:
            return


def health_history(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    days: int = HISTORY_MAX_DAYS,
) -> list[incremental.Point]:
    """The store's rating, band and metric rates for each of the last ``days`` days up to
    today, from its first day with data on (:func:`~tsunagu.health.history.since_first_data`)."""
    points = incremental.history_points(
        session, seller_id=seller_id, marketplace=marketplace, days=days, now=now
    )
    return since_first_data(points)
