"""``import amazon-shipconfirm``: the seller's shipping confirmation file into shipments with
carrier and tracking, and the figures they feed (late shipment, valid tracking).

Sample files: tests/data/amazon/README.md §13. Tracking versus carrier scans: ADR 0031.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.conftest import Db
from tests.integration.test_amazon_import import DATA, NOW, errors, make_seller, query
from tests.integration.test_amazon_import import run_import as run
from tsunagu.events import ingest
from tsunagu.health.service import store_health
from tsunagu.orders.models import Order


def order(db: Db, seller: str, order_id: str) -> Order:
    with db.session() as session:
        found = session.execute(
            select(Order).where(Order.seller_id == seller, Order.order_id == order_id)
        ).scalar_one()
        session.expunge(found)
        return found


def shipping_state(db: Db, seller: str) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT order_id, shipped_at, ship_time_known, carrier, tracking_id FROM orders "
        "WHERE seller_id = :s ORDER BY order_id",
        s=seller,
    )


def health(db: Db, seller: str, mp: str, day: date) -> Any:
    with db.session() as session:
        return store_health(
            session, seller_id=seller, marketplace=db.registry.require(mp), day=day, now=NOW
        )


def test_jp_template_with_its_two_preamble_lines_and_cp932(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    result = run(db, "shipconfirm", "shipconfirm-jp-cp932.txt", seller, "JP")
    assert result.stats["encoding"] == "cp932"
    assert errors(result) == []
    # 6 rows, 5 packages: the two rows of 250-3374481-6120937 share one tracking number
    assert (result.stats["rows"], result.stats["packages"], result.report.stored) == (6, 5, 5)
    shipped = order(db, seller, "249-0857312-5583046")
    assert (shipped.carrier, shipped.tracking_id) == ("エコ配", "EC0077001122")  # Other → name


def test_known_ship_time_replaces_the_all_orders_guess(db: Db) -> None:
    """The All Orders report dates a shipment at the purchase with an unknown time; the
    confirmation's date (midnight in Tokyo) replaces it, and the order is shipped once."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    before = order(db, seller, "250-2817764-0935512")
    assert before.ship_time_known is False
    run(db, "shipconfirm", "shipconfirm-jp-cp932.txt", seller, "JP")
    after = order(db, seller, "250-2817764-0935512")
    assert after.ship_time_known is True
    assert after.shipped_at is not None
    assert after.shipped_at.astimezone(UTC) == datetime(2026, 10, 3, 15, 0, tzinfo=UTC)
    assert (after.carrier, after.tracking_id) == ("ヤマト運輸", "412345678901")
    shipped_events = query(
        db,
        "SELECT count(*) FROM events WHERE seller_id = :s AND order_id = :o AND type = 'order_shipped'",
        s=seller,
        o="250-2817764-0935512",
    )
    assert shipped_events == [(2,)]
    fulfilled = health(db, seller, "JP", date(2026, 10, 20)).fulfilled_orders
    # shipped and not cancelled: the 4 shipped in All Orders + 503-1385527 and 250-3374481
    assert fulfilled == 6


def test_jp_ship_dates_feed_the_late_shipment_rate(db: Db) -> None:
    """Worked example (README §13): of the three orders with a ship-by date, 503-1385527 ships
    the day after its promise and 250-7720946 never ships: 2 of 3 late. Before the
    confirmation file all three were unshipped past their date: 3 of 3."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-jp-cp932.txt", seller, "JP")
    run(db, "unshipped", "unshipped-jp.txt", seller, "JP")
    day = date(2026, 10, 20)
    before = health(db, seller, "JP", day).metrics["late_shipment_rate_30"]
    assert (before.numerator, before.denominator) == (3, 3)

    run(db, "shipconfirm", "shipconfirm-jp-cp932.txt", seller, "JP")

    lsr = health(db, seller, "JP", day).metrics["late_shipment_rate_30"]
    assert (lsr.numerator, lsr.denominator) == (2, 3)
    assert lsr.ids == ("250-7720946-3308175", "503-1385527-9047731")
    assert lsr.components["shippedLate"] == 1
    assert lsr.components["unshippedPastDue"] == 1


def test_tracking_without_a_carrier_scan_is_not_valid_tracking(db: Db) -> None:
    """Worked example (ADR 0031): four shipped MFN orders promised for 6–8 Oct. The file gives
    tracking numbers to three and none to 113-9064427; carrier scans (sent as events, as a
    carrier feed would) exist for two. Valid tracking = 2 / 4, one without tracking, one
    unscanned. Before the file, tracking was unknown: nothing measurable."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    promised = {
        "112-4830291-5520147": "2026-10-06T23:59:59-07:00",
        "114-0587213-7730916": "2026-10-07T23:59:59-07:00",
        "114-6650192-0318874": "2026-10-08T23:59:59-07:00",
        "113-9064427-7786105": "2026-10-08T23:59:59-07:00",
    }
    events: list[dict[str, Any]] = [
        {
            "event_id": f"carrier:{order_id}:promise",
            "type": "order_promise_set",
            "seller": seller,
            "marketplace": "US",
            "at": "2026-10-03T00:00:00Z",
            "order_id": order_id,
            "latest_delivery_date": when,
        }
        for order_id, when in promised.items()
    ] + [
        {
            "event_id": f"carrier:{order_id}:scan",
            "type": "tracking_scanned",
            "seller": seller,
            "marketplace": "US",
            "at": "2026-10-04T18:00:00Z",
            "order_id": order_id,
        }
        for order_id in ("112-4830291-5520147", "114-0587213-7730916")
    ]
    report = ingest.run(
        db.factory,
        lambda: list(enumerate(events, start=1)),
        registry=db.registry,
        now=NOW,
        source_label="carrier-feed",
    )
    assert report.rejected == 0
    day = date(2026, 10, 30)  # the window (30 days, 14 days back) holds 6–8 Oct
    before = health(db, seller, "US", day).metrics["valid_tracking_rate"]
    assert (before.denominator, before.not_measurable) == (0, 4)

    result = run(db, "shipconfirm", "shipconfirm-us.txt", seller)
    assert errors(result) == []

    vtr = health(db, seller, "US", day).metrics["valid_tracking_rate"]
    assert (vtr.numerator, vtr.denominator) == (2, 4)
    assert vtr.ids == ("112-4830291-5520147", "114-0587213-7730916")
    assert vtr.components == {"noTracking": 1, "unscanned": 1}
    # the second package of 114-0587213-7730916 is the later one: its number is the order's
    assert order(db, seller, "114-0587213-7730916").tracking_id == "1Z999AA10123456791"


def test_bad_rows_are_reported_with_line_field_and_code(db: Db) -> None:
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    result = run(db, "shipconfirm", "shipconfirm-us-bad.txt", seller)
    assert errors(result) == [
        (3, "order-id", "invalid_order_id"),
        (4, "ship-date", "invalid_date"),
        (5, "quantity", "invalid_quantity"),
        (7, "ship-date", "inconsistent_order_rows"),
        (8, "ship-date", "missing_value"),
    ]
    assert result.report.stored == 1


def test_reimport_and_shuffled_columns_are_all_duplicates(db: Db) -> None:
    """Idempotent (IMP-02), whatever the column order and extra columns."""
    seller = make_seller(db)
    run(db, "orders", "all-orders-us.txt", seller)
    first = run(db, "shipconfirm", "shipconfirm-us.txt", seller)
    assert first.report.stored == 8
    after_first = shipping_state(db, seller)
    for name in ("shipconfirm-us.txt", "shipconfirm-us-shuffled.txt"):
        again = run(db, "shipconfirm", name, seller)
        assert (again.report.stored, again.report.duplicates) == (0, 8)
    assert shipping_state(db, seller) == after_first


def test_confirmations_before_their_orders_end_in_the_same_state(db: Db) -> None:
    one = make_seller(db)
    run(db, "orders", "all-orders-us.txt", one)
    run(db, "shipconfirm", "shipconfirm-us.txt", one)

    other = make_seller(db)
    early = run(db, "shipconfirm", "shipconfirm-us.txt", other)
    assert early.report.rejected == 0
    run(db, "orders", "all-orders-us.txt", other)

    def rows(seller: str) -> list[tuple[Any, ...]]:
        return [
            (order_id, str(at), known, carrier, tracking)
            for order_id, at, known, carrier, tracking in shipping_state(db, seller)
        ]

    assert rows(other) == rows(one)


def test_cli_command(tmp_path: Path) -> None:
    """``tsunagu import amazon-shipconfirm`` as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    env["TSUNAGU_LANG"] = "en"

    def tsunagu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tsunagu.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    seller = tsunagu("sellers", "create", "--name", "Kyoto", "-m", "US").stdout.strip()
    common = ("--seller", seller, "--marketplace", "US")
    assert (
        tsunagu("import", "amazon-orders", str(DATA / "all-orders-us.txt"), *common).returncode == 0
    )
    r = tsunagu("import", "amazon-shipconfirm", str(DATA / "shipconfirm-us.txt"), *common, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["stored"], report["rejected"], report["file"]["packages"]) == (8, 0, 8)
