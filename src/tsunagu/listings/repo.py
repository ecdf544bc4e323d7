"""Offers SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.listings.models import Offer


def get(session: Session, seller_id: str, marketplace: str, sku: str) -> Offer | None:
    return session.get(Offer, (seller_id, marketplace, sku))


def of_skus(
    session: Session, seller_id: str, marketplace: str, skus: Sequence[str]
) -> dict[str, Offer]:
    if not skus:
        return {}
    rows = session.scalars(
        select(Offer).where(
            Offer.seller_id == seller_id,
            Offer.marketplace == marketplace,
            Offer.sku.in_(sorted(set(skus))),
        )
    )
    return {o.sku: o for o in rows}


def of_store(
    session: Session, seller_id: str, marketplace: str, *, after: str | None, limit: int
) -> list[Offer]:
    query = select(Offer).where(Offer.seller_id == seller_id, Offer.marketplace == marketplace)
    if after is not None:
        query = query.where(Offer.sku > after)
    return list(session.scalars(query.order_by(Offer.sku).limit(limit)))


def all_of_store(session: Session, seller_id: str, marketplace: str) -> list[Offer]:
    return list(
        session.scalars(
            select(Offer)
            .where(Offer.seller_id == seller_id, Offer.marketplace == marketplace)
            .order_by(Offer.sku)
        )
    )
