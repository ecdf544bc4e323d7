"""Issue 15's rules, one worked example each, from order events and service calls to balances,
ledger entries and the store's settlement ledger (LED-04, LED-05, LED-06). Run on SQLite and
PostgreSQL. The numbers are in each test's name or docstring; 1 point = ¥1."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import func, select

from tests.factories import event, ingest_events, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.points import rules, service
from tsunagu.points.jobs import run_expiry, settle
from tsunagu.points.models import PointsEntry, PointsGrant
from tsunagu.points.redemptions import Clock, Redeemed, check_request, redeem
from tsunagu.settlement.models import SettlementEntry
from tsunagu.slices import load_registry

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 12:00 JST
JST = ZoneInfo("Asia/Tokyo")
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


# -- helpers (the pattern of test_points_ledger.py) -----------------------------------------------


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def item(sku: str, price: int, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "quantity": 1, "price": price, **fields}


def order(
    seller: str,
    order_id: str,
    items: list[dict[str, Any]],
    *,
    when: datetime = T0,
    customer: str = "cust-1",
    marketplace: str = "JP",
    **fields: Any,
) -> dict[str, Any]:
    return event(
        "order_placed",
        seller,
        marketplace=marketplace,
        when=iso(when),
        order_id=order_id,
        channel="MFN",
        currency="JPY" if marketplace == "JP" else "USD",
        items=items,
        customer_id=customer,
        **fields,
    )


def shipped(seller: str, order_id: str, when: datetime, marketplace: str = "JP") -> dict[str, Any]:
    return event(
        "order_shipped", seller, marketplace=marketplace, when=iso(when), order_id=order_id
    )


def cancelled(seller: str, order_id: str, when: datetime) -> dict[str, Any]:
    return event("order_cancelled", seller, when=iso(when), order_id=order_id, by="buyer")


def refunded(
    seller: str, order_id: str, amount: int, when: datetime, sku: str | None = None
) -> dict[str, Any]:
    extra = {"sku": sku} if sku is not None else {}
    return event("refund_issued", seller, when=iso(when), order_id=order_id, amount=amount, **extra)


def feed(db: Any, *events: dict[str, Any]) -> None:
    """Import the events, then run the settle job at the latest event's time (the sync)."""
    latest = max(datetime.fromisoformat(e["at"].replace("Z", "+00:00")) for e in events)
    ingest_events(db, list(events), now=latest)
    run(db, latest)


def run(db: Any, as_of: datetime) -> dict[str, Any]:
    with unit_of_work(db.factory) as session:
        return settle(session, registry=db.registry, as_of=as_of)


def expire(db: Any, as_of: datetime) -> dict[str, Any]:
    with unit_of_work(db.factory) as session:
        return run_expiry(session, registry=db.registry, as_of=as_of)


def bal(db: Any, customer: str = "cust-1", marketplace: str = "JP") -> service.Balance:
    with unit_of_work(db.factory) as session:
        return service.balance(
            session, marketplace=db.registry.require(marketplace), customer=customer
        )


def set_rate(
    db: Any,
    seller: str,
    rate: int | None,
    *,
    sku: str | None = None,
    badge: bool | None = None,
    category: str | None = None,
) -> service.StoreSettings:
    with unit_of_work(db.factory) as session:
        return service.set_rate(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            rate=rate,
            sku=sku,
            actor="test",
            now=T0,
            badge=badge,
            category=category,
        )


def earn(
    db: Any,
    points: int,
    key: str,
    now: datetime,
    customer: str = "cust-1",
    marketplace: str = "JP",
) -> service.Balance:
    with unit_of_work(db.factory) as session:
        return service.earn(
            session,
            marketplace=db.registry.require(marketplace),
            customer=customer,
            points=points,
            source="co-card",
            key=key,
            now=now,
        )


def spend(
    db: Any,
    points: int,
    key: str,
    lines: list[tuple[str, int]] | None = None,
    customer: str = "cust-1",
    at: datetime = T0 + 2 * DAY,
) -> Redeemed:
    """Spend at checkout at ``at`` (never the wall clock: a balance can lapse)."""
    request = check_request(
        marketplace=db.registry.require("JP"),
        customer=customer,
        order_id=f"ord-{key}",
        points=points,
        key=key,
        lines=lines,
    )
    return redeem(db.factory, request, clock=Clock(now=lambda: at))


def entries(db: Any, customer: str = "cust-1") -> list[tuple[str, int, int]]:
    """The customer's ledger entries, oldest first: (kind, amount, shortfall)."""
    with unit_of_work(db.factory) as session:
        found = service.history(
            session, marketplace=db.registry.require("JP"), customer=customer, limit=1000
        )
    return [(e.kind, abs(e.points), e.shortfall) for e in reversed(found)]


def kinds(db: Any, customer: str = "cust-1") -> list[str]:
    return [kind for kind, _, _ in entries(db, customer)]


def points_money(db: Any, seller: str) -> list[tuple[str, str, int]]:
    """What the programme posted to the store's settlement ledger: (key prefix, kind, amount)."""
    with unit_of_work(db.factory) as session:
        rows = session.execute(
            select(SettlementEntry.key, SettlementEntry.kind, SettlementEntry.amount)
            .where(SettlementEntry.seller_id == seller, SettlementEntry.source == "points")
            .order_by(SettlementEntry.id)
        ).all()
    return [(key.split(":")[0], kind, amount) for key, kind, amount in rows]


def grant_lines(db: Any, order_id: str) -> list[int]:
    with unit_of_work(db.factory) as session:
        grant = session.scalars(select(PointsGrant).where(PointsGrant.order_id == order_id)).one()
        return [line["points"] for line in orjson.loads(grant.lines)]


def count(db: Any, model: Any) -> int:
    with unit_of_work(db.factory) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def conserved(db: Any) -> None:
    """LED-02 after the example: the ledger sums to zero and matches the cached balances."""
    with unit_of_work(db.factory) as session:
        found = service.reconcile(session)
    assert found.ok, found


def refused(code: str, call: Any, *args: Any, **kwargs: Any) -> TsunaguError:
    with pytest.raises(TsunaguError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def configured(db: Any, tmp_path: Path, text: str) -> Any:
    """The same database with a registry read from a config file."""
    path = tmp_path / "tsunagu.toml"
    path.write_text(text, encoding="utf-8")
    return dataclasses.replace(db, registry=load_registry(path))


def settled_order(
    db: Any,
    seller: str,
    order_id: str,
    items: list[dict[str, Any]],
    *,
    when: datetime = T0,
    customer: str = "cust-1",
    **fields: Any,
) -> datetime:
    """Place and ship an order and make its points available; the instant they became so."""
    feed(
        db,
        order(seller, order_id, items, when=when, customer=customer, **fields),
        shipped(seller, order_id, when + HOUR),
    )
    available_at = when + HOUR + 24 * HOUR
    run(db, available_at)
    return available_at


@pytest.fixture
def seller(db: Any) -> str:
    return make_seller(db, marketplaces=("JP", "US"))


# -- refunds and clawbacks ------------------------------------------------------------------------


def test_refund_of_100_on_1000_yen_with_200_points_returns_20_and_full_refund_returns_all(
    db: Any, seller: str
) -> None:
    """¥1,000 + 200 pt (rate 20): a ¥100 refund (10%) returns 20 pt; refunding the other ¥900
    returns the other 180, all 200 in all. The store gets ¥1 back per point returned."""
    set_rate(db, seller, 20)
    settled_order(db, seller, "O-1", [item("A", 1000)])
    assert (bal(db).pending, bal(db).available) == (0, 200)
    feed(db, refunded(seller, "O-1", 100, T0 + 3 * DAY))
    assert bal(db).available == 180
    feed(db, refunded(seller, "O-1", 900, T0 + 4 * DAY))
    assert bal(db).available == 0
    assert entries(db)[-2:] == [("clawback", 20, 0), ("clawback", 180, 0)]
    assert [m for m in points_money(db, seller) if m[0] == "points_return"] == [
        ("points_return", "points_cost", 20),
        ("points_return", "points_cost", 180),
    ]
    conserved(db)


def test_refunds_of_300_then_400_claw_back_what_one_700_refund_would_23_of_33(
    db: Any, seller: str
) -> None:
    """A ¥1,000 line with 33 pt: after ¥300, floor(33×300/1000)=9 are back; after ¥400 more,
    floor(33×700/1000)=23 in all, exactly what one ¥700 refund returns on a twin order."""
    settled_order(db, seller, "O-A", [item("A", 1000)], customer="split", points=33)
    settled_order(db, seller, "O-B", [item("A", 1000)], customer="whole", points=33)
    assert bal(db, "split").available == bal(db, "whole").available == 33
    feed(db, refunded(seller, "O-A", 300, T0 + 3 * DAY))
    assert bal(db, "split").available == 33 - 9
    feed(db, refunded(seller, "O-A", 400, T0 + 4 * DAY))
    assert bal(db, "split").available == 33 - 23
    feed(db, refunded(seller, "O-B", 700, T0 + 4 * DAY))
    assert bal(db, "whole").available == 33 - 23 == 33 - rules.clawed_back(33, 700, 1000)
    assert [e[1] for e in entries(db, "split") if e[0] == "clawback"] == [9, 14]
    assert [e[1] for e in entries(db, "whole") if e[0] == "clawback"] == [23]
    conserved(db)


def test_refund_naming_a_sku_claws_back_only_that_lines_points(db: Any, seller: str) -> None:
    """Line A ¥1,000 at 20% (200 pt) and line B ¥3,000 at 1% (30 pt): a ¥500 refund of A returns
    floor(200×500/1000)=100 (an order-wide share would be floor(230×500/4000)=28); refunding
    all of B then returns B's 30 and leaves A's other 100."""
    set_rate(db, seller, 1)
    set_rate(db, seller, 20, sku="A")
    settled_order(db, seller, "O-1", [item("A", 1000), item("B", 3000)])
    assert bal(db).available == 230
    feed(db, refunded(seller, "O-1", 500, T0 + 3 * DAY, sku="A"))
    assert bal(db).available == 130
    feed(db, refunded(seller, "O-1", 3000, T0 + 4 * DAY, sku="B"))
    assert bal(db).available == 100
    conserved(db)


def test_clawback_of_200_with_50_left_takes_50_records_shortfall_150_and_refunds_store_200(
    db: Any, seller: str
) -> None:
    """LED-05 (points already spent): ¥1,000 at 20% → 200 pt; the customer spends 150; a full
    refund claws back the 50 left and records a shortfall of 150 on the entry; the balance
    never goes negative; the store is still refunded ¥200 (the programme bears the
    shortfall)."""
    set_rate(db, seller, 20)
    settled_order(db, seller, "O-1", [item("A", 1000)])
    spend(db, 150, "k-spend")
    assert bal(db).available == 50
    feed(db, refunded(seller, "O-1", 1000, T0 + 3 * DAY))
    assert (bal(db).pending, bal(db).available) == (0, 0)
    assert entries(db)[-1] == ("clawback", 50, 150)
    money = points_money(db, seller)
    assert ("points_cost", "points_cost", -200) in money
    assert ("points_return", "points_cost", 200) in money
    conserved(db)


def test_a_refund_a_week_after_shipment_read_by_a_late_sync_claws_back_20_never_voids(
    db: Any, seller: str
) -> None:
    """The settle job did not run for eight days: it replays the events in their order, so the
    200 pt (¥1,000 at 20%) are posted at shipment + 24 h before the ¥100 refund of day 7 claws
    back 20 of them (and the store is charged 200, refunded 20)."""
    set_rate(db, seller, 20)
    ingest_events(
        db,
        [
            order(seller, "O-1", [item("A", 1000)]),
            shipped(seller, "O-1", T0 + HOUR),
            refunded(seller, "O-1", 100, T0 + 7 * DAY),
        ],
        now=T0 + 7 * DAY,
    )
    run(db, T0 + 8 * DAY)
    assert entries(db) == [("grant_pending", 200, 0), ("post", 200, 0), ("clawback", 20, 0)]
    assert bal(db).available == 180
    money = points_money(db, seller)
    assert ("points_cost", "points_cost", -200) in money
    assert ("points_return", "points_cost", 20) in money
    conserved(db)


# -- cancellation and the pending lifecycle -------------------------------------------------------


def test_cancel_before_shipment_voids_the_pending_10_points_and_twice_changes_nothing(
    db: Any, seller: str
) -> None:
    """LED-05: ¥1,000 at 1% → 10 pt pending; a cancellation before shipment voids them; a second
    cancellation writes nothing; nothing is ever posted or charged to the store."""
    feed(db, order(seller, "O-1", [item("A", 1000)]))
    assert bal(db).pending == 10
    feed(db, cancelled(seller, "O-1", T0 + HOUR))
    assert kinds(db) == ["grant_pending", "void"]
    feed(db, cancelled(seller, "O-1", T0 + 2 * HOUR))
    run(db, T0 + 10 * DAY)
    assert kinds(db) == ["grant_pending", "void"]
    assert (bal(db).pending, bal(db).available) == (0, 0)
    assert points_money(db, seller) == []
    conserved(db)


def test_cancel_after_shipment_leaves_the_10_points_to_settle(db: Any, seller: str) -> None:
    """LED-05: once the shipment is confirmed a cancellation does nothing to the points (a
    refund claws them back instead)."""
    feed(
        db,
        order(seller, "O-1", [item("A", 1000)]),
        shipped(seller, "O-1", T0 + HOUR),
        cancelled(seller, "O-1", T0 + 2 * HOUR),
    )
    assert bal(db).pending == 10
    run(db, T0 + HOUR + 24 * HOUR)
    assert (bal(db).pending, bal(db).available) == (0, 10)
    assert kinds(db) == ["grant_pending", "post"]
    conserved(db)


def test_refund_of_100_before_settling_voids_20_and_posts_the_remaining_180(
    db: Any, seller: str
) -> None:
    """LED-04 (a partial post returns the remainder): ¥1,000 at 20% → 200 pt pending; a ¥100
    refund before the settling time voids 20; the post makes 180 available and charges the
    store 180."""
    set_rate(db, seller, 20)
    feed(
        db,
        order(seller, "O-1", [item("A", 1000)]),
        shipped(seller, "O-1", T0 + HOUR),
        refunded(seller, "O-1", 100, T0 + 2 * HOUR),
    )
    assert (bal(db).pending, bal(db).available) == (180, 0)
    run(db, T0 + 25 * HOUR)
    assert (bal(db).pending, bal(db).available) == (0, 180)
    assert entries(db) == [("grant_pending", 200, 0), ("void", 20, 0), ("post", 180, 0)]
    assert [m for m in points_money(db, seller) if m[0] != "points_fee"] == [
        ("points_cost", "points_cost", -180)
    ]
    feed(db, refunded(seller, "O-1", 900, T0 + 3 * DAY))  # the rest: 200 back in all
    assert (bal(db).pending, bal(db).available) == (0, 0)
    assert entries(db)[-1] == ("clawback", 180, 0)
    assert ("points_return", "points_cost", 180) in points_money(db, seller)
    conserved(db)


def test_points_settle_exactly_24_hours_after_shipment(db: Any, seller: str) -> None:
    """Pending until shipment + 24 h: one second before, still pending; at that instant,
    available, and the post is dated then."""
    shipment = T0 + 5 * HOUR
    feed(db, order(seller, "O-1", [item("A", 5000)]), shipped(seller, "O-1", shipment))
    run(db, shipment + 24 * HOUR - SECOND)
    assert (bal(db).pending, bal(db).available) == (50, 0)
    run(db, shipment + 24 * HOUR)
    assert (bal(db).pending, bal(db).available) == (0, 50)
    with unit_of_work(db.factory) as session:
        post = session.scalars(select(PointsEntry).where(PointsEntry.kind == "post")).one()
        assert post.at == shipment + 24 * HOUR


def test_settling_delay_of_48_hours_from_the_config_file(
    db: Any, seller: str, tmp_path: Path
) -> None:
    """``[points] settling_hours = 48``: pending at shipment + 48 h − 1 s, available at + 48 h."""
    db = configured(db, tmp_path, "[points]\nsettling_hours = 48\n")
    shipment = T0 + 5 * HOUR
    feed(db, order(seller, "O-1", [item("A", 5000)]), shipped(seller, "O-1", shipment))
    run(db, shipment + 24 * HOUR)
    run(db, shipment + 48 * HOUR - SECOND)
    assert (bal(db).pending, bal(db).available) == (50, 0)
    run(db, shipment + 48 * HOUR)
    assert (bal(db).pending, bal(db).available) == (0, 50)


# -- what points may pay for ----------------------------------------------------------------------


def test_mixed_order_gift_card_5000_ebook_1000_food_2000_points_pay_for_3000(
    db: Any, seller: str
) -> None:
    """Points may pay only for the eligible lines: a gift card does not count, an e-book and
    food do (3,000); 3,001 is ``exceeds_eligible_amount`` and spends nothing; 3,000 works."""
    earn(db, 5000, "card-1", T0)
    lines = [("gift_card", 5000), ("ebook", 1000), ("food", 2000)]
    error = refused("exceeds_eligible_amount", spend, db, 3001, "k-over", lines)
    assert error.details == {"eligible": 3000, "wanted": 3001}
    assert bal(db).available == 5000
    done = spend(db, 3000, "k-ok", lines)
    assert (done.body["points"], done.body["available"]) == (3000, 2000)
    assert bal(db).available == 2000
    conserved(db)


def test_digital_content_coins_and_fresh_groceries_are_excluded_ebooks_are_not(
    db: Any, seller: str
) -> None:
    """Four ¥1,000 lines: digital_content, amazon_coins and fresh_grocery are excluded, ebook
    is eligible: 1,000 of the 4,000 may be paid with points."""
    earn(db, 5000, "card-1", T0)
    lines = [
        ("digital_content", 1000),
        ("amazon_coins", 1000),
        ("fresh_grocery", 1000),
        ("ebook", 1000),
    ]
    error = refused("exceeds_eligible_amount", spend, db, 1001, "k-over", lines)
    assert error.details["eligible"] == 1000
    assert spend(db, 1000, "k-ok", lines).body["available"] == 4000


# -- rates, overrides, the badge, explicit points -------------------------------------------------


def test_sku_rate_10_overrides_store_rate_5_which_applies_to_the_other_line(
    db: Any, seller: str
) -> None:
    """Store rate 5%, SKU A overridden to 10%: ¥1,000 of A earns 100, ¥1,000 of B earns 50."""
    set_rate(db, seller, 5)
    set_rate(db, seller, 10, sku="A")
    feed(db, order(seller, "O-1", [item("A", 1000), item("B", 1000)]))
    assert grant_lines(db, "O-1") == [100, 50]
    assert bal(db).pending == 150


def test_rate_0_earns_nothing_yet_the_order_extends_the_expiry(db: Any, seller: str) -> None:
    """Rate 0: no grant and no entry, but the order is an order for the expiry rule: 100 pt
    earned at T0 expire a year after the later order (T0 + 100 days), not a year after T0.
    An order whose only line is a deal (``no_points``) extends it the same way."""
    earn(db, 100, "card-1", T0)
    assert bal(db).expires_at == datetime(2027, 3, 1, 3, 0, tzinfo=UTC)
    set_rate(db, seller, 0)
    feed(db, order(seller, "O-1", [item("A", 1000)], when=T0 + 100 * DAY))
    assert count(db, PointsGrant) == 0
    assert kinds(db) == ["grant_pending", "post"]  # the external earn's two entries only
    assert bal(db).expires_at == T0 + 100 * DAY + 365 * DAY  # no 29 February in between
    set_rate(db, seller, 10)
    feed(db, order(seller, "O-2", [item("A", 1000, no_points=True)], when=T0 + 200 * DAY))
    assert count(db, PointsGrant) == 0
    assert bal(db).expires_at == T0 + 200 * DAY + 365 * DAY
    assert bal(db).available == 100


def test_badge_on_offers_with_rate_2_for_members_only(db: Any, seller: str) -> None:
    """The "2% or more" badge: SKU X at 2% carries it once the seller joins the programme; SKU Y
    at 1% never does; SKU Z follows the store's rate and carries it when the store's rate is 2."""
    set_rate(db, seller, 1)
    set_rate(db, seller, 2, sku="X")
    set_rate(db, seller, 1, sku="Y")
    set_rate(db, seller, None, sku="Z")

    def badges() -> dict[str, bool]:
        with unit_of_work(db.factory) as session:
            found = service.offers(session, seller_id=seller, marketplace=db.registry.require("JP"))
        return {o.sku: o.points_badge for o in found}

    assert badges() == {"X": False, "Y": False, "Z": False}  # not a member
    joined = set_rate(db, seller, None, badge=True)
    assert joined.badge
    assert joined.rate == 1
    assert badges() == {"X": True, "Y": False, "Z": False}
    assert joined.offers_with_badge == 1
    assert set_rate(db, seller, 2).offers_with_badge == 2
    assert badges() == {"X": True, "Y": False, "Z": True}
    with unit_of_work(db.factory) as session:
        marked = service.offers(
            session, seller_id=seller, marketplace=db.registry.require("JP"), badge=True
        )
    assert sorted(o.sku for o in marked) == ["X", "Z"]


def test_rate_50_earns_500_on_1000_yen_and_rate_51_is_refused(db: Any, seller: str) -> None:
    set_rate(db, seller, 50)
    feed(db, order(seller, "O-1", [item("A", 1000)]))
    assert bal(db).pending == 500
    refused("invalid_rate", set_rate, db, seller, 51)
    refused("invalid_rate", set_rate, db, seller, 51, sku="A")
    refused("invalid_rate", set_rate, db, seller, -1)
    with unit_of_work(db.factory) as session:
        assert (
            service.store_settings(
                session, seller_id=seller, marketplace=db.registry.require("JP")
            ).rate
            == 50
        )


def test_explicit_100_points_win_and_split_34_33_33_over_three_1000_yen_lines(
    db: Any, seller: str
) -> None:
    """An order's own ``points`` win over the store's 50%: 100 pt over ¥1,000 ×3 are split by
    price, each share floored, the remainder to the largest line, the first of equals."""
    set_rate(db, seller, 50)
    feed(
        db,
        order(seller, "O-1", [item("A", 1000), item("B", 1000), item("C", 1000)], points=100),
    )
    assert grant_lines(db, "O-1") == [34, 33, 33] == rules.split_points(100, [1000] * 3)
    assert bal(db).pending == 100


def test_a_deal_line_flagged_no_points_earns_nothing(db: Any, seller: str) -> None:
    """Rate 10%: a ¥1,000 deal line (``no_points``) earns 0, the ¥1,000 line beside it 100."""
    set_rate(db, seller, 10)
    feed(db, order(seller, "O-1", [item("A", 1000, no_points=True), item("B", 1000)]))
    assert grant_lines(db, "O-1") == [0, 100]
    assert bal(db).pending == 100


# -- points from outside --------------------------------------------------------------------------


def test_external_earn_of_300_is_available_at_once_extends_expiry_and_is_idempotent(
    db: Any, seller: str
) -> None:
    """A co-branded card's 300 pt: available at once (no pending), the expiry moves to a year
    after the earn; the same key again changes nothing; the same key with 301 is
    ``idempotency_mismatch``."""
    feed(db, order(seller, "O-1", [item("A", 1000)]))
    assert bal(db).expires_at == T0 + 365 * DAY
    later = T0 + 10 * DAY
    first = earn(db, 300, "card-1", later)
    assert (first.pending, first.available) == (10, 300)
    assert first.expires_at == later + 365 * DAY
    before = entries(db)
    assert earn(db, 300, "card-1", later + DAY) == first
    assert entries(db) == before
    refused("idempotency_mismatch", earn, db, 301, "card-1", later + DAY)
    assert bal(db).available == 300
    conserved(db)


# -- expiry (LED-06) ------------------------------------------------------------------------------


def test_whole_available_balance_expires_one_year_after_the_later_activity_never_pending(
    db: Any, seller: str
) -> None:
    """LED-06: 10 pt pending (an unshipped order at T0) and 100 pt earned at T0 + 20 days: at
    T0 + 20 days + 1 year − 1 s nothing expires; at that instant the 100 available expire, the
    10 pending stay; a rerun for the same instant writes nothing. Settled later, the 10 are a
    new acquisition with a new year."""
    feed(db, order(seller, "O-1", [item("A", 1000)]))
    earned = T0 + 20 * DAY
    earn(db, 100, "card-1", earned)
    expiry = bal(db).expires_at
    assert expiry == earned + 365 * DAY
    assert expire(db, expiry - SECOND)["expired_points"] == 0
    assert bal(db).available == 100
    assert expire(db, expiry)["expired_points"] == 100
    assert (bal(db).pending, bal(db).available) == (10, 0)
    assert entries(db)[-1] == ("expire", 100, 0)
    before = entries(db)
    assert expire(db, expiry)["expired_points"] == 0
    assert entries(db) == before
    shipment = expiry + DAY
    feed(db, shipped(seller, "O-1", shipment))
    run(db, shipment + 24 * HOUR)
    assert (bal(db).pending, bal(db).available) == (0, 10)
    assert bal(db).expires_at == shipment + 24 * HOUR + 366 * DAY  # 29 February 2028 between
    conserved(db)


def test_points_posted_after_the_expiry_never_sit_available_past_it(db: Any, seller: str) -> None:
    """LED-06: 100 pt earned at T0 expire at T0 + 1 year. An order placed before T0 (10 pt
    pending) whose shipment (T0 − 9 days) is imported only after that expiry is posted then;
    after the next expiry run the customer must not hold available points whose expiry has
    passed: either they expired with the rest or their acquisition gave them a new year."""
    earn(db, 100, "card-1", T0)
    feed(db, order(seller, "O-1", [item("A", 1000)], when=T0 - 10 * DAY))
    expiry = bal(db).expires_at
    assert expiry == T0 + 365 * DAY
    assert expire(db, expiry)["expired_points"] == 100
    later = expiry + DAY
    ingest_events(db, [shipped(seller, "O-1", T0 - 9 * DAY)], now=later)
    expire(db, later)
    after = bal(db)
    assert after.pending == 0
    assert after.expires_at is not None
    assert after.available == 0 or after.expires_at > later, after
    conserved(db)


def test_a_lapsed_balance_lapses_at_its_instant_before_a_later_order_or_spend(
    db: Any, seller: str
) -> None:
    """LED-06 without the daily job: 100 pt earned at T0 lapse at T0 + 1 year even if nothing
    ran then. A spend a day later finds nothing (``insufficient_points``) and the expiry entry
    is dated at the instant; an order after it starts a new year for an empty balance."""
    earn(db, 100, "card-1", T0)
    expiry = bal(db).expires_at
    assert expiry is not None
    request = check_request(
        marketplace=db.registry.require("JP"),
        customer="cust-1",
        order_id="O-9",
        points=10,
        key="k-late",
        lines=None,
    )
    error = refused(
        "insufficient_points", redeem, db.factory, request, clock=Clock(lambda: expiry + DAY)
    )
    assert error.details == {"available": 0, "wanted": 10}
    with unit_of_work(db.factory) as session:
        lapsed = session.scalars(select(PointsEntry).where(PointsEntry.kind == "expire")).one()
        assert (lapsed.amount, lapsed.at) == (100, expiry)
    set_rate(db, seller, 0)
    feed(db, order(seller, "O-1", [item("A", 1000)], when=expiry + 2 * DAY))
    # 3 March 2027 → 3 March 2028
    assert bal(db) == service.Balance("cust-1", "JP", 0, 0, expiry + 2 * DAY + 366 * DAY)
    assert expire(db, expiry + 3 * DAY)["expired_points"] == 0
    conserved(db)


def test_a_redemption_alone_does_not_extend_the_expiry(db: Any, seller: str) -> None:
    earn(db, 100, "card-1", T0)
    expiry = bal(db).expires_at
    spend(db, 40, "k-1", at=T0 + 100 * DAY)
    assert bal(db).expires_at == expiry
    assert expire(db, expiry)["expired_points"] == 60


def test_29_february_2028_jst_expires_28_february_2029_jst(db: Any, seller: str) -> None:
    """The year is counted in JST: points earned at 08:00 on 29 February 2028 in Tokyo (still
    28 February in UTC) expire at 08:00 on 28 February 2029 in Tokyo; counted in UTC they
    would expire a day later."""
    earned = datetime(2028, 2, 29, 8, 0, tzinfo=JST)
    earn(db, 100, "card-1", earned.astimezone(UTC))
    expiry = bal(db).expires_at
    assert expiry is not None
    assert expiry.astimezone(JST) == datetime(2029, 2, 28, 8, 0, tzinfo=JST)
    assert expire(db, expiry - SECOND)["expired_points"] == 0
    assert expire(db, expiry)["expired_points"] == 100


def test_expiry_warnings_30_and_7_days_before_are_recorded_once(db: Any, seller: str) -> None:
    earn(db, 100, "card-1", T0)
    expiry = bal(db).expires_at
    assert expiry is not None

    def warned(as_of: datetime) -> tuple[int, ...]:
        with unit_of_work(db.factory) as session:
            found = service.upcoming_expiries(
                session, marketplace=db.registry.require("JP"), as_of=as_of
            )
        assert [(u.customer, u.available, u.expires_at) for u in found] == [("cust-1", 100, expiry)]
        return found[0].warned_days

    assert expire(db, expiry - 30 * DAY - SECOND)["warnings"] == 0
    assert expire(db, expiry - 30 * DAY)["warnings"] == 1
    assert expire(db, expiry - 30 * DAY)["warnings"] == 0
    assert expire(db, expiry - 8 * DAY)["warnings"] == 0
    assert warned(expiry - 8 * DAY) == (30,)
    assert expire(db, expiry - 7 * DAY)["warnings"] == 1
    assert expire(db, expiry - 7 * DAY + HOUR)["warnings"] == 0
    assert warned(expiry - 7 * DAY) == (30, 7)
    assert bal(db).available == 100


# -- marketplaces where the programme runs --------------------------------------------------------


def test_us_is_disabled_by_default_orders_earn_nothing_and_earn_is_refused(
    db: Any, seller: str
) -> None:
    feed(
        db,
        order(seller, "US-1", [item("A", 1980)], marketplace="US"),
        shipped(seller, "US-1", T0 + HOUR, marketplace="US"),
    )
    run(db, T0 + 3 * DAY)
    assert count(db, PointsGrant) == count(db, PointsEntry) == 0
    assert bal(db, marketplace="US") == service.Balance("cust-1", "US", 0, 0, None)
    refused("points_disabled", earn, db, 100, "card-1", T0, marketplace="US")
    refused(
        "points_disabled",
        check_request,
        marketplace=db.registry.require("US"),
        customer="cust-1",
        order_id="US-9",
        points=1,
        key="k-1",
        lines=None,
    )


def test_us_enabled_by_config_grants_points_in_cents(db: Any, seller: str, tmp_path: Path) -> None:
    """``[points.marketplace.US] enabled = true``: a $19.80 line (1,980 cents) at the default 1%
    earns floor(1980 × 1%) = 19 points, one per cent; the store pays 19 cents for them."""
    db = configured(db, tmp_path, "[points.marketplace.US]\nenabled = true\n")
    feed(
        db,
        order(seller, "US-1", [item("A", 1980)], marketplace="US"),
        shipped(seller, "US-1", T0 + HOUR, marketplace="US"),
    )
    assert bal(db, marketplace="US").pending == 19
    run(db, T0 + 25 * HOUR)
    assert (bal(db, marketplace="US").pending, bal(db, marketplace="US").available) == (0, 19)
    with unit_of_work(db.factory) as session:
        cost = session.execute(
            select(SettlementEntry.amount, SettlementEntry.currency).where(
                SettlementEntry.key.startswith("points_cost:")
            )
        ).one()
    assert tuple(cost) == (-19, "USD")
    # LED-06 in the US zone: 12:00 PST on 2 November 2026 expires at 12:00 PDT on 2 November
    # 2027 (daylight time ends on 7 November that year), an hour before a UTC year
    earned = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
    assert earn(db, 100, "card-1", earned, marketplace="US").available == 119
    assert bal(db, marketplace="US").expires_at == datetime(2027, 11, 2, 19, 0, tzinfo=UTC)


# -- the seller's cost ----------------------------------------------------------------------------


def test_seller_pays_100_for_100_points_when_available_and_saves_10_of_referral_fee(
    db: Any, seller: str
) -> None:
    """¥1,000 at 10% → 100 pt: nothing is charged while pending; once available the store is
    charged ¥100 and the referral fee (10% by default) on ¥1,000 − 100 is ¥90 instead of
    ¥100, a +¥10 fee effect."""
    set_rate(db, seller, 10)
    feed(db, order(seller, "O-1", [item("A", 1000)]), shipped(seller, "O-1", T0 + HOUR))
    assert points_money(db, seller) == []
    run(db, T0 + 25 * HOUR)
    assert points_money(db, seller) == [
        ("points_cost", "points_cost", -100),
        ("points_fee", "marketplace_fee", 10),
    ]


def test_referral_fee_effect_uses_the_category_rate_of_the_settlement_config(
    db: Any, seller: str, tmp_path: Path
) -> None:
    """Books at 15% (config): ¥1,000 with 100 pt → fee 150 on ¥1,000 vs 135 on ¥900: +15; a
    line of another category beside it keeps the 10% default: ¥2,000 with 200 pt → +20."""
    db = configured(db, tmp_path, "[settlement.referral_fee_rates]\nbooks = 0.15\n")
    set_rate(db, seller, 10)
    settled_order(
        db,
        seller,
        "O-1",
        [item("A", 1000, category="books"), item("B", 2000, category="toys")],
    )
    assert points_money(db, seller) == [
        ("points_cost", "points_cost", -300),
        ("points_fee", "marketplace_fee", 35),
    ]


def test_fee_effect_counts_only_the_180_points_posted_after_a_refund_before_settling(
    db: Any, seller: str
) -> None:
    """¥1,000 at 20% → 200 pt; a ¥100 refund before settling voids 20, so 180 are posted and the
    store pays ¥180; the fee is then due on ¥1,000 − 180: fee(1000) − fee(820) = 100 − 82 =
    +18. The 20 voided points were never given, so they save the store no fee."""
    set_rate(db, seller, 20)
    feed(
        db,
        order(seller, "O-1", [item("A", 1000)]),
        shipped(seller, "O-1", T0 + HOUR),
        refunded(seller, "O-1", 100, T0 + 2 * HOUR),
    )
    run(db, T0 + 25 * HOUR)
    assert points_money(db, seller) == [
        ("points_cost", "points_cost", -180),
        ("points_fee", "marketplace_fee", 18),
    ]


def test_monthly_statement_in_jst_months_granted_returned_net_cost_and_fee_effect(
    db: Any, seller: str
) -> None:
    """¥1,000 at 10% settles at 00:30 JST on 1 April (still 31 March in UTC): April shows 100
    granted, +10 fee effect; a ¥300 refund in May returns 30: May shows 30 returned, net −30.
    The months add up to what the settlement ledger holds."""
    set_rate(db, seller, 10)
    shipment = datetime(2026, 3, 30, 15, 30, tzinfo=UTC)
    feed(
        db,
        order(seller, "O-1", [item("A", 1000)], when=shipment - HOUR),
        shipped(seller, "O-1", shipment),
    )
    run(db, shipment + 24 * HOUR)
    feed(db, refunded(seller, "O-1", 300, datetime(2026, 5, 10, tzinfo=UTC)))
    with unit_of_work(db.factory) as session:
        months = service.statement(session, seller_id=seller, marketplace=db.registry.require("JP"))
    assert [(m.month, m.granted, m.returned, m.net_cost, m.fee_effect) for m in months] == [
        ("2026-05", 0, 30, -30, 0),
        ("2026-04", 100, 0, 100, 10),
    ]
    money = points_money(db, seller)
    assert sum(m.net_cost for m in months) == -sum(a for p, _, a in money if p != "points_fee")
    assert sum(m.fee_effect for m in months) == sum(a for p, _, a in money if p == "points_fee")
