"""Rows that come before their order are kept and attached when it arrives (issue 16 item 2,
ADR 0030), on SQLite and PostgreSQL.

Importing file B before file A must end exactly where A before B ends: the orders, their lines
and cases, the health figures, the settlement ledger and the points ledger.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from tests.conftest import Db
from tests.factories import event, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.events import ingest
from tsunagu.events import repo as events_repo
from tsunagu.events.imports import FileImport, import_file
from tsunagu.health import service as health_service
from tsunagu.points.jobs import settle
from tsunagu.points.models import PointsGrant
from tsunagu.settlement import service as settlement

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def feed(db: Db, events: list[dict[str, Any]], now: datetime = NOW) -> ingest.Report:
    return ingest.run(
        db.factory,
        lambda: enumerate(events, start=1),
        registry=db.registry,
        now=now,
        source_label="test",
        chunk_size=4,
    )


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def store_state(db: Db, seller: str) -> dict[str, list[tuple[Any, ...]]]:
    """The projection of one seller's orders with the seller's id left out, so that two
    sellers fed the same events in different orders can be compared."""
    tables = {
        "orders": "SELECT * FROM orders WHERE seller_id = :s ORDER BY marketplace, order_id",
        "items": "SELECT * FROM order_items WHERE seller_id = :s ORDER BY 1, 2, 3, 4",
        "cases": "SELECT * FROM order_cases WHERE seller_id = :s ORDER BY 1, 2, 3, 4",
    }
    found = {}
    with db.engine.connect() as conn:
        for name, sql in tables.items():
            rows = conn.execute(text(sql), {"s": seller}).mappings()
            found[name] = [tuple(v for k, v in r.items() if k != "seller_id") for r in rows]
    return found


def for_seller(events: list[dict[str, Any]], seller: str) -> list[dict[str, Any]]:
    return [{**e, "seller": seller} for e in events]


def order_story(order_id: str, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """An order and some of what may follow it: shipment, feedback, claim, refund, cancel."""
    s = "sel_x"
    events = [
        event(
            "order_placed",
            s,
            when=iso(start),
            order_id=order_id,
            channel="MFN",
            currency="JPY",
            latest_ship_date=iso(start + timedelta(days=2)),
            items=[{"sku": "TEA-1", "quantity": 1, "price": 1500}],
        )
    ]
    if rng.random() < 0.2:
        events.append(
            event(
                "order_cancelled",
                s,
                when=iso(start + timedelta(hours=3)),
                order_id=order_id,
                by="seller",
                reason="out_of_stock",
            )
        )
        return events
    shipped = start + timedelta(days=rng.choice([1, 3]))
    events.append(
        event("order_shipped", s, when=iso(shipped), order_id=order_id, tracking_id=f"T{order_id}")
    )
    if rng.random() < 0.5:
        events.append(
            event(
                "feedback_posted",
                s,
                when=iso(shipped + timedelta(days=2)),
                order_id=order_id,
                rating=rng.choice([1, 2, 5]),
            )
        )
    if rng.random() < 0.3:
        events.append(
            event(
                "claim_filed",
                s,
                when=iso(shipped + timedelta(days=5)),
                order_id=order_id,
                claim_id=f"C{order_id}",
                reason="not_received",
            )
        )
    if rng.random() < 0.3:
        events.append(
            event(
                "refund_issued",
                s,
                when=iso(shipped + timedelta(days=6)),
                order_id=order_id,
                amount=500,
            )
        )
    return events


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), orders=st.integers(1, 6))
def test_b_before_a_ends_where_a_before_b_ends(db: Db, seed: int, orders: int) -> None:
    """Any split of the events into two files, imported in either order, gives the same
    orders, lines and cases: what waited for its order joined it."""
    rng = random.Random(seed)
    story: list[dict[str, Any]] = []
    for n in range(orders):
        story += order_story(f"503-{seed % 1000:03d}{n}", NOW - timedelta(days=20 - n), rng)
    first = [e for e in story if rng.random() < 0.5]
    second = [e for e in story if e not in first]
    ab, ba = make_seller(db, name="AB"), make_seller(db, name="BA")
    for part in (first, second):
        assert feed(db, for_seller(part, ab)).rejected == 0
    waiting = 0
    for part in (second, first):
        report = feed(db, for_seller(part, ba))
        assert report.rejected == 0
        waiting = report.waiting_for_order
    assert waiting == 0  # the last file brought every order the first one was waiting for
    assert store_state(db, ab) == store_state(db, ba)
    with db.session() as s:
        assert events_repo.waiting_for_order(s, ab, "JP") == 0
        assert events_repo.waiting_for_order(s, ba, "JP") == 0


def test_a_feedback_before_its_order_waits_and_then_counts(db: Db) -> None:
    seller = make_seller(db)
    bad = event(
        "feedback_posted", seller, when=iso(NOW - timedelta(days=3)), order_id="503-9", rating=1
    )
    report = feed(db, [bad])
    assert (report.stored, report.rejected, report.waiting_for_order) == (1, 0, 1)
    with db.session() as s:
        assert events_repo.waiting_for_order(s, seller, "JP") == 1
    assert store_state(db, seller)["orders"] == []
    again = feed(db, [bad])  # the same file again: still waiting, nothing new
    assert (again.stored, again.duplicates, again.waiting_for_order) == (0, 1, 1)
    placed = event(
        "order_placed",
        seller,
        when=iso(NOW - timedelta(days=5)),
        order_id="503-9",
        channel="MFN",
        currency="JPY",
        items=[{"sku": "TEA-1", "quantity": 1, "price": 1500}],
    )
    assert feed(db, [placed]).waiting_for_order == 0
    with db.session() as s:
        assert events_repo.waiting_for_order(s, seller, "JP") == 0
        row = s.execute(
            text("SELECT feedback_rating FROM orders WHERE seller_id = :s"), {"s": seller}
        ).one()
    assert row[0] == 1


def _amazon(db: Db, seller: str, kind: str, name: str) -> dict[str, Any]:
    found = import_file(
        db.factory,
        FileImport(
            f"amazon-{kind}",
            DATA / name,
            name,
            seller_id=seller,
            marketplace=db.registry.require("US"),
        ),
        registry=db.registry,
        clock=lambda: datetime(2026, 10, 20, tzinfo=UTC),
    )
    return found.report


def test_amazon_feedback_and_unshipped_before_the_orders_report(db: Db) -> None:
    """The Feedback and Unshipped reports imported before the All Orders report end where
    they end after it; the import summary says how many rows wait for their order."""
    after, before = make_seller(db, name="After"), make_seller(db, name="Before")
    _amazon(db, after, "orders", "all-orders-us.txt")
    _amazon(db, after, "feedback", "feedback-us.txt")
    _amazon(db, after, "unshipped", "unshipped-us.txt")
    feedback = _amazon(db, before, "feedback", "feedback-us.txt")
    unshipped = _amazon(db, before, "unshipped", "unshipped-us.txt")
    assert feedback["rejected"] == unshipped["rejected"] == 0
    assert feedback["waiting_for_order"] == feedback["stored"] == 5
    assert unshipped["waiting_for_order"] == unshipped["stored"] == 5
    orders = _amazon(db, before, "orders", "all-orders-us.txt")
    assert orders["waiting_for_order"] == 0
    assert store_state(db, before) == store_state(db, after)
    with db.session() as s:
        # the order in no orders file, and the one still pending, keep waiting on both sides
        assert events_repo.waiting_for_order(s, before, "US") == events_repo.waiting_for_order(
            s, after, "US"
        )
        us = db.registry.require("US")
        now = datetime(2026, 10, 20, tzinfo=UTC)
        h_after = health_service.store_health(s, seller_id=after, marketplace=us, day=None, now=now)
        h_before = health_service.store_health(
            s, seller_id=before, marketplace=us, day=None, now=now
        )
    figures = {k: (m.numerator, m.denominator, m.status) for k, m in h_after.metrics.items()}
    assert {
        k: (m.numerator, m.denominator, m.status) for k, m in h_before.metrics.items()
    } == figures
    assert h_before.rating.score == h_after.rating.score


def test_a_shipment_before_its_order_still_sells_and_earns_points(db: Db) -> None:
    """The settlement and points syncs read events by a cursor; events that waited for their
    order are replayed when it arrives, so the sale is posted and the points settle."""
    seller = make_seller(db)
    placed_at = NOW - timedelta(days=4)
    shipped_at = NOW - timedelta(days=3)
    ship = event("order_shipped", seller, when=iso(shipped_at), order_id="503-77")
    place = event(
        "order_placed",
        seller,
        when=iso(placed_at),
        order_id="503-77",
        channel="MFN",
        currency="JPY",
        customer_id="buyer-1",
        items=[{"sku": "TEA-1", "quantity": 1, "price": 2000}],
    )
    jp = db.registry.require("JP")
    assert feed(db, [ship]).waiting_for_order == 1
    with unit_of_work(db.factory) as s:
        settlement.sync(s, seller_id=seller, marketplace=jp, now=NOW)
        settle(s, registry=db.registry, as_of=NOW)
    assert feed(db, [place]).waiting_for_order == 0
    with unit_of_work(db.factory) as s:
        settlement.sync(s, seller_id=seller, marketplace=jp, now=NOW)
        settle(s, registry=db.registry, as_of=NOW)
    with db.session() as s:
        sale = s.execute(
            text(
                "SELECT amount FROM settlement_entries WHERE seller_id = :s AND kind = 'sale' "
                "AND order_id = '503-77'"
            ),
            {"s": seller},
        ).all()
        grant = s.execute(select(PointsGrant).where(PointsGrant.order_id == "503-77")).scalar_one()
    assert [r[0] for r in sale] == [2000]
    # 1% of ¥2,000, posted 24 hours after the shipment that came before the order
    assert (grant.state, grant.posted, grant.shipped_at) == ("posted", 20, shipped_at)
