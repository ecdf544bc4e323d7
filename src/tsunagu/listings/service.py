"""Offers: set a SKU's category and points rate, read a store's offers. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.text import is_printable
from tsunagu.listings import repo
from tsunagu.listings.models import Offer

#: the points rate an offer may carry, in percent
MAX_POINTS_RATE = 50
_UNSET = object()


def _check_rate(rate: int | None) -> None:
    if rate is None:
        return
    if isinstance(rate, bool) or not isinstance(rate, int) or not 0 <= rate <= MAX_POINTS_RATE:
        raise InvalidInput(
            N_("{field} must be a whole percentage from 0 to 50"),
            code="invalid_rate",
            field="rate",
            details={"field": "rate", "value": repr(rate)},
        )


def upsert_offer(
    session: Session,
    *,
    seller_id: str,
    marketplace: str,
    sku: str,
    now: datetime,
    category: str | object | None = _UNSET,
    points_rate: int | object | None = _UNSET,
) -> Offer:
    """Create the offer or change the fields given (a field not given keeps its value)."""
    sku = sku.strip()
    if not sku or len(sku) > 100 or not is_printable(sku):
        raise InvalidInput(
            N_("{field} must be 1 to {limit} printable characters"),
            code="invalid_sku",
            field="sku",
            limit=100,
            details={"field": "sku", "value": sku},
        )
    # every field is checked before anything is written
    if points_rate is not _UNSET:
        assert points_rate is None or isinstance(points_rate, int)
        _check_rate(points_rate)
    if category is not _UNSET:
        assert category is None or isinstance(category, str)
        if category is not None and (len(category) > 100 or not is_printable(category)):
            raise InvalidInput(
                N_("{field} must be a category name"),
                code="invalid_value",
                field="category",
                details={"field": "category"},
            )
    offer = repo.get(session, seller_id, marketplace, sku)
    if offer is None:
        offer = Offer(
            seller_id=seller_id,
            marketplace=marketplace,
            sku=sku,
            category=None,
            points_rate=None,
            created_at=now,
            updated_at=now,
        )
        session.add(offer)
    if points_rate is not _UNSET:
        assert points_rate is None or isinstance(points_rate, int)
        offer.points_rate = points_rate
    if category is not _UNSET:
        assert category is None or isinstance(category, str)
        offer.category = category.strip().lower() or None if category else None
    offer.updated_at = now
    session.flush()
    return offer


def offers_by_sku(
    session: Session, *, seller_id: str, marketplace: str, skus: Sequence[str]
) -> dict[str, Offer]:
    return repo.of_skus(session, seller_id, marketplace, skus)


def store_offers(session: Session, *, seller_id: str, marketplace: str) -> list[Offer]:
    return repo.all_of_store(session, seller_id, marketplace)
