"""Coverage of a real seller's account (issue 16 item 4, ADR 0033): a store fed only with
Amazon's All Orders and Feedback reports says which metrics lack a source and is "incomplete
data", not healthy; with Amazon's V2 report stored, Amazon's counts stand in, labelled."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import orjson

from tests.conftest import Db
from tsunagu.core.db import unit_of_work
from tsunagu.events.imports import FileImport, import_file
from tsunagu.health import service, snapshots
from tsunagu.health.coverage import StoreCoverage
from tsunagu.sellers.service import create_seller

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
#: the sample US orders were placed from 2026-10-01; their ODR window (60 days ending 14 days
#: before) holds them on this day
DAY = date(2026, 10, 31)


def _seller(db: Db) -> str:
    with unit_of_work(db.factory) as session:
        return create_seller(
            session, name="Harbor Tea", marketplaces=["US"], registry=db.registry, now=NOW
        ).id


def _import(db: Db, seller: str, kind: str, name: str) -> None:
    job = FileImport(
        kind=kind,
        path=DATA / name,
        name=name,
        seller_id=seller,
        marketplace=db.registry.require("US"),
    )
    import_file(db.factory, job, registry=db.registry, clock=lambda: NOW)


def _coverage(db: Db, seller: str) -> StoreCoverage:
    with db.session() as session:
        _h, found = service.store_coverage(
            session, seller_id=seller, marketplace=db.registry.require("US"), day=DAY, now=NOW
        )
        return found


def _orders_and_feedback(db: Db) -> str:
    seller = _seller(db)
    _import(db, seller, "amazon-orders", "all-orders-us.txt")
    _import(db, seller, "amazon-feedback", "feedback-us.txt")
    return seller


def test_orders_and_feedback_only_is_incomplete_data(db: Db) -> None:
    seller = _orders_and_feedback(db)
    found = _coverage(db, seller)

    assert found.data_status == "incomplete"
    odr = found.metrics["order_defect_rate_mfn"]
    states = {s.source: s.state for s in odr.sources}
    assert states == {
        "orders": "events",
        "feedback": "events",
        "claims": "missing",
        "chargebacks": "missing",
    }
    assert odr.verdict == "incomplete"
    # the cancel rate needs orders only
    assert found.metrics["pre_fulfillment_cancel_rate"].verdict == "complete"
    # no ship-by dates (no Unshipped report), no ship times, no tracking, no messages
    assert set(found.metrics["late_shipment_rate_30"].missing) == {"promises", "shipments"}
    assert set(found.metrics["valid_tracking_rate"].missing) == {
        "promises",
        "tracking",
        "carrier_scans",
    }
    assert found.metrics["contact_response"].missing == ("messages",)
    assert found.rating.missing == ("violations",)
    assert set(found.incomplete_metrics()) == set(found.metrics) - {"pre_fulfillment_cancel_rate"}


def test_unshipped_report_brings_the_promises(db: Db) -> None:
    seller = _orders_and_feedback(db)
    _import(db, seller, "amazon-unshipped", "unshipped-us.txt")
    found = _coverage(db, seller)
    lsr = {s.source: s.state for s in found.metrics["late_shipment_rate_30"].sources}
    # the file was imported after the window began: the promises are there even where the
    # file held none for these days
    assert lsr["promises"] in ("events", "import")
    assert lsr["shipments"] == "missing"


def _v2_report(day: date) -> bytes:
    """A V2 report for the US store ending on ``day``: MFN ODR 3 of 90 (1 claim, 0
    chargebacks, 2 negative feedback), late shipment 1 of 50, and one listing violation."""
    to = f"{day.isoformat()}T23:59Z"
    return orjson.dumps(
        {
            "accountStatuses": [{"marketplaceId": "ATVPDKIKX0DER", "status": "NORMAL"}],
            "performanceMetrics": [
                {
                    "marketplaceId": "ATVPDKIKX0DER",
                    "accountHealthRating": {
                        "ahrStatus": "GOOD",
                        "ahrScore": 230,
                        "reportingDateRange": {
                            "reportingDateFrom": "2026-05-04T00:00Z",
                            "reportingDateTo": to,
                        },
                    },
                    "orderDefectRate": {
                        "mfn": {
                            "reportingDateRange": {
                                "reportingDateFrom": "2026-08-19T00:00Z",
                                "reportingDateTo": to,
                            },
                            "orderCount": 90,
                            "orderWithDefects": {"count": 3, "status": "BAD"},
                            "claims": {"count": 1},
                            "chargebacks": {"count": 0},
                            "negativeFeedback": {"count": 2},
                            "status": "BAD",
                            "rate": 0.0333,
                            "targetValue": 0.01,
                            "targetCondition": "LESS_THAN",
                        }
                    },
                    "listingPolicyViolations": {"defectsCount": 1, "status": "BAD"},
                }
            ],
        }
    )


def test_amazon_report_stands_in_with_its_counts(db: Db) -> None:
    seller = _orders_and_feedback(db)
    with unit_of_work(db.factory) as session:
        snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=db.registry.require("US"),
            data=_v2_report(DAY),
            source_name="v2.json",
            now=NOW,
        )
    found = _coverage(db, seller)
    odr = found.metrics["order_defect_rate_mfn"]
    assert odr.verdict == "from_amazon"
    counts = {s.source: (s.state, s.amazon_count) for s in odr.sources}
    assert counts["claims"] == ("amazon", 1)
    assert counts["chargebacks"] == ("amazon", 0)
    assert counts["feedback"] == ("events", None)
    assert odr.amazon is not None
    assert odr.amazon.numerator == 3
    assert found.snapshot_date == DAY
    # the rating's violations come from Amazon's report too
    assert found.rating.verdict == "from_amazon"
    # Amazon's report has no contact response: that metric still lacks its source
    assert found.metrics["contact_response"].verdict == "incomplete"
    assert found.data_status == "incomplete"


def test_old_amazon_report_does_not_stand_in(db: Db) -> None:
    seller = _orders_and_feedback(db)
    with unit_of_work(db.factory) as session:
        snapshots.import_snapshot(
            session,
            seller_id=seller,
            marketplace=db.registry.require("US"),
            data=_v2_report(date(2026, 9, 30)),
            source_name="old.json",
            now=NOW,
        )
    found = _coverage(db, seller)
    assert found.metrics["order_defect_rate_mfn"].verdict == "incomplete"
    assert found.snapshot_id is None
