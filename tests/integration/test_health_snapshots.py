"""Amazon's V2 report imported as a snapshot and compared with tsunagu, on both databases,
and the two commands as a user runs them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from tests.amazon_schema import assert_valid_v2_report
from tests.conftest import Db
from tests.factories import NOW, at, event, make_seller, placed
from tests.integration.test_cli import tsunagu, write_jsonl
from tests.integration.test_health_service import health, run
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import InvalidInput, NotFound
from tsunagu.events.models import Event
from tsunagu.health import service, snapshots
from tsunagu.health.models import HealthSnapshot
from tsunagu.orders.models import Order
from tsunagu.violations.models import Violation

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
DAY = date(2026, 11, 25)


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def import_file(db: Db, seller: str, data: bytes, name: str = "report.json") -> Any:
    with unit_of_work(db.factory) as session:
        result = snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            data=data,
            source_name=name,
            now=NOW,
        )
        return result.outcome, result.snapshot.id, result.snapshot.report_date


def count(db: Db, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def compare(db: Db, seller: str, as_of: date | None = None) -> snapshots.Comparison:
    with db.session() as session:
        return snapshots.compare(
            session, seller_id=seller, marketplace=db.registry.require("JP"), as_of=as_of, now=NOW
        )


def rows(c: snapshots.Comparison) -> dict[str, tuple[Any, Any, str]]:
    return {r.figure: (r.amazon, r.tsunagu, r.difference) for r in c.rows}


def a_store_with_orders(db: Db) -> str:
    """Three MFN orders, the first shipped late; one open low-severity IP complaint."""
    seller = make_seller(db)
    events: list[dict[str, Any]] = []
    for n in range(3):
        order_id = f"503-000000{n}"
        events.append(placed(seller, order_id, when=at(-5 + n), latest_ship_date=at(-4 + n)))
        shipped = at(-3.5 + n) if n == 0 else at(-4.5 + n)
        events.append(
            event("order_shipped", seller, order_id=order_id, tracking_id=f"T{n}", when=shipped)
        )
    events.append(
        event(
            "violation_opened",
            seller,
            violation_id="V-1",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            when=at(-20),
        )
    )
    run(db, events)
    return seller


def test_import_stores_the_figures_once_per_store(db: Db):
    seller = make_seller(db)
    other = make_seller(db, name="Osaka Ceramics")
    data = read("v2-health-jp.json")
    assert import_file(db, seller, data)[0::2] == ("stored", "2026-11-25")
    outcome, first_id, _ = import_file(db, seller, data, "again.json")
    again = import_file(db, seller, data, "again.json")
    assert (outcome, again[0], again[1]) == ("duplicate", "duplicate", first_id)
    assert import_file(db, other, data)[0] == "stored"  # unique per seller and marketplace
    assert count(db, HealthSnapshot) == 2
    with db.session() as session:
        snap = session.scalars(
            select(HealthSnapshot).where(HealthSnapshot.seller_id == seller)
        ).one()
        assert (snap.id, snap.marketplace, snap.source_name) == (first_id, "JP", "report.json")
        assert snap.file_sha256 == snapshots.file_sha256(data)
        assert snap.figures["ahr"]["score"] == 212
        odr = snap.figures["metrics"]["order_defect_rate_mfn"]
        assert (odr["numerator"], odr["denominator"], odr["rate"]) == (3, 412, 0.0073)
        assert snap.figures["listing_violations"]["receivedIntellectualPropertyComplaints"] == 1
    # Amazon's counts never become orders, violations or events
    assert (count(db, Event), count(db, Order), count(db, Violation)) == (0, 0, 0)


def test_a_bad_file_or_store_writes_nothing(db: Db):
    seller = make_seller(db)
    only_us = make_seller(db, name="US only", marketplaces=("US",))
    with pytest.raises(InvalidInput) as caught:
        import_file(db, seller, read("v2-health-bad-rate.json"))
    assert caught.value.details["path"] == "performanceMetrics[0].orderDefectRate.mfn.rate"
    with pytest.raises(InvalidInput) as caught:
        import_file(db, seller, read("v2-health-us-only.json"))
    assert caught.value.code == "marketplace_not_in_report"
    with pytest.raises(NotFound) as missing:
        import_file(db, only_us, read("v2-health-jp.json"))
    assert missing.value.code == "marketplace_not_enabled"
    assert count(db, HealthSnapshot) == 0


def test_latest_snapshot_on_or_before_a_day(db: Db):
    seller = make_seller(db)
    with pytest.raises(NotFound) as none:
        compare(db, seller)
    assert none.value.code == "no_snapshot"
    _, november, _ = import_file(db, seller, read("v2-health-jp.json"))
    _, october, _ = import_file(db, seller, read("v2-health-jp-quirks.json"))
    with db.session() as session:

        def latest(day: date | None) -> str | None:
            found = snapshots.latest_snapshot(
                session, seller_id=seller, marketplace="JP", on_or_before=day
            )
            return None if found is None else found.id

        assert latest(None) == november
        assert latest(date(2026, 11, 25)) == november
        # 2026-11-24 is the date the November report prints (its reportingDateTo in UTC): it
        # finds that report too (ADR 0037); the day before finds October's
        assert latest(date(2026, 11, 24)) == november
        assert latest(date(2026, 11, 23)) == october
        assert latest(date(2026, 10, 26)) == october  # the date October's report prints
        assert latest(date(2026, 10, 25)) is None
    assert compare(db, seller, date(2026, 11, 1)).report_date == date(2026, 10, 27)
    with pytest.raises(NotFound) as early:
        compare(db, seller, date(2026, 10, 1))
    assert (early.value.code, early.value.details["as_of"]) == ("no_snapshot", "2026-10-01")


def test_tsunagus_own_report_compares_the_same(db: Db):
    seller = a_store_with_orders(db)
    with db.session() as session:
        own = service.store_report(
            session, seller_id=seller, marketplace=db.registry.require("JP"), day=DAY, now=NOW
        )
    assert_valid_v2_report(own)
    assert import_file(db, seller, orjson.dumps(own))[0::2] == ("stored", "2026-11-25")
    c = compare(db, seller)
    assert c.report_date == DAY
    found = rows(c)
    # tsunagu's report carries Amazon's US-only unit on-time delivery rate as a never-measured
    # placeholder (0 of 0, NONE, and the rate 0.0 the schema demands, which a comparison reads
    # as no rate); tsunagu itself has no such figure to compare
    unit = {k: v for k, v in found.items() if k.startswith("unit_on_time_delivery_rate.")}
    assert unit == {
        "unit_on_time_delivery_rate.rate": (None, None, "same"),
        "unit_on_time_delivery_rate.numerator": (0, None, "missing_in_tsunagu"),
        "unit_on_time_delivery_rate.denominator": (0, None, "missing_in_tsunagu"),
        "unit_on_time_delivery_rate.status": ("NONE", None, "missing_in_tsunagu"),
        "unit_on_time_delivery_rate.target": (pytest.approx(0.97), None, "missing_in_tsunagu"),
    }
    others = {k: v for k, v in found.items() if k not in unit}
    assert len(others) > 50
    assert {v[2] for v in others.values()} == {"same"}
    assert found["late_shipment_rate_30.numerator"] == (1, 1, "same")
    assert found["late_shipment_rate_10.denominator"] == (3, 3, "same")
    assert found["ahr_score"] == (198, 198, "same")
    assert found["account_status"] == ("AT_RISK", "AT_RISK", "same")
    assert found["receivedIntellectualPropertyComplaints.defectsCount"] == (1, 1, "same")


def test_amazons_figures_beside_tsunagus(db: Db):
    seller = a_store_with_orders(db)
    import_file(db, seller, read("v2-health-jp.json"))
    ours = health(db, seller)
    c = compare(db, seller)
    found = rows(c)
    assert c.report_date == DAY
    assert found["ahr_score"] == (212, 198, "differs")
    assert found["ahr_status"] == ("GREAT", "WARNED", "differs")
    assert found["account_status"] == ("NORMAL", "AT_RISK", "differs")
    lsr = ours.metrics["late_shipment_rate_30"]
    assert (lsr.numerator, lsr.denominator) == (1, 3)
    assert found["late_shipment_rate_30.numerator"] == (5, 1, "differs")
    assert found["late_shipment_rate_30.denominator"] == (301, 3, "differs")
    assert found["late_shipment_rate_30.rate"] == (0.0166, pytest.approx(1 / 3), "differs")
    assert found["late_shipment_rate_30.target"] == (0.04, lsr.target, "same")
    odr = ours.metrics["order_defect_rate_mfn"]
    assert found["order_defect_rate_mfn.denominator"] == (412, odr.denominator, "differs")
    # no AFN order at tsunagu: its report writes the schema's rate 0.0 with status NONE, which
    # the comparison reads as "tsunagu measured nothing", not as a measured zero
    assert found["order_defect_rate_afn.rate"] == (0.0, None, "missing_in_tsunagu")
    assert found["order_defect_rate_afn.denominator"] == (128, 0, "differs")
    assert found["order_defect_rate_afn.status"] == ("GOOD", "NONE", "differs")
    assert found["receivedIntellectualPropertyComplaints.defectsCount"] == (1, 1, "same")
    assert found["listingPolicyViolations.defectsCount"] == (0, 0, "same")
    assert found["policyViolationWarnings.warningsCount"] == (0, None, "missing_in_tsunagu")
    assert found["unit_on_time_delivery_rate.rate"] == (None, None, "same")
    assert found["unit_on_time_delivery_rate.denominator"] == (0, None, "missing_in_tsunagu")
    assert sum(c.counts().values()) == len(c.rows)


# --------------------------------------------------------------------------- the commands


def test_cli_import_and_compare(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    events = write_jsonl(
        tmp_path / "events.jsonl",
        [
            placed(seller, "503-1", when=at(-3), latest_ship_date=at(-2)),
            event("order_shipped", seller, order_id="503-1", tracking_id="T", when=at(-1)),
        ],
    )
    assert tsunagu(tmp_path, "events", "import", str(events)).returncode == 0
    report = str(DATA / "v2-health-jp.json")
    r = tsunagu(tmp_path, "import", "amazon-health", report, "--seller", seller, "-m", "JP")
    assert r.returncode == 0, r.stderr
    assert "Stored v2-health-jp.json as hsn_" in r.stdout
    assert "Report date: 2026-11-25 (JP)" in r.stdout
    assert "Amazon's Account Health Rating: 212 (GREAT)" in r.stdout
    assert "Metrics in the report: 9" in r.stdout
    again = tsunagu(
        tmp_path, "import", "amazon-health", report, "--seller", seller, "-m", "JP", "--json"
    )
    assert again.returncode == 0, again.stderr
    shown = json.loads(again.stdout)
    assert shown["outcome"] == "duplicate"
    assert (shown["snapshot"]["report_date"], shown["snapshot"]["ahr_score"]) == ("2026-11-25", 212)
    assert shown["snapshot"]["metric_count"] == 9

    args = ("health", "compare", "--seller", seller, "-m", "JP", "--as-of", "2026-11-25")
    r = tsunagu(tmp_path, *args, "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["report_date"] == "2026-11-25"
    by_figure = {row["figure"]: row for row in body["rows"]}
    lsr = by_figure["late_shipment_rate_30.denominator"]
    assert (lsr["amazon"], lsr["tsunagu"], lsr["difference"]) == (301, 1, "differs")
    assert by_figure["ahr_score"]["amazon"] == 212
    assert body["counts"]["differs"] > 0
    table = tsunagu(tmp_path, *args)
    assert table.returncode == 0, table.stderr
    assert "Late shipment rate (30 days)" in table.stdout  # words, not codes (ADR 0037)
    assert "late_shipment_rate_30" not in table.stdout
    assert "differs" in table.stdout
    ja = tsunagu(tmp_path, *args, "--lang", "ja")
    assert ja.returncode == 0, ja.stderr
    assert "相違" in ja.stdout
    assert "出荷遅延率（30日間）" in ja.stdout


def test_cli_errors(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    bad = str(DATA / "v2-health-bad-rate.json")
    r = tsunagu(tmp_path, "import", "amazon-health", bad, "--seller", seller, "-m", "JP")
    assert r.returncode == 2
    assert "invalid_report_value" in r.stderr
    assert "performanceMetrics[0].orderDefectRate.mfn.rate" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    broken = str(DATA / "v2-health-truncated.json")
    r = tsunagu(tmp_path, "import", "amazon-health", broken, "--seller", seller, "-m", "JP")
    assert (r.returncode, "invalid_json" in r.stderr) == (2, True)
    missing = tsunagu(
        tmp_path, "import", "amazon-health", "nope.json", "--seller", seller, "-m", "JP"
    )
    assert (missing.returncode, "unreadable_file" in missing.stderr) == (2, True)
    none = tsunagu(tmp_path, "health", "compare", "--seller", seller, "-m", "JP")
    assert none.returncode == 1
    assert "no_snapshot" in none.stderr
    date_bad = tsunagu(
        tmp_path, "health", "compare", "--seller", seller, "-m", "JP", "--as-of", "x"
    )
    assert (date_bad.returncode, "invalid_date" in date_bad.stderr) == (2, True)
