"""Creating and reading sellers and their stores. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.core.text import control_character
from tsunagu.marketplaces.registry import Registry
from tsunagu.sellers.models import Seller, Store

MAX_NAME = 200


def create_seller(
    session: Session,
    *,
    name: str,
    marketplaces: Sequence[str],
    registry: Registry,
    now: datetime,
    seller_id: str | None = None,
) -> Seller:
    """A seller with one store per marketplace (``JP`` or ``A1VC38T7YXB528`` both accepted)."""
    clean = name.strip()
    if not clean:
        raise InvalidInput(
            N_("The seller name must not be empty"), code="invalid_name", details={"field": "name"}
        )
    if (
        control_character(clean) is not None
    ):  # API-10: PostgreSQL refuses NUL; ESC reaches terminals
        raise InvalidInput(
            N_("The seller name must not hold control characters"),
            code="invalid_value",
            details={"field": "name", "value": clean},
        )
    if len(clean) > MAX_NAME:
        raise InvalidInput(
            N_("The seller name is longer than {max} characters"),
            code="invalid_name",
            max=MAX_NAME,
            details={"field": "name"},
        )
    if not marketplaces:
        raise InvalidInput(
            N_("Give at least one marketplace"),
            code="missing_marketplace",
            details={"field": "marketplaces"},
        )
    codes: list[str] = []
    for key in marketplaces:
        market = registry.get(key)
        if market is None:  # a bad value in the request, not a missing resource
            raise InvalidInput(
                N_("Unknown marketplace {key}; known: {known}"),
                code="unknown_marketplace",
                key=key,
                known=", ".join(registry.codes),
                details={"field": "marketplaces", "value": key},
            )
        if market.code not in codes:
            codes.append(market.code)
    seller = Seller(id=seller_id or new_id("sel"), name=clean, created_at=now)
    seller.stores = [
        Store(id=new_id("sto"), seller_id=seller.id, marketplace=code, created_at=now)
        for code in codes
    ]
    session.add(seller)
    session.flush()
    return seller


def seller_not_found(seller_id: str) -> NotFound:
    """The one answer for a seller that does not exist or that the caller may not see."""
    return NotFound(
        N_("No seller with id {seller_id}"),
        code="seller_not_found",
        seller_id=seller_id,
        details={"seller_id": seller_id},
    )


def get_seller(session: Session, seller_id: str) -> Seller:
    seller = session.get(Seller, seller_id)
    if seller is None:
        raise seller_not_found(seller_id)
    return seller


def list_sellers(
    session: Session,
    *,
    after: str | None = None,
    limit: int = 100,
    only: Sequence[str] | None = None,
) -> list[Seller]:
    stmt = select(Seller).order_by(Seller.id).limit(limit)
    if after:
        stmt = stmt.where(Seller.id > after)
    if only is not None:
        stmt = stmt.where(Seller.id.in_(list(only)))
    return list(session.execute(stmt).scalars())


def require_store(session: Session, seller_id: str, marketplace: str) -> Store:
    """The seller's store in ``marketplace``: one indexed lookup (every health read starts
    here); only when it is missing is the seller looked up, to tell which error it is."""
    store = session.execute(
        select(Store).where(Store.seller_id == seller_id, Store.marketplace == marketplace)
    ).scalar_one_or_none()
    if store is not None:
        return store
    get_seller(session, seller_id)  # raises seller_not_found
    raise NotFound(
        N_("Seller {seller_id} has no store in marketplace {marketplace}"),
        code="marketplace_not_enabled",
        seller_id=seller_id,
        marketplace=marketplace,
        details={"seller_id": seller_id, "marketplace": marketplace},
    )
