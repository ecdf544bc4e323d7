"""tsunagu's V2 report validates against Amazon's published schema (issue 12, item 5).

The schema (``tests/fixtures/amazon/accountHealthReport-2020-11-18.json``) requires a number
for every ``rate``; a store with nothing to measure used to print ``null``. Each report is
checked as built by the service, as loaded from the demo data, and as printed by
``tsunagu health report``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.amazon_schema import SCHEMA_PATH, assert_valid_v2_report, v2_report_errors
from tests.conftest import Db
from tests.factories import NOW, at, event, ingest_events, make_seller, placed
from tests.integration.test_cli import tsunagu, write_jsonl
from tsunagu.demo.generate import generate
from tsunagu.demo.load import load
from tsunagu.health import service
from tsunagu.sellers.models import Seller

DAY = NOW.date()

#: every metric object of a performanceMetrics item that carries a ``rate``
RATE_PATHS = (
    ("orderDefectRate", "mfn"),
    ("orderDefectRate", "afn"),
    ("lateShipmentRate",),
    ("preFulfillmentCancellationRate",),
    ("validTrackingRate",),
    ("onTimeDeliveryRate",),
    ("unitOnTimeDeliveryRate",),
    ("invoiceDefectRate",),
)


def metric(item: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    found: Any = item
    for key in path:
        found = found[key]
    assert isinstance(found, dict)
    return found


def busy_store_events(seller: str) -> list[dict[str, Any]]:
    """A JP store with something in every metric's window (D = 2026-11-25, NOW 21:00 JST)."""
    events: list[dict[str, Any]] = []
    # ODR (60 days ending D−14) and valid tracking / on-time delivery (30 days ending D−14):
    # MFN and AFN orders placed 20 days ago, shipped with tracking, delivered
    for n, channel in enumerate(["MFN"] * 6 + ["AFN"] * 3):
        order_id = f"503-ODR{n:04d}"
        events += [
            placed(
                seller,
                order_id,
                channel=channel,
                when=at(-20),
                latest_ship_date=at(-19),
                latest_delivery_date=at(-16),
            ),
            event("order_shipped", seller, order_id=order_id, tracking_id=f"TR{n}", when=at(-19.5)),
            event("tracking_scanned", seller, order_id=order_id, when=at(-19)),
            event("order_delivered", seller, order_id=order_id, when=at(-16.5 if n else -15)),
        ]
    events += [
        event("feedback_posted", seller, order_id="503-ODR0000", rating=1, when=at(-18)),
        event("claim_filed", seller, order_id="503-ODR0001", claim_id="CL-1", when=at(-17)),
        event(
            "chargeback_filed", seller, order_id="503-ODR0006", chargeback_id="CB-1", when=at(-17)
        ),
    ]
    # late shipment (10 and 30 days): one late, one on time
    events += [
        placed(seller, "503-LATE", when=at(-5), latest_ship_date=at(-4)),
        event("order_shipped", seller, order_id="503-LATE", tracking_id="T-L", when=at(-3)),
        placed(seller, "503-ONTIME", when=at(-5), latest_ship_date=at(-4)),
        event("order_shipped", seller, order_id="503-ONTIME", tracking_id="T-O", when=at(-4.5)),
    ]
    # pre-fulfilment cancellation (7 days): one seller cancellation
    events += [
        placed(seller, "503-CANCEL", when=at(-3)),
        event("order_cancelled", seller, order_id="503-CANCEL", by="seller", when=at(-2.5)),
    ]
    # invoice defects (business orders shipped in the 7 days ending D−7): one invoiced on
    # time, one never invoiced
    for order_id, invoiced in (("503-INV-OK", True), ("503-INV-MISSING", False)):
        events += [
            placed(seller, order_id, when=at(-11), is_business=True),
            event("order_shipped", seller, order_id=order_id, tracking_id=order_id, when=at(-10)),
        ]
        if invoiced:
            events.append(event("invoice_uploaded", seller, order_id=order_id, when=at(-9.9)))
    # contact response, returns, survey, and an open violation
    events += [
        event("message_received", seller, message_id="M-1", order_id="503-ODR0002", when=at(-6)),
        event("message_answered", seller, message_id="M-1", when=at(-5.9)),
        event("return_requested", seller, order_id="503-ODR0003", return_id="R-1", when=at(-8)),
        event("cs_survey_answered", seller, order_id="503-ODR0004", satisfied=False, when=at(-2)),
        event(
            "violation_opened",
            seller,
            violation_id="V-logo",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            when=at(-30),
        ),
    ]
    return events


def report_of(db: Db, seller: str, marketplace: str) -> dict[str, Any]:
    with db.session() as session:
        return service.store_report(
            session,
            seller_id=seller,
            marketplace=db.registry.require(marketplace),
            day=DAY,
            now=NOW,
        )


def only_item(report: dict[str, Any]) -> dict[str, Any]:
    (item,) = report["performanceMetrics"]
    assert isinstance(item, dict)
    return item


def test_the_saved_schema_is_amazons_draft_07_file():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema"
    assert schema["required"] == ["accountStatuses", "performanceMetrics"]
    item = schema["properties"]["performanceMetrics"]["items"]
    assert {"invoiceDefectRate", "unitOnTimeDeliveryRate"} <= set(item["required"])
    assert "rate" in item["properties"]["invoiceDefectRate"]["required"]
    assert "rate" in item["properties"]["unitOnTimeDeliveryRate"]["required"]
    assert schema["definitions"]["Rate"]["type"] == "number"


def test_the_validator_rejects_a_null_rate(db: Db):
    """A control: the schema check is not vacuous."""
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, busy_store_events(seller))
    report = report_of(db, seller, "JP")
    assert_valid_v2_report(report)
    only_item(report)["invoiceDefectRate"]["rate"] = None
    assert v2_report_errors(report) == [
        '/performanceMetrics/0/invoiceDefectRate/rate: null is not of type "number"'
    ]


def test_a_store_with_data_is_valid_and_its_rates_are_the_counts(db: Db):
    seller = make_seller(db, marketplaces=("JP",))
    ingest_events(db, busy_store_events(seller))
    report = report_of(db, seller, "JP")
    assert_valid_v2_report(report)
    item = only_item(report)

    invoice = item["invoiceDefectRate"]
    assert (invoice["orderCount"], invoice["invoiceDefect"]["count"]) == (2, 1)
    assert invoice["missingInvoice"]["count"] == 1
    assert (invoice["rate"], invoice["status"]) == (0.5, "BAD")
    mfn = item["orderDefectRate"]["mfn"]
    assert (mfn["orderCount"], mfn["orderWithDefects"]["count"], mfn["rate"]) == (6, 2, 2 / 6)
    assert item["orderDefectRate"]["afn"]["orderCount"] == 3
    lsr = item["lateShipmentRate"]
    assert lsr["lateShipmentCount"] == 1
    assert lsr["rate"] == 1 / lsr["orderCount"]
    cancel = item["preFulfillmentCancellationRate"]
    assert cancel["cancellationCount"] == 1
    assert cancel["rate"] == cancel["cancellationCount"] / cancel["orderCount"]
    for path in RATE_PATHS:
        m = metric(item, path)
        assert isinstance(m["rate"], float), path
    # tsunagu does not count units: the metric is there, empty, and says so
    unit = item["unitOnTimeDeliveryRate"]
    assert (unit["rate"], unit["status"], unit["totalUnitCount"]) == (0.0, "NONE", 0)


@pytest.mark.parametrize("marketplace", ["JP", "US"])
def test_a_store_without_any_data_is_valid_with_zero_rates_and_status_none(
    db: Db, marketplace: str
):
    seller = make_seller(db, marketplaces=(marketplace,))
    report = report_of(db, seller, marketplace)
    assert_valid_v2_report(report)
    item = only_item(report)
    for path in RATE_PATHS:
        m = metric(item, path)
        assert (m["rate"], m["status"]) == (0.0, "NONE"), path
    invoice = item["invoiceDefectRate"]
    assert invoice["orderCount"] == invoice["invoiceDefect"]["count"] == 0
    # "nothing to measure" stays visible beside the schema's number
    assert item["tsunaguFulfilledOrders"] == 0


def test_every_store_of_the_demo_data_is_valid(sqlite_db: Db):
    db = sqlite_db
    now = datetime.combine(DAY, time(12), UTC)
    load(db.factory, generate(seed=7, orders=600, as_of=DAY), registry=db.registry, now=now)
    checked = 0
    with db.session() as session:
        for seller in session.query(Seller).order_by(Seller.id):
            for h in service.seller_health(
                session, seller_id=seller.id, registry=db.registry, day=DAY, now=now
            ):
                report = service.store_report(
                    session,
                    seller_id=seller.id,
                    marketplace=db.registry.require(h.marketplace),
                    day=DAY,
                    now=now,
                )
                assert_valid_v2_report(report)
                checked += 1
    assert checked >= 3


def test_the_cli_report_is_valid_json_for_the_schema(tmp_path: Path):
    made = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP", "-m", "US")
    assert made.returncode == 0, made.stderr
    seller = made.stdout.strip()
    events = write_jsonl(tmp_path / "events.jsonl", busy_store_events(seller))
    imported = tsunagu(tmp_path, "events", "import", str(events))
    assert imported.returncode == 0, imported.stderr
    for marketplace in ("JP", "US"):  # JP has data, US has none
        r = tsunagu(
            tmp_path,
            "health",
            "report",
            "--seller",
            seller,
            "--marketplace",
            marketplace,
            "--as-of",
            DAY.isoformat(),
        )
        assert r.returncode == 0, r.stderr
        printed = orjson.loads(r.stdout)
        assert_valid_v2_report(printed)
        assert "null" not in json.dumps(
            {k: v for k, v in only_item(printed).items() if not k.startswith("tsunagu")}
        )
