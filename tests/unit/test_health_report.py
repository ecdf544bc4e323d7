"""The V2-shaped report: every required key, the ODR shapes, worked figures, the issue's case."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tests.amazon_schema import assert_valid_v2_report
from tsunagu.health.metrics import CaseFacts, OrderFacts, evaluate
from tsunagu.health.report import LISTING_VIOLATION_KEYS, REQUIRED_METRIC_KEYS, v2_report
from tsunagu.health.rules import StoreHealth, Violation, rate
from tsunagu.marketplaces.registry import BUILTIN

JP = next(m for m in BUILTIN if m.code == "JP")
ZONE = JP.tz
D = date(2026, 11, 25)
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # after the end of D in Tokyo

#: the V2 schema's required keys of a performanceMetrics item (amazon-domain.md §3.2, §2.3)
SCHEMA_REQUIRED = {
    "marketplaceId",
    "accountHealthRating",
    "orderDefectRate",
    "lateShipmentRate",
    "preFulfillmentCancellationRate",
    "validTrackingRate",
    "onTimeDeliveryRate",
    "unitOnTimeDeliveryRate",
    "invoiceDefectRate",
    "warningStates",
    "listingPolicyViolations",
    "productAuthenticityCustomerComplaints",
    "productConditionCustomerComplaints",
    "productSafetyCustomerComplaints",
    "receivedIntellectualPropertyComplaints",
    "suspectedIntellectualPropertyViolations",
    "restrictedProductPolicyViolations",
    "foodAndProductSafetyIssues",
    "otherPolicyViolations",
    "documentRequests",
    "customerProductReviewsPolicyViolations",
}
RATE_KEYS = {"reportingDateRange", "status", "rate", "targetValue", "targetCondition"}


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC)


def health(
    orders: list[OrderFacts], violations: tuple[Violation, ...] = (), fulfilled: int = 0
) -> StoreHealth:
    metrics = evaluate(D, ZONE, orders, as_of=NOW)
    rating = rate(on=D, fulfilled_orders=fulfilled, violations=violations)
    return StoreHealth(
        seller_id="sel_1",
        marketplace="JP",
        day=D,
        evaluated_at=NOW,
        fulfilled_orders=fulfilled,
        metrics=metrics,
        rating=rating,
        open_violations=tuple(v for v in violations if v.open_on(D, 180)),
    )


def item(report: dict[str, Any]) -> dict[str, Any]:
    (only,) = report["performanceMetrics"]
    assert isinstance(only, dict)
    return only


def test_every_required_key_of_the_v2_item_is_present():
    assert set(REQUIRED_METRIC_KEYS) == SCHEMA_REQUIRED
    report = v2_report(health([]), JP)
    assert_valid_v2_report(report)
    assert set(report) == {"accountStatuses", "performanceMetrics"}
    m = item(report)
    assert set(m) >= SCHEMA_REQUIRED
    assert m["marketplaceId"] == "A1VC38T7YXB528"
    assert m["warningStates"] == []
    assert {"ahrStatus", "ahrScore", "reportingDateRange"} <= set(m["accountHealthRating"])
    for key in LISTING_VIOLATION_KEYS:
        assert m[key]["defectsCount"] == 0
        assert (m[key]["status"], m[key]["targetValue"], m[key]["targetCondition"]) == (
            "GOOD",
            0,
            "EQUALS",
        )
    extra = {k for k in m if k not in SCHEMA_REQUIRED}
    assert extra == {
        "lateShipmentRateList",
        *(k for k in extra if k.startswith("tsunagu")),
    }
    assert {
        "tsunaguContactResponse",
        "tsunaguReturnDissatisfactionRate",
        "tsunaguCustomerServiceDissatisfactionRate",
        "tsunaguNotMeasurable",
    } <= extra
    assert RATE_KEYS | {"orderCount", "lateShipmentCount"} <= set(m["lateShipmentRate"])
    assert RATE_KEYS | {"orderCount", "cancellationCount"} <= set(
        m["preFulfillmentCancellationRate"]
    )
    assert RATE_KEYS | {"shipmentCount", "validTrackingCount"} <= set(m["validTrackingRate"])
    assert RATE_KEYS | {"shipmentCountWithValidTracking", "onTimeDeliveryCount"} <= set(
        m["onTimeDeliveryRate"]
    )
    unit = m["unitOnTimeDeliveryRate"]
    assert (unit["status"], unit["rate"], unit["totalUnitCount"]) == ("NONE", 0.0, 0)
    assert "tsunaguNote" in unit
    invoice = m["invoiceDefectRate"]
    assert RATE_KEYS | {"orderCount", "invoiceDefect", "missingInvoice", "lateInvoice"} <= set(
        invoice
    )


def test_odr_has_an_mfn_and_an_afn_object_of_the_same_shape():
    m = item(v2_report(health([]), JP))
    odr = m["orderDefectRate"]
    assert set(odr) == {"mfn", "afn"}
    keys = RATE_KEYS | {
        "orderCount",
        "orderWithDefects",
        "claims",
        "chargebacks",
        "negativeFeedback",
        "fulfillmentType",
    }
    for channel in ("mfn", "afn"):
        assert set(odr[channel]) == keys
        assert odr[channel]["fulfillmentType"] == channel
        assert odr[channel]["targetCondition"] == "LESS_THAN"
        for part in ("orderWithDefects", "claims", "chargebacks", "negativeFeedback"):
            assert set(odr[channel][part]) == {"count", "status"}
    # nothing to measure: the schema's number 0.0 with status NONE (the schema has no null rate)
    assert (odr["afn"]["rate"], odr["afn"]["status"], odr["afn"]["orderCount"]) == (
        0.0,
        "NONE",
        0,
    )


def test_a_worked_example_of_rates_counts_and_statuses():
    orders: list[OrderFacts] = []
    # ODR (MFN): ten orders on D−20; one 1-star feedback, one undecided claim
    for n in range(10):
        orders.append(
            OrderFacts(
                f"ODR-{n}",
                "MFN",
                local(D - timedelta(days=20)),
                feedback_rating=1 if n == 0 else None,
                claims=(CaseFacts("C-1", None),) if n == 1 else (),
            )
        )
    # late shipment: four orders on D−2 due D−1, one shipped late
    for n in range(4):
        shipped = local(D - timedelta(days=1), 20 if n == 0 else 8)
        orders.append(
            OrderFacts(
                f"LSR-{n}",
                "MFN",
                local(D - timedelta(days=2)),
                latest_ship_date=local(D - timedelta(days=1), 12),
                shipped_at=shipped,
                tracking_id=f"T{n}",
            )
        )
    # one seller cancellation on D−3
    orders.append(
        OrderFacts(
            "CAN-1",
            "MFN",
            local(D - timedelta(days=3)),
            cancelled_at=local(D - timedelta(days=3), 12),
            cancelled_by="seller",
        )
    )
    report = v2_report(health(orders), JP)
    assert_valid_v2_report(report)
    m = item(report)

    mfn = m["orderDefectRate"]["mfn"]
    assert (mfn["orderCount"], mfn["rate"], mfn["status"], mfn["targetValue"]) == (
        10,
        0.2,
        "BAD",
        0.01,
    )
    assert mfn["orderWithDefects"] == {"count": 2, "status": "BAD"}
    assert mfn["negativeFeedback"] == {"count": 1, "status": "BAD"}
    assert mfn["claims"] == {"count": 1, "status": "BAD"}
    assert mfn["chargebacks"] == {"count": 0, "status": "GOOD"}
    # ODR: 60 days ending D−14, local Tokyo days as UTC instants
    assert mfn["reportingDateRange"] == {
        "reportingDateFrom": "2026-09-12T15:00:00Z",
        "reportingDateTo": "2026-11-11T15:00:00Z",
    }

    lsr = m["lateShipmentRate"]
    assert (lsr["orderCount"], lsr["lateShipmentCount"], lsr["rate"], lsr["status"]) == (
        4,
        1,
        0.25,
        "BAD",
    )
    assert lsr["targetCondition"] == "LESS_THAN"
    assert lsr["reportingDateRange"]["reportingDateFrom"] == "2026-10-26T15:00:00Z"
    short, long = m["lateShipmentRateList"]
    assert short["reportingDateRange"]["reportingDateFrom"] == "2026-11-15T15:00:00Z"
    assert long == lsr

    cancel = m["preFulfillmentCancellationRate"]
    assert (cancel["orderCount"], cancel["cancellationCount"], cancel["rate"]) == (5, 1, 0.2)
    assert (cancel["status"], cancel["targetValue"]) == ("BAD", 0.025)

    vtr = m["validTrackingRate"]
    assert vtr["targetCondition"] == "GREATER_THAN"
    assert (vtr["rate"], vtr["status"], vtr["shipmentCount"]) == (0.0, "NONE", 0)
    assert m["onTimeDeliveryRate"]["targetCondition"] == "GREATER_THAN"

    ahr = m["accountHealthRating"]
    assert (ahr["ahrStatus"], ahr["ahrScore"]) == ("GREAT", 200)
    assert ahr["reportingDateRange"] == {
        "reportingDateFrom": "2026-05-29T15:00:00Z",
        "reportingDateTo": "2026-11-25T15:00:00Z",
    }


def test_the_issues_trademark_case():
    logo = Violation(
        "V-logo", "receivedIntellectualPropertyComplaints", "low", D - timedelta(days=30)
    )
    report = v2_report(health([], (logo,), fulfilled=150), JP)
    assert_valid_v2_report(report)
    assert report["accountStatuses"] == [{"marketplaceId": "A1VC38T7YXB528", "status": "AT_RISK"}]
    m = item(report)
    assert (m["accountHealthRating"]["ahrScore"], m["accountHealthRating"]["ahrStatus"]) == (
        198,
        "WARNED",
    )
    ip = m["receivedIntellectualPropertyComplaints"]
    assert (ip["defectsCount"], ip["status"]) == (1, "BAD")
    others = [k for k in LISTING_VIOLATION_KEYS if k != "receivedIntellectualPropertyComplaints"]
    assert all(m[k]["defectsCount"] == 0 for k in others)


def test_unhealthy_is_deactivated_and_unknown_policies_count_as_other():
    critical = Violation("V-c", "someInternalPolicy", "critical", D - timedelta(days=2))
    report = v2_report(health([], (critical,)), JP)
    assert_valid_v2_report(report)
    assert report["accountStatuses"][0]["status"] == "DEACTIVATED"
    m = item(report)
    assert m["accountHealthRating"]["ahrScore"] == 0
    assert (m["otherPolicyViolations"]["defectsCount"], m["otherPolicyViolations"]["status"]) == (
        1,
        "BAD",
    )
