"""``/v1`` routes of the settlement slice: a store's balance, hold and schedule, and its ledger.

Reading syncs the store's ledger with its events first (a write), so these routes open a
writing session of their own although they answer GET. The settlement report is imported at
``POST /v1/sellers/{seller_id}/imports/{marketplace}/amazon-settlement`` with the other Amazon
files (``events/api.py``).
"""

from __future__ import annotations

from fastapi import Request

from tsunagu.core.clock import utcnow
from tsunagu.core.db import unit_of_work
from tsunagu.core.paging import next_page, read_cursor
from tsunagu.http.deps import MarketplaceDep, SellerIdDep, get_factory, signed_in_router
from tsunagu.http.params import STORE_404, Cursor, Limit
from tsunagu.http.responses import documented
from tsunagu.settlement import service
from tsunagu.settlement.schemas import EntryOut, EntryPage, SettlementOut

#: every route here needs a signed-in caller
router = signed_in_router()


@router.get(
    "/sellers/{seller_id}/stores/{marketplace}/settlement",
    tags=["settlement"],
    summary="A store's settlement balance, hold and next disbursement",
    responses=documented(422, e404=STORE_404),
)
def get_settlement(
    request: Request, seller_id: SellerIdDep, marketplace: MarketplaceDep
) -> SettlementOut:
    """The balance (minor units), whether funds are held (and until when), the next
    disbursement date and the last one."""
    with unit_of_work(get_factory(request)) as session:
        found = service.store_settlement(
            session, seller_id=seller_id, marketplace=marketplace, now=utcnow()
        )
        return SettlementOut.of(found)


def _entry_id(value: str) -> int:
    if not value.isdecimal() or len(value) > 19:
        raise ValueError("not an entry id")
    return int(value)


@router.get(
    "/sellers/{seller_id}/stores/{marketplace}/settlement/entries",
    tags=["settlement"],
    summary="A store's settlement ledger",
    responses=documented(
        e404=STORE_404,
        e422="Bad parameters (`validation_error`) or a cursor tsunagu did not make "
        "(`invalid_cursor`).",
    ),
)
def list_entries(
    request: Request,
    seller_id: SellerIdDep,
    marketplace: MarketplaceDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> EntryPage:
    """The ledger's entries, newest first; page with `cursor`."""
    after = read_cursor(cursor, _entry_id)
    with unit_of_work(get_factory(request)) as session:
        rows = service.ledger(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            now=utcnow(),
            before_id=after[0] if after else None,
            limit=limit + 1,
        )
        page, next_cursor = next_page(rows, limit, lambda e: (str(e.id),))
        return EntryPage(items=[EntryOut.of(e) for e in page], next_cursor=next_cursor)
