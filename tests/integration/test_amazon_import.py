"""Importing Amazon's flat files, checked against the hand-written samples in tests/data/amazon.

The expected numbers come from tests/data/amazon/README.md; each test names the file and section.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text

from tests.conftest import Db
from tsunagu.connectors.amazon.service import ImportResult, import_file
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import NotFound, UsageError
from tsunagu.orders.models import Order
from tsunagu.sellers.service import create_seller

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

#: Personal values of the sample files that must never reach the event log.
US_PERSONAL = (
    "m.oyelaran@example.org",
    "Marcus Oyelaran",
    "617-555-0134",
    "Tremont",
    "BOSTON",
    "02108",
    "98101-2118",
    "Seattle",
    "Ana Castellanos",
    "Henry Castellanos",
)


def make_seller(db: Db, name: str = "Kyoto Tea House") -> str:
    with unit_of_work(db.factory) as session:
        seller = create_seller(
            session, name=name, marketplaces=["JP", "US"], registry=db.registry, now=NOW
        )
        return seller.id


def run_import(
    db: Db, kind: str, name: str, seller: str, marketplace: str = "US", **options: Any
) -> ImportResult:
    return import_file(
        db.factory,
        kind,
        DATA / name,
        seller_id=seller,
        marketplace=db.registry.require(marketplace),
        registry=db.registry,
        now=NOW,
        **options,
    )


def query(db: Db, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.session() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def orders(db: Db, seller: str) -> dict[str, dict[str, Any]]:
    """Order rows as dicts, read through the model so that times come back as aware UTC."""
    names = [column.name for column in Order.__table__.columns]
    with db.session() as session:
        found = session.execute(select(Order).where(Order.seller_id == seller)).scalars()
        return {o.order_id: {name: getattr(o, name) for name in names} for o in found}


def items(db: Db, seller: str, order_id: str) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT sku, quantity, price, tax FROM order_items WHERE seller_id = :s "
        "AND order_id = :o ORDER BY line_no",
        s=seller,
        o=order_id,
    )


def signature(db: Db, seller: str) -> tuple[object, ...]:
    """Everything an import can change: events, orders and their items."""
    events = query(
        db,
        "SELECT event_id, body_hash FROM events WHERE seller_id = :s ORDER BY event_id",
        s=seller,
    )
    order_rows = sorted(
        tuple((k, str(v)) for k, v in sorted(row.items())) for row in orders(db, seller).values()
    )
    item_rows = query(
        db,
        "SELECT order_id, line_no, sku, quantity, price, tax FROM order_items "
        "WHERE seller_id = :s ORDER BY order_id, line_no",
        s=seller,
    )
    return (events, order_rows, item_rows)


def event_bodies(db: Db, seller: str) -> list[str]:
    return [r[0] for r in query(db, "SELECT body FROM events WHERE seller_id = :s", s=seller)]


def personal_values(db: Db, seller: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for (fields,) in query(
        db, "SELECT fields FROM personal_records WHERE seller_id = :s", s=seller
    ):
        for field, value in orjson.loads(fields).items():
            found.setdefault(field, set()).add(value)
    return found


def errors(result: ImportResult) -> list[tuple[int, str, str]]:
    return [(e["line"], e["field"], e["code"]) for e in result.as_dict()["errors"]]


# -- All Orders, US (README §1) ----------------------------------------------------------------


def test_us_file_stores_every_order_but_the_pending_one(db: Db) -> None:
    seller = make_seller(db)
    result = run_import(db, "orders", "all-orders-us.txt", seller)
    summary = result.as_dict()
    assert summary["rejected"] == 0
    assert summary["file"] == {
        "rows": 16,
        "orders": 12,
        "pending": 1,
        "known_orders": 0,
        "other_channel": 0,
        # ship city, state, postal code and country of the 11 stored orders
        "encoding": "utf-8",
        "personal_values": 44,
    }
    # 11 order_placed + 7 order_shipped + 1 order_cancelled
    assert summary["stored"] == 19
    stored = orders(db, seller)
    assert len(stored) == 11
    assert "111-6032517-8894410" not in stored
    statuses = sorted(o["status"] for o in stored.values())
    assert statuses == ["cancelled"] + ["shipped"] * 7 + ["unshipped"] * 3
    assert sum(o["channel"] == "AFN" for o in stored.values()) == 3


def test_rows_of_one_order_need_not_be_adjacent(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    order = orders(db, seller)["114-0587213-7730916"]
    assert order["items_total"] == 8399
    assert order["tax_total"] == 740
    assert items(db, seller, "114-0587213-7730916") == [
        ("MATCHA-UJI-100G", 1, 1999, 176),
        ("TETSUBIN-08L", 1, 6400, 564),
    ]
    assert orders(db, seller)["113-3341876-5109237"]["is_business"]


def test_shipped_orders_say_the_ship_time_is_unknown_and_guess_nothing(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    shipped = [o for o in orders(db, seller).values() if o["status"] == "shipped"]
    assert len(shipped) == 7
    for order in shipped:
        assert not order["ship_time_known"]
        assert order["shipped_at"] == order["purchased_at"]
        assert order["tracking_id"] is None
        assert order["carrier"] is None
        assert order["latest_ship_date"] is None
        assert order["latest_delivery_date"] is None


def test_cancelled_order_with_blank_amounts_is_placed_at_zero_and_cancelled_by_unknown(
    db: Db,
) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    order = orders(db, seller)["113-7719402-0045263"]
    assert order["status"] == "cancelled"
    assert order["cancelled_by"] == "unknown"
    assert order["items_total"] == 0
    assert items(db, seller, "113-7719402-0045263") == [("TETSUBIN-08L", 0, 0, None)]
    (body,) = query(
        db,
        "SELECT body FROM events WHERE seller_id = :s AND event_id = :e",
        s=seller,
        e="amzn:113-7719402-0045263:placed",
    )
    assert orjson.loads(body[0])["amounts_known"] is False


def test_reimporting_the_same_file_changes_nothing(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    before = signature(db, seller)
    again = run_import(db, "orders", "all-orders-us.txt", seller).as_dict()
    assert again["stored"] == 0
    assert again["rejected"] == 0
    assert again["duplicates"] == 8  # the status events; no order_placed is rebuilt
    assert again["file"]["known_orders"] == 11
    assert signature(db, seller) == before


def test_newer_overlapping_download_adds_only_new_orders_and_status_changes(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    oldest_before = orders(db, seller)["112-4830291-5520147"]
    newer = run_import(db, "orders", "all-orders-us-newer.txt", seller).as_dict()
    assert newer["rejected"] == 0
    assert newer["errors"] == []
    assert newer["file"]["rows"] == 19
    assert newer["file"]["pending"] == 1  # 114-7740625-0562918 comes with a later download
    stored = orders(db, seller)
    # README §2 counts 15 distinct orders; the pending one has no events yet.
    assert len(stored) == 14
    assert "114-7740625-0562918" not in stored
    assert stored["112-4830291-5520147"] == oldest_before
    assert stored["111-6032517-8894410"]["items_total"] == 1250
    assert stored["111-6032517-8894410"]["status"] == "shipped"
    assert stored["111-8823004-4467521"]["status"] == "shipped"
    statuses = [o["status"] for o in stored.values()]
    assert (statuses.count("shipped"), statuses.count("unshipped")) == (10, 3)
    assert statuses.count("cancelled") == 1
    # new: order_placed of 111-6032517-8894410 (no longer pending), 113-5827716-3390451 and
    # 112-6093318-7214490; order_shipped of the first two and of 111-8823004-4467521
    assert newer["stored"] == 6
    assert newer["file"]["known_orders"] == 10


# -- All Orders, JP (README §3 & 4) ------------------------------------------------------------


def test_cp932_and_utf8_bom_files_give_the_same_orders(db: Db) -> None:
    first, second = make_seller(db, "Shop A"), make_seller(db, "Shop B")
    cp932 = run_import(db, "orders", "all-orders-jp-cp932.txt", first, "JP").as_dict()
    utf8 = run_import(db, "orders", "all-orders-jp-utf8.txt", second, "JP").as_dict()
    assert cp932["file"]["encoding"] == "cp932"
    assert utf8["file"]["encoding"] == "utf-8-sig"
    assert cp932["rejected"] == utf8["rejected"] == 0

    def comparable(seller: str) -> list[tuple[str, ...]]:
        return sorted(
            tuple(str(v) for k, v in sorted(o.items()) if k != "seller_id")
            for o in orders(db, seller).values()
        )

    assert len(orders(db, first)) == 8
    assert comparable(first) == comparable(second)
    assert sum(o["items_total"] for o in orders(db, first).values()) == 27840
    assert all(o["currency"] == "JPY" and o["tax_total"] == 0 for o in orders(db, first).values())
    assert signature(db, first)[2] == signature(db, second)[2]


def test_jp_file_imported_as_us_is_rejected_row_by_row(db: Db) -> None:
    seller = make_seller(db)
    result = run_import(db, "orders", "all-orders-jp-utf8.txt", seller, "US")
    assert errors(result) == [
        (line, "sales-channel", "sales_channel_mismatch") for line in range(2, 12)
    ]
    assert result.report.stored == 0
    assert orders(db, seller) == {}


# -- bad files (README §9) ---------------------------------------------------------------------


def test_bad_rows_are_reported_and_the_good_ones_stored(db: Db) -> None:
    seller = make_seller(db)
    result = run_import(db, "orders", "all-orders-us-bad.txt", seller)
    assert errors(result) == [
        (3, "purchase-date", "invalid_date"),
        (4, "quantity", "invalid_quantity"),
        (5, "item-price", "invalid_amount"),
        (6, "order-status", "unknown_order_status"),
    ]
    values = [e["value"] for e in result.as_dict()["errors"]]
    assert values == ["not-a-date", "two", "12.345", "Teleported"]
    stored = orders(db, seller)
    assert sorted(stored) == ["112-7304418-2296051", "113-6190277-8845013"]
    assert sum(o["items_total"] for o in stored.values()) == 3249


def test_strict_import_of_a_bad_file_stores_nothing(db: Db) -> None:
    seller = make_seller(db)
    result = run_import(db, "orders", "all-orders-us-bad.txt", seller, strict=True)
    assert result.report.rejected == 4
    assert result.report.stored == 0
    assert orders(db, seller) == {}
    assert personal_values(db, seller) == {}


def test_dry_run_reports_but_writes_nothing(db: Db) -> None:
    seller = make_seller(db)
    result = run_import(db, "orders", "all-orders-us.txt", seller, dry_run=True)
    assert result.report.stored == 19
    assert orders(db, seller) == {}
    assert personal_values(db, seller) == {}


def test_missing_column_is_a_file_error_naming_it(db: Db) -> None:
    seller = make_seller(db)
    with pytest.raises(UsageError) as caught:
        run_import(db, "orders", "all-orders-missing-column.txt", seller)
    assert caught.value.code == "missing_column"
    assert caught.value.details["columns"] == ["purchase-date"]
    assert "purchase-date" in str(caught.value)


def test_unknown_seller_or_store_is_refused_before_reading(db: Db) -> None:
    with pytest.raises(NotFound):
        run_import(db, "orders", "all-orders-us.txt", "sel_nobody")


# -- Unshipped (README §5 & 6) -----------------------------------------------------------------


def test_unshipped_report_sets_the_promise_of_known_orders(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    result = run_import(db, "unshipped", "unshipped-us.txt", seller)
    # line 7 is the order still Pending in all-orders-us.txt, line 8 is in no orders file: both
    # are kept and wait for their order (ADR 0030)
    assert errors(result) == []
    assert result.report.stored == 5
    assert result.as_dict()["waiting_for_order"] == 2
    stored = orders(db, seller)
    expected = {
        "112-9175530-2641908": datetime(2026, 10, 7, 6, 59, 59, tzinfo=UTC),
        "111-8823004-4467521": datetime(2026, 10, 8, 6, 59, 59, tzinfo=UTC),
        "111-2748839-1150627": datetime(2026, 10, 9, 6, 59, 59, tzinfo=UTC),
    }
    for order_id, latest in expected.items():
        assert stored[order_id]["latest_ship_date"] == latest
    assert run_import(db, "unshipped", "unshipped-us.txt", seller).report.stored == 0


def test_unshipped_after_the_newer_download_knows_the_formerly_pending_order(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    run_import(db, "orders", "all-orders-us-newer.txt", seller)
    result = run_import(db, "unshipped", "unshipped-us.txt", seller)
    assert errors(result) == []
    assert (result.report.stored, result.report.waiting_for_order) == (5, 1)


def test_buyer_data_goes_to_the_personal_store_never_to_events(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    run_import(db, "unshipped", "unshipped-us.txt", seller)
    stored = personal_values(db, seller)
    assert "m.oyelaran@example.org" in stored["buyer_email"]
    assert {"Marcus Oyelaran", "Henry Castellanos"} <= stored["buyer_name"]
    assert "Ana Castellanos" in stored["recipient_name"]
    assert {"02108", "98101-2118"} <= stored["ship_postal_code"]
    # the order of line 8 is in no orders file: its row waits for it (ADR 0030), and so does
    # its buyer's data, linked to the order for when it arrives
    assert any(
        "112-5590013-4408836" in link
        for link in query(
            db,
            "SELECT order_id FROM personal_links WHERE seller_id = :s",
            s=seller,
        )
    )
    bodies = "\n".join(event_bodies(db, seller))
    for value in US_PERSONAL:
        assert value not in bodies


def test_jp_unshipped_promises_and_names(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    result = run_import(db, "unshipped", "unshipped-jp.txt", seller, "JP")
    assert errors(result) == []
    assert result.report.stored == 3
    order = orders(db, seller)["503-1385527-9047731"]
    assert order["latest_ship_date"] == datetime(2026, 10, 6, 14, 59, 59, tzinfo=UTC)
    assert "髙田 健太" in personal_values(db, seller)["buyer_name"]
    assert "髙田" not in "\n".join(event_bodies(db, seller))


# -- Feedback (README §7 & 8) ------------------------------------------------------------------


def test_us_feedback_with_short_us_dates(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-us.txt", seller)
    result = run_import(db, "feedback", "feedback-us.txt", seller)
    assert (result.report.stored, result.report.waiting_for_order) == (5, 1)
    assert errors(result) == []
    stored = orders(db, seller)
    assert stored["112-4830291-5520147"]["feedback_rating"] == 2
    # 10/9/26 at midnight in Los Angeles (PDT, UTC-7)
    assert stored["112-4830291-5520147"]["feedback_at"] == datetime(2026, 10, 9, 7, 0, tzinfo=UTC)
    assert stored["114-0587213-7730916"]["feedback_rating"] == 1
    assert stored["113-9064427-7786105"]["feedback_rating"] == 2
    (at,) = query(
        db,
        "SELECT body FROM events WHERE event_id = :e AND seller_id = :s",
        e="amzn:112-4830291-5520147:feedback:2026-10-09:2",
        s=seller,
    )
    assert orjson.loads(at[0])["at"] == "2026-10-09T07:00:00Z"
    bodies = "\n".join(event_bodies(db, seller))
    assert "k.brennan@example.com" not in bodies
    assert "three days" not in bodies
    emails = personal_values(db, seller)["buyer_email"]
    assert "k.brennan@example.com" in emails
    # line 5: its order is unknown, so the row and the rater's e-mail wait for it (ADR 0030)
    assert "r.okafor@example.com" in emails


def test_jp_feedback_dates_are_japanese_midnight(db: Db) -> None:
    seller = make_seller(db)
    run_import(db, "orders", "all-orders-jp-utf8.txt", seller, "JP")
    result = run_import(db, "feedback", "feedback-jp.txt", seller, "JP")
    assert errors(result) == []
    assert result.report.stored == 4
    order = orders(db, seller)["250-2817764-0935512"]
    assert order["feedback_at"] == datetime(2026, 10, 7, 15, 0, tzinfo=UTC)
    assert order["feedback_rating"] == 2
