"""Plain builders for tests: sellers in a database, and events as design.md's contract has them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from sqlalchemy import select

from tsunagu.access.service import grant_role
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.events import ingest
from tsunagu.identity.models import Principal
from tsunagu.sellers.service import create_seller

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
_ids = count(1)


def make_seller(
    db: Any, *, name: str = "Kyoto Tea Works", marketplaces: tuple[str, ...] = ("JP", "US")
) -> str:
    """A seller; when the signed-in test owner (``tests.auth.OWNER_EMAIL``) exists it owns the
    seller, as it would had it created the seller through the API."""
    with unit_of_work(db.factory) as session:
        seller = create_seller(
            session, name=name, marketplaces=marketplaces, registry=db.registry, now=NOW
        )
        owner = session.scalars(
            select(Principal.id).where(Principal.email == "owner@example.test")
        ).first()
        if owner is not None:
            grant_role(
                session,
                principal_id=owner,
                seller_id=seller.id,
                role="owner",
                now=NOW,
                actor="test",
            )
        return seller.id


def at(days: float = 0, base: datetime = NOW) -> str:
    return format_instant(base + timedelta(days=days))


def event(
    type_: str,
    seller: str,
    *,
    marketplace: str = "JP",
    when: str | None = None,
    event_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"t-{next(_ids)}",
        "type": type_,
        "seller": seller,
        "marketplace": marketplace,
        "at": when or at(-10),
        **fields,
    }


def placed(
    seller: str,
    order_id: str,
    *,
    marketplace: str = "JP",
    when: str | None = None,
    price: int = 1980,
    channel: str = "MFN",
    **fields: Any,
) -> dict[str, Any]:
    currency = "JPY" if marketplace == "JP" else "USD"
    return event(
        "order_placed",
        seller,
        marketplace=marketplace,
        when=when,
        order_id=order_id,
        channel=channel,
        currency=currency,
        items=[{"sku": "MATCHA-100", "quantity": 1, "price": price}],
        **fields,
    )


def ingest_events(
    db: Any, events: list[dict[str, Any]], *, now: datetime = NOW, chunk_size: int = 500
) -> None:
    """Feed events through the real import pipeline; every one must be accepted."""
    report = ingest.run(
        db.factory,
        lambda: enumerate(events, start=1),
        registry=db.registry,
        now=now,
        source_label="test",
        chunk_size=chunk_size,
    )
    assert report.rejected == 0, report.item_errors
