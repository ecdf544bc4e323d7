"""The points lifecycle from order events to the ledger, with the issue's worked examples
(issue 15; LED-02, LED-04, LED-05, LED-06). Run on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import event, ingest_events, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.points import service
from tsunagu.points.jobs import run_expiry, settle
from tsunagu.points.models import PointsEntry
from tsunagu.points.redemptions import Clock, RedemptionRequest, redeem
from tsunagu.settlement.models import SettlementEntry

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def order(
    seller: str,
    order_id: str,
    items: list[dict[str, Any]],
    *,
    when: datetime = T0,
    customer: str = "cust-1",
    **fields: Any,
) -> dict[str, Any]:
    return event(
        "order_placed",
        seller,
        when=iso(when),
        order_id=order_id,
        channel="MFN",
        currency="JPY",
        items=items,
        customer_id=customer,
        **fields,
    )


def shipped(seller: str, order_id: str, when: datetime) -> dict[str, Any]:
    return event("order_shipped", seller, when=iso(when), order_id=order_id)


def run(db: Any, as_of: datetime) -> dict[str, Any]:
    with unit_of_work(db.factory) as session:
        return settle(session, registry=db.registry, as_of=as_of)


def bal(db: Any, customer: str = "cust-1") -> service.Balance:
    with unit_of_work(db.factory) as session:
        return service.balance(session, marketplace=db.registry.require("JP"), customer=customer)


def check_conservation(db: Any) -> None:
    with unit_of_work(db.factory) as session:
        found = service.reconcile(session)
    assert found.ok, found


@pytest.fixture
def seller(db: Any) -> str:
    return make_seller(db, marketplaces=("JP", "US"))


def test_ten_percent_refund_returns_twenty_points(db: Any, seller: str) -> None:
    """¥1,000 at 20% earns 200 pt; a ¥100 refund (10%) returns 20 pt (amazon-domain §6)."""
    with unit_of_work(db.factory) as session:
        service.set_rate(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            rate=20,
            sku=None,
            actor="test",
            now=T0,
        )
    ingest_events(
        db,
        [
            order(seller, "O-1", [{"sku": "A", "quantity": 1, "price": 1000}]),
            shipped(seller, "O-1", T0 + timedelta(hours=5)),
        ],
        now=T0 + timedelta(hours=6),
    )
    run(db, T0 + timedelta(hours=6))
    assert bal(db).pending == 200
    assert bal(db).available == 0
    run(db, T0 + timedelta(hours=29))  # shipped + 24 h
    assert (bal(db).pending, bal(db).available) == (0, 200)
    ingest_events(
        db,
        [
            event(
                "refund_issued",
                seller,
                when=iso(T0 + timedelta(days=3)),
                order_id="O-1",
                amount=100,
            )
        ],
        now=T0 + timedelta(days=3),
    )
    run(db, T0 + timedelta(days=3))
    assert bal(db).available == 180
    with unit_of_work(db.factory) as session:
        costs = session.execute(
            select(SettlementEntry.key, SettlementEntry.amount).where(
                SettlementEntry.source == "points"
            )
        ).all()
    by_key = {k.split(":")[0]: a for k, a in costs}
    assert by_key["points_cost"] == -200
    assert by_key["points_return"] == 20
    check_conservation(db)


def test_cancel_before_ship_voids_and_redeem_spends_once(db: Any, seller: str) -> None:
    ingest_events(
        db,
        [
            order(seller, "O-2", [{"sku": "A", "quantity": 1, "price": 5000}]),
            event(
                "order_cancelled",
                seller,
                when=iso(T0 + timedelta(hours=1)),
                order_id="O-2",
                by="buyer",
            ),
        ],
        now=T0 + timedelta(hours=2),
    )
    run(db, T0 + timedelta(days=2))
    assert (bal(db).pending, bal(db).available) == (0, 0)
    with unit_of_work(db.factory) as session:
        kinds = [e.kind for e in session.scalars(select(PointsEntry).order_by(PointsEntry.id))]
    assert kinds == ["grant_pending", "void"]
    ingest_events(
        db,
        [
            order(
                seller,
                "O-3",
                [{"sku": "A", "quantity": 1, "price": 5000}],
                when=T0 + timedelta(days=1),
            ),
            shipped(seller, "O-3", T0 + timedelta(days=1, hours=2)),
        ],
        now=T0 + timedelta(days=2),
    )
    run(db, T0 + timedelta(days=3))
    assert bal(db).available == 50
    request = RedemptionRequest(db.registry.require("JP"), "cust-1", "O-9", 30, "k-1")
    # the redemption's clock is the test's: these points expire a year after March 2026
    clock = Clock(now=lambda: T0 + timedelta(days=4))
    first = redeem(db.factory, request, clock=clock)
    again = redeem(db.factory, request, clock=clock)
    assert first.body == again.body
    assert again.replayed
    assert bal(db).available == 20
    check_conservation(db)


def test_expiry_one_year_after_last_activity(db: Any, seller: str) -> None:
    ingest_events(
        db,
        [
            order(seller, "O-4", [{"sku": "A", "quantity": 1, "price": 10000}]),
            shipped(seller, "O-4", T0),
        ],
        now=T0,
    )
    run(db, T0 + timedelta(days=1))
    b = bal(db)
    assert b.available == 100
    assert b.expires_at == T0 + timedelta(days=1) + timedelta(days=365)
    with unit_of_work(db.factory) as session:
        done = run_expiry(session, registry=db.registry, as_of=b.expires_at - timedelta(seconds=1))
    assert done["expired_points"] == 0
    assert bal(db).available == 100
    with unit_of_work(db.factory) as session:
        done = run_expiry(session, registry=db.registry, as_of=b.expires_at)
    assert done["expired_points"] == 100
    with unit_of_work(db.factory) as session:
        again = run_expiry(session, registry=db.registry, as_of=b.expires_at)
    assert again["expired_points"] == 0
    assert bal(db).available == 0
    check_conservation(db)
