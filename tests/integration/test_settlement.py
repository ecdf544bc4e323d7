"""The settlement ledger on both databases: posting, the event sync, Amazon's settlement report,
disbursements and funds holds (issue 14 item 4; ADR 0025)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller, placed
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput
from tsunagu.events.imports import FileImport, import_file
from tsunagu.events.models import Event
from tsunagu.health.service import store_health
from tsunagu.orders.models import OrderCase
from tsunagu.settlement import service
from tsunagu.settlement.models import SettlementEntry, SettlementHold, SettlementReport

DATA = Path(__file__).parent.parent / "data" / "amazon"
T0 = datetime(2026, 10, 1, tzinfo=UTC)

JP_ORDERS = {
    "503-2611001-0000001": 3960,
    "503-2611002-0000002": 2480,
    "503-2611003-0000003": 2480,
    "503-2611004-0000004": 5400,
    "503-2611005-0000005": 12800,
}
US_ORDERS = {
    "112-2611001-0000001": 2598,
    "112-2611002-0000002": 2003,
    "112-2611003-0000003": 3464,
    "112-2611004-0000004": 9634,
}


def _entries(db: Db, seller: str, code: str) -> list[SettlementEntry]:
    with db.session() as s:
        return list(
            s.scalars(
                select(SettlementEntry)
                .where(SettlementEntry.seller_id == seller, SettlementEntry.marketplace == code)
                .order_by(SettlementEntry.id)
            )
        )


def _balance(db: Db, seller: str, code: str) -> int:
    with db.session() as s:
        return service.balance(s, seller_id=seller, marketplace=code)


def _sync(db: Db, seller: str, code: str, now: datetime = T0) -> int:
    with unit_of_work(db.factory) as s:
        return service.sync(s, seller_id=seller, marketplace=db.registry.require(code), now=now)


def _count(db: Db, model: type, seller: str) -> int:
    with db.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(model).where(model.seller_id == seller))
        )


def _import(db: Db, seller: str, code: str, path: Path, *, dry_run: bool = False) -> dict:
    found = import_file(
        db.factory,
        FileImport(
            "amazon-settlement",
            path,
            path.name,
            seller_id=seller,
            marketplace=db.registry.require(code),
            dry_run=dry_run,
        ),
        registry=db.registry,
        clock=lambda: datetime(2026, 11, 20, tzinfo=UTC),
    )
    return found.report


def _place_orders(db: Db, seller: str, code: str, orders: dict[str, int]) -> None:
    when = "2026-10-25T01:00:00Z"
    ingest_events(
        db,
        [placed(seller, o, marketplace=code, when=when, price=p) for o, p in orders.items()],
    )


# -- the ledger ---------------------------------------------------------------------------------


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 6), st.integers(-(10**12), 10**12)), min_size=1, max_size=12
    )
)
def test_balance_is_the_sum_of_entries_and_a_key_posts_once_led_02(db: Db, steps):
    """LED-02/LED-03: after any sequence of posts (keys repeated at random) the balance is the
    sum of the distinct keys' first amounts; a repeated key answers False and changes nothing."""
    seller = make_seller(db)
    run = uuid.uuid4().hex
    expected: dict[str, int] = {}
    with unit_of_work(db.factory) as s:
        for key_no, amount in steps:
            key = f"{run}:{key_no}"
            posted = service.post_entry(
                s,
                seller_id=seller,
                marketplace="JP",
                key=key,
                kind="adjustment",
                amount=amount,
                currency="JPY",
                at=T0,
                source="test",
            )
            assert posted is (key not in expected)
            expected.setdefault(key, amount)
            assert service.balance(s, seller_id=seller, marketplace="JP") == sum(expected.values())
    assert _balance(db, seller, "JP") == sum(expected.values())
    assert len(_entries(db, seller, "JP")) == len(expected)


@pytest.mark.parametrize("amount", [1.5, "100", True, None])
def test_only_whole_minor_units_are_posted_led_08(db: Db, amount):
    seller = make_seller(db)
    with unit_of_work(db.factory) as s, pytest.raises(InvalidInput) as caught:
        service.post_entry(
            s,
            seller_id=seller,
            marketplace="JP",
            key="k",
            kind="adjustment",
            amount=amount,
            currency="JPY",
            at=T0,
            source="test",
        )
    assert caught.value.code == "invalid_entry"
    assert _entries(db, seller, "JP") == []


def test_entries_cannot_be_changed_or_deleted_led_07(db: Db):
    seller = make_seller(db)
    with unit_of_work(db.factory) as s:
        service.post_entry(
            s,
            seller_id=seller,
            marketplace="JP",
            key="k",
            kind="sale",
            amount=100,
            currency="JPY",
            at=T0,
            source="test",
        )
    for statement in ("UPDATE settlement_entries SET amount = 1", "DELETE FROM settlement_entries"):
        with pytest.raises(Exception, match="append-only"), unit_of_work(db.factory) as s:
            s.execute(text(statement))
    assert _balance(db, seller, "JP") == 100


# -- the event sync -----------------------------------------------------------------------------


def _order_story(seller: str) -> list[dict]:
    o1, o2, o3 = "503-0000001-0000001", "503-0000002-0000002", "503-0000003-0000003"
    return [
        placed(seller, o1, when="2026-10-02T00:00:00Z", price=10000),
        event("order_shipped", seller, order_id=o1, when="2026-10-03T00:00:00Z"),
        placed(seller, o2, when="2026-10-02T00:00:00Z", price=4000),
        event("order_shipped", seller, order_id=o2, when="2026-10-03T00:00:00Z"),
        event("refund_issued", seller, order_id=o1, amount=2500, when="2026-10-05T00:00:00Z"),
        event("claim_filed", seller, order_id=o1, claim_id="c1", when="2026-10-06T00:00:00Z"),
        event(
            "claim_decided",
            seller,
            order_id=o1,
            claim_id="c1",
            outcome="granted_seller_funded",
            when="2026-10-07T00:00:00Z",
        ),
        event(
            "chargeback_filed", seller, order_id=o2, chargeback_id="b1", when="2026-10-06T00:00:00Z"
        ),
        event(
            "chargeback_decided",
            seller,
            order_id=o2,
            chargeback_id="b1",
            outcome="seller_lost",
            when="2026-10-08T00:00:00Z",
        ),
        placed(seller, o3, when="2026-10-02T00:00:00Z", price=700),  # never shipped: no sale
    ]


def test_sync_posts_the_money_of_order_events_once(db: Db):
    seller = make_seller(db)
    ingest_events(db, _order_story(seller))
    first = _sync(db, seller, "JP")
    again = _sync(db, seller, "JP")
    kinds = {(e.kind, e.order_id): e.amount for e in _entries(db, seller, "JP")}
    assert again == 0
    assert first == len(kinds)
    assert kinds[("sale", "503-0000001-0000001")] == 10000
    assert kinds[("marketplace_fee", "503-0000001-0000001")] == -1000  # default 10 %
    assert kinds[("refund", "503-0000001-0000001")] == -2500
    # the fee's share of 2,500 (250) less the 20 % Amazon keeps
    assert kinds[("fee_refund", "503-0000001-0000001")] == 200
    # a seller-funded claim takes what was not refunded yet
    assert kinds[("claim", "503-0000001-0000001")] == -7500
    assert kinds[("chargeback", "503-0000002-0000002")] == -4000
    assert ("sale", "503-0000003-0000003") not in kinds
    assert _balance(db, seller, "JP") == 10000 - 1000 - 2500 + 200 - 7500 + 4000 - 400 - 4000


def test_sync_reads_only_new_events(db: Db):
    seller = make_seller(db)
    ingest_events(db, _order_story(seller)[:2])
    assert _sync(db, seller, "JP") == 2
    ingest_events(db, _order_story(seller)[2:4])
    assert _sync(db, seller, "JP") == 2
    assert _balance(db, seller, "JP") == 10000 - 1000 + 4000 - 400


# -- the settlement report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "orders", "total", "rows"),
    [
        ("JP", "settlement_v2_jp.txt", JP_ORDERS, 10594, 19),
        ("US", "settlement_v2_us.txt", US_ORDERS, 3294, 27),
    ],
)
def test_settlement_report_posts_reconciles_and_makes_events(
    db: Db, code, name, orders, total, rows
):
    seller = make_seller(db)
    _place_orders(db, seller, code, orders)
    report = _import(db, seller, code, DATA / name)
    assert report["rejected"] == 0, report["errors"]
    assert report["file"]["total"] == total
    assert report["file"]["entries"] == rows
    assert report["file"]["posted"] == rows
    # one refund event, claim filed + decided, chargeback filed + decided
    assert report["stored"] == 5
    assert _balance(db, seller, code) == total
    with db.session() as s:
        recorded = s.scalars(
            select(SettlementReport).where(SettlementReport.seller_id == seller)
        ).one()
        assert (recorded.total, recorded.imported_total, recorded.rows) == (total, total, rows)
        cases = {
            (c.kind, c.outcome)
            for c in s.scalars(select(OrderCase).where(OrderCase.seller_id == seller))
        }
    assert cases == {("claim", "granted_seller_funded"), ("chargeback", "seller_lost")}

    again = _import(db, seller, code, DATA / name)
    assert (again["stored"], again["duplicates"], again["rejected"]) == (0, 5, 0)
    assert again["file"]["new_entries"] == 0
    assert again["file"]["posted"] == 0
    assert _balance(db, seller, code) == total
    assert _count(db, SettlementReport, seller) == 1


def test_report_events_count_in_order_defects(db: Db):
    """The claim and the chargeback the JP report lists make those orders defects (ODR)."""
    seller = make_seller(db)
    _place_orders(db, seller, "JP", JP_ORDERS)
    ingest_events(
        db,
        [
            event("order_shipped", seller, order_id=o, when="2026-10-26T01:00:00Z")
            for o in JP_ORDERS
        ],
    )
    _import(db, seller, "JP", DATA / "settlement_v2_jp.txt")
    with db.session() as s:
        health = store_health(
            s,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            day=date(2026, 12, 20),
            now=datetime(2026, 12, 20, tzinfo=UTC),
        )
    odr = health.metrics["order_defect_rate_mfn"]
    assert odr.components["claims"] == 1
    assert odr.components["chargebacks"] == 1
    assert {"503-2611003-0000003", "503-2611004-0000004"} <= set(odr.ids)


def test_report_replaces_the_syncs_estimates_for_its_orders(db: Db):
    """Money counted once: the sync's estimate of a shipped order is reversed when the report
    posts Amazon's figures for it, and a report-first order is not estimated afterwards."""
    seller = make_seller(db)
    _place_orders(db, seller, "JP", JP_ORDERS)
    shipped = [
        event("order_shipped", seller, order_id=o, when="2026-10-26T01:00:00Z") for o in JP_ORDERS
    ]
    ingest_events(db, shipped[:2])
    _sync(db, seller, "JP")
    estimated = _balance(db, seller, "JP")
    assert estimated == 3960 - 396 + 2480 - 248
    _import(db, seller, "JP", DATA / "settlement_v2_jp.txt")
    ingest_events(db, shipped[2:])
    _sync(db, seller, "JP")
    assert _balance(db, seller, "JP") == 10594


def test_mismatched_total_is_refused_and_nothing_is_written(db: Db, tmp_path: Path):
    seller = make_seller(db)
    _place_orders(db, seller, "US", US_ORDERS)
    events_before = _count(db, Event, seller)
    lines = (DATA / "settlement_v2_us.txt").read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("\t32.94\t", "\t33.94\t")
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(lines))
    with pytest.raises(InvalidInput) as caught:
        _import(db, seller, "US", bad)
    error = caught.value
    assert error.code == "settlement_total_mismatch"
    assert (error.details["total"], error.details["rows_total"]) == (3394, 3294)
    assert "$32.94" in error.message("en")
    assert "$33.94" in error.message("en")
    assert _entries(db, seller, "US") == []
    assert _count(db, SettlementReport, seller) == 0
    assert _count(db, Event, seller) == events_before


def test_unknown_order_rows_are_posted_and_their_events_wait_for_the_order(db: Db):
    """The money of a row about an order the store does not know is posted; its event is stored
    and waits for its order (ADR 0030), so importing the orders later attaches it."""
    seller = make_seller(db)
    first = _import(db, seller, "JP", DATA / "settlement_v2_jp.txt")
    assert (first["stored"], first["rejected"], first["errors"]) == (5, 0, [])
    assert first["waiting_for_order"] == 5
    assert _balance(db, seller, "JP") == 10594
    _place_orders(db, seller, "JP", JP_ORDERS)
    later = _import(db, seller, "JP", DATA / "settlement_v2_jp.txt")
    assert (later["stored"], later["duplicates"], later["file"]["posted"]) == (0, 5, 0)
    assert later["waiting_for_order"] == 0
    assert _balance(db, seller, "JP") == 10594


def test_dry_run_writes_nothing(db: Db):
    seller = make_seller(db)
    _place_orders(db, seller, "US", US_ORDERS)
    report = _import(db, seller, "US", DATA / "settlement_v2_us.txt", dry_run=True)
    assert report["file"]["new_entries"] == 27
    assert _entries(db, seller, "US") == []


# -- disbursements and holds ---------------------------------------------------------------------


def _sale(db: Db, seller: str, key: str, amount: int, at: datetime) -> None:
    with unit_of_work(db.factory) as s:
        service.post_entry(
            s,
            seller_id=seller,
            marketplace="JP",
            key=key,
            kind="sale",
            amount=amount,
            currency="JPY",
            at=at,
            source="test",
        )


def _disburse(db: Db, seller: str, now: datetime) -> service.Disbursed:
    with unit_of_work(db.factory) as s:
        return service.disburse(s, seller_id=seller, marketplace=db.registry.require("JP"), now=now)


def test_disbursement_every_14_days_from_the_first_entry(db: Db):
    seller = make_seller(db)
    _sale(db, seller, "a", 5000, T0)
    assert _disburse(db, seller, T0 + timedelta(days=13)).outcome == "not_due"
    paid = _disburse(db, seller, T0 + timedelta(days=14))
    assert (paid.outcome, paid.amount) == ("disbursed", 5000)
    _sale(db, seller, "b", 700, T0 + timedelta(days=15))
    # the same period again pays nothing more; the next one pays what came in since
    assert _disburse(db, seller, T0 + timedelta(days=20)).amount == 0
    assert _disburse(db, seller, T0 + timedelta(days=28)).amount == 700
    assert _balance(db, seller, "JP") == 0


def test_hold_stops_disbursement_until_its_date_with_claims_deducted(db: Db):
    seller = make_seller(db)
    _sale(db, seller, "a", 10000, T0)
    held_at = T0 + timedelta(days=5)
    with unit_of_work(db.factory) as s:
        service.hold_funds(
            s, seller_id=seller, marketplace="JP", now=held_at, ref="dea_1", reason="deactivated"
        )
        service.hold_funds(
            s, seller_id=seller, marketplace="JP", now=held_at, ref="dea_1", reason="again"
        )
    assert _count(db, SettlementHold, seller) == 1
    assert _disburse(db, seller, T0 + timedelta(days=14)).outcome == "held"
    with unit_of_work(db.factory) as s:
        service.post_entry(
            s,
            seller_id=seller,
            marketplace="JP",
            key="claim",
            kind="claim",
            amount=-3000,
            currency="JPY",
            at=T0 + timedelta(days=30),
            source="test",
        )
    assert _disburse(db, seller, held_at + timedelta(days=89)).outcome == "held"
    released = _disburse(db, seller, held_at + timedelta(days=90))
    assert (released.outcome, released.amount) == ("released", 7000)
    with db.session() as s:
        hold = s.scalars(select(SettlementHold).where(SettlementHold.seller_id == seller)).one()
    assert (hold.released_amount, hold.release_reason, hold.held_amount) == (
        7000,
        "hold_expired",
        10000,
    )
    assert hold.released_at is not None
    assert _balance(db, seller, "JP") == 0


def test_release_hold_early_on_reinstatement(db: Db):
    seller = make_seller(db)
    _sale(db, seller, "a", 4200, T0)
    with unit_of_work(db.factory) as s:
        service.hold_funds(
            s, seller_id=seller, marketplace="JP", now=T0, ref="dea_2", reason="deactivated"
        )
    with unit_of_work(db.factory) as s:
        service.release_hold(
            s, seller_id=seller, marketplace="JP", now=T0 + timedelta(days=3), reason="reinstated"
        )
        service.release_hold(
            s, seller_id=seller, marketplace="JP", now=T0 + timedelta(days=4), reason="again"
        )
    with db.session() as s:
        hold = s.scalars(select(SettlementHold).where(SettlementHold.seller_id == seller)).one()
        view = service.store_settlement(
            s, seller_id=seller, marketplace=db.registry.require("JP"), now=T0 + timedelta(days=5)
        )
    assert (hold.released_amount, hold.release_reason) == (4200, "reinstated")
    assert not view.held
    assert view.balance == 0
