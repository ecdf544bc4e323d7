"""``/v1`` routes of sellers and of the marketplaces they sell in."""

from __future__ import annotations

from fastapi import Request

from tsunagu.access import service as access
from tsunagu.core.clock import utcnow
from tsunagu.core.paging import next_page, read_cursor, text
from tsunagu.http.deps import (
    ActorDep,
    RegistryDep,
    SellerIdDep,
    SessionActorDep,
    SessionDep,
    client_of,
    signed_in_router,
)
from tsunagu.http.params import Cursor, Limit
from tsunagu.http.responses import documented
from tsunagu.sellers import service as sellers_service
from tsunagu.sellers.schemas import MarketplaceOut, SellerCreate, SellerOut, SellerPage

#: every route here needs a signed-in caller
router = signed_in_router()


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
        e422="Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`), a bare "
        "seller id included."
    ),
)
def list_sellers(
    session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> SellerPage:
    """The sellers the caller may see, by id; page with `cursor`. The cursor is opaque, like
    every list's: pass back `next_cursor` as it came."""
    only = None if actor.sellers is None else sorted(actor.sellers)
    after = read_cursor(cursor, text)
    rows = sellers_service.list_sellers(
        session, after=after[0] if after else None, limit=limit + 1, only=only
    )
    page, next_cursor = next_page(rows, limit, lambda s: (s.id,))
    return SellerPage(items=[SellerOut.of(s) for s in page], next_cursor=next_cursor)


@router.get(
    "/sellers/{seller_id}",
    tags=["sellers"],
    summary="One seller",
    responses=documented(422, e404="No such seller, or not yours (`seller_not_found`)."),
)
def get_seller(seller_id: SellerIdDep, session: SessionDep) -> SellerOut:
    """The seller with its stores (one per marketplace)."""
    return SellerOut.of(sellers_service.get_seller(session, seller_id))
