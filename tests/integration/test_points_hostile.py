"""Hostile text in what the points pages, routes and commands pass on (the checklist's item on
input): a control character in a customer id, a SKU or a category never reaches the database,
where PostgreSQL would refuse a NUL with an error instead of an answer. On both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.factories import make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.points import service

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("customer", ["a\x00b", "line\nbreak", "\u200b"])
def test_a_customer_id_with_a_control_character_is_no_customer(db: Any, customer: str) -> None:
    jp = db.registry.require("JP")
    with unit_of_work(db.factory) as session:
        found = service.balance(session, marketplace=jp, customer=customer)
        assert (found.pending, found.available, found.expires_at) == (0, 0, None)
        assert service.history(session, marketplace=jp, customer=customer) == []
        with pytest.raises(InvalidInput) as refused:
            service.earn(
                session,
                marketplace=jp,
                customer=customer,
                points=10,
                source="card",
                key="k-1",
                now=NOW,
            )
        assert refused.value.code == "invalid_value"


@pytest.mark.parametrize(
    ("sku", "category", "code"),
    [("SKU\x00", None, "invalid_sku"), ("SKU-1", "tea\x00", "invalid_value")],
)
def test_a_sku_or_category_with_a_nul_is_refused(
    db: Any, sku: str, category: str | None, code: str
) -> None:
    seller = make_seller(db)
    jp = db.registry.require("JP")
    with pytest.raises(InvalidInput) as refused, unit_of_work(db.factory) as session:
        service.set_rate(
            session,
            seller_id=seller,
            marketplace=jp,
            rate=5,
            sku=sku,
            category=category,
            actor="test",
            now=NOW,
        )
    assert refused.value.code == code
    with unit_of_work(db.factory) as session:
        assert service.offers(session, seller_id=seller, marketplace=jp) == []
