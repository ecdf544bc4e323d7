"""``import amazon-afn-shipments``: the Amazon Fulfilled Shipments report into AFN shipments with
their real ship times and tracking, the buyer's details kept out of the events.

Sample files: tests/data/amazon/README.md §14.
"""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import Db
from tests.integration.test_amazon_import import errors, make_seller, query
from tests.integration.test_amazon_import import run_import as run

#: personal values of afn-shipments-us.txt that must never reach an event
PERSONAL = ("Priya Raman", "7kq2mv9x4w1p8zd@marketplace.example.com", "512-555-0147",
            "1100 Congress Ave", "Austin", "78701", "Dana Whitfield", "233 S Wacker Dr")  # fmt: skip


def shipping_state(db: Db, seller: str) -> list[tuple[Any, ...]]:
    return [
        (order_id, str(at), known, carrier, tracking)
        for order_id, at, known, carrier, tracking in query(
            db,
            "SELECT order_id, shipped_at, ship_time_known, carrier, tracking_id FROM orders "
            "WHERE seller_id = :s AND channel = 'AFN' ORDER BY order_id",
            s=seller,
        )
    ]


def test_us_report_gives_afn_orders_their_ship_time_and_tracking(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    before = shipping_state(db, seller)
    assert {known for _, _, known, _, _ in before} == {False}  # All Orders: time unknown

    result = run(db, "afn-shipments", "afn-shipments-us.txt", seller)

    assert errors(result) == []
    # 5 rows: two items of one shipment, two more shipments, one Non-Amazon (MCF) row
    assert result.stats == {
        "rows": 5,
        "orders": 3,
        "shipments": 3,
        "other_channel": 1,
        "encoding": "utf-8",
        "personal_values": result.stats["personal_values"],
    }
    assert result.report.stored == 3
    after = {
        order_id: (carrier, tracking, known)
        for order_id, _, known, carrier, tracking in shipping_state(db, seller)
    }
    assert after == {
        "112-1509738-9962033": ("USPS", "9400111899223399887766", True),
        "113-3341876-5109237": ("AMZN_US", "TBA301234567890", True),
        "114-2209876-3318820": ("UPS", "1Z999AA10123459001", True),
    }
    (shipped,) = query(
        db,
        "SELECT shipped_at FROM orders WHERE seller_id = :s AND order_id = :o",
        s=seller,
        o="113-3341876-5109237",
    )[0]
    assert str(shipped).startswith("2026-10-03 20:02:51")  # 13:02:51-07:00


def test_personal_columns_go_to_the_personal_store_never_to_events(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    result = run(db, "afn-shipments", "afn-shipments-us.txt", seller)
    assert result.stats["personal_values"] > 0
    bodies = " ".join(
        r[0] for r in query(db, "SELECT body FROM events WHERE seller_id = :s", s=seller)
    )
    for value in PERSONAL:
        assert value not in bodies
    stored: set[str] = set()
    for (fields,) in query(
        db, "SELECT fields FROM personal_records WHERE seller_id = :s", s=seller
    ):
        stored.update(orjson.loads(fields).values())
    assert {"Priya Raman", "Dana Whitfield", "1100 Congress Ave"} <= stored


def test_jp_cp932_report_with_two_shipments_of_one_order(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    result = run(db, "afn-shipments", "afn-shipments-jp-cp932.txt", seller, "JP")
    assert result.stats["encoding"] == "cp932"
    assert errors(result) == []
    assert result.report.stored == 2
    ((shipped, known, carrier, tracking),) = query(
        db,
        "SELECT shipped_at, ship_time_known, carrier, tracking_id FROM orders "
        "WHERE seller_id = :s AND order_id = :o",
        s=seller,
        o="503-4471902-6628345",
    )
    # ship time: the first shipment; tracking: the last one given
    assert str(shipped).startswith("2026-10-03 22:10:31")
    assert (known, carrier, tracking) == (True, "SAGAWA", "360000000017")


def test_bad_rows_are_reported_with_line_field_and_code(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    result = run(db, "afn-shipments", "afn-shipments-us-bad.txt", seller)
    assert errors(result) == [
        (3, "shipment-date", "invalid_date"),
        (4, "currency", "currency_mismatch"),
        (5, "sales-channel", "sales_channel_mismatch"),
        (6, "shipment-id", "missing_value"),
    ]
    assert result.report.stored == 1


def test_reimport_and_shuffled_columns_are_all_duplicates(db: Db) -> None:
    """Idempotent (IMP-02), whatever the column order and extra columns."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    run(db, "afn-shipments", "afn-shipments-us.txt", seller)
    after_first = shipping_state(db, seller)
    for name in ("afn-shipments-us.txt", "afn-shipments-us-shuffled.txt"):
        again = run(db, "afn-shipments", name, seller)
        assert (again.report.stored, again.report.duplicates, again.report.rejected) == (0, 3, 0)
    assert shipping_state(db, seller) == after_first


def test_shipments_before_their_orders_end_in_the_same_state(db: Db) -> None:
    one = make_seller(db)
    run(db, "orders", "all-orders-us.txt", one)
    run(db, "afn-shipments", "afn-shipments-us.txt", one)

    other = make_seller(db)
    early = run(db, "afn-shipments", "afn-shipments-us.txt", other)
    assert early.report.rejected == 0
    run(db, "orders", "all-orders-us.txt", other)

    assert shipping_state(db, other) == shipping_state(db, one)
