"""Reading Amazon's V2 seller performance report: the sample files of tests/data/amazon (§10)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tsunagu.connectors.amazon.health_report import (
    LISTING_VIOLATIONS,
    last_local_day,
    normalise_report,
    parse_v2_report,
)
from tsunagu.core.errors import InvalidInput
from tsunagu.health.snapshots import compare_figures, difference

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
JP_ID, US_ID = "A1VC38T7YXB528", "ATVPDKIKX0DER"
TOKYO, LOS_ANGELES = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def bad(data: bytes | str, marketplace_id: str = JP_ID) -> InvalidInput:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(InvalidInput) as caught:
        parse_v2_report(raw, marketplace_id, zone=TOKYO)
    return caught.value


def minimal(**metrics: Any) -> dict[str, Any]:
    item = {
        "marketplaceId": JP_ID,
        "accountHealthRating": {
            "ahrStatus": "GREAT",
            "reportingDateRange": {"reportingDateTo": "2026-11-24T23:59Z"},
        },
        **metrics,
    }
    return {"performanceMetrics": [item]}


def test_clean_jp_report_every_figure():
    r = parse_v2_report(read("v2-health-jp.json"), JP_ID, zone=TOKYO)
    # 2026-11-24T23:59Z is 08:59 on the 25th in Tokyo
    assert r.report_date == date(2026, 11, 25)
    assert r.reported_to == datetime(2026, 11, 24, 23, 59, tzinfo=UTC)
    f = r.figures
    assert f["report_date"] == "2026-11-25"
    assert (f["account_status"], r.ahr_score, r.ahr_status) == ("NORMAL", 212, "GREAT")
    assert f["ahr"]["date_from"] == "2026-05-29T00:00:00Z"
    assert r.metric_count == 9
    assert sorted(f["metrics"]) == [
        "invoice_defect_rate",
        "late_shipment_rate_10",
        "late_shipment_rate_30",
        "on_time_delivery_rate",
        "order_defect_rate_afn",
        "order_defect_rate_mfn",
        "pre_fulfillment_cancel_rate",
        "unit_on_time_delivery_rate",
        "valid_tracking_rate",
    ]
    assert f["metrics"]["order_defect_rate_mfn"] == {
        "rate": 0.0073,
        "numerator": 3,
        "denominator": 412,
        "status": "GOOD",
        "target": 0.01,
        "target_condition": "LESS_THAN",
        "date_from": "2026-09-26T00:00:00Z",
        "date_to": "2026-11-24T23:59:00Z",
        "components": {"claims": 1, "chargebacks": 0, "negativeFeedback": 2},
    }
    m = f["metrics"]
    assert (m["order_defect_rate_afn"]["numerator"], m["order_defect_rate_afn"]["denominator"]) == (
        0,
        128,
    )
    # the list's 10-day item is told apart from the 30-day one by its range
    assert (m["late_shipment_rate_10"]["numerator"], m["late_shipment_rate_10"]["rate"]) == (
        1,
        0.0103,
    )
    assert (m["late_shipment_rate_30"]["denominator"], m["late_shipment_rate_30"]["rate"]) == (
        301,
        0.0166,
    )
    assert (
        m["pre_fulfillment_cancel_rate"]["numerator"],
        m["pre_fulfillment_cancel_rate"]["denominator"],
    ) == (1, 70)
    assert (m["valid_tracking_rate"]["numerator"], m["valid_tracking_rate"]["denominator"]) == (
        281,
        288,
    )
    otdr = m["on_time_delivery_rate"]
    assert (otdr["numerator"], otdr["denominator"], otdr["status"], otdr["target"]) == (
        270,
        281,
        "BAD",
        0.97,
    )
    assert (m["unit_on_time_delivery_rate"]["rate"], m["invoice_defect_rate"]["rate"]) == (
        None,
        None,
    )
    assert m["invoice_defect_rate"]["components"] == {"missingInvoice": 0, "lateInvoice": 0}
    assert f["listing_violations"] == {
        key: 1 if key == "receivedIntellectualPropertyComplaints" else 0
        for key in LISTING_VIOLATIONS
    }
    assert f["policy_violation_warnings"] == 0
    assert f["warning_states"] == [{"type": "spammingSellerMessaging", "status": "GOOD"}]
    assert f["unknown_keys"] == []
    json.dumps(f)  # storable as JSON as it is


def test_quirks_unknown_and_missing_keys():
    r = parse_v2_report(read("v2-health-jp-quirks.json"), JP_ID, zone=TOKYO)
    f = r.figures
    # no AHR range: the latest metric end, 2026-10-26T23:59:59Z, is the 27th in Tokyo
    assert r.reported_to == datetime(2026, 10, 26, 23, 59, 59, tzinfo=UTC)
    assert r.report_date == date(2026, 10, 27)
    assert (r.ahr_score, r.ahr_status, f["account_status"]) == (None, "WARNED", "SUSPENDED")
    assert sorted(f["metrics"]) == [
        "late_shipment_rate_30",
        "order_defect_rate_mfn",
        "pre_fulfillment_cancel_rate",
        "valid_tracking_rate",
    ]
    odr = f["metrics"]["order_defect_rate_mfn"]
    # "250" and "0.016" as strings; chargebacks missing
    assert (odr["rate"], odr["numerator"], odr["denominator"]) == (0.016, 4, 250)
    assert odr["components"] == {"claims": 2, "negativeFeedback": 2}
    lsr = f["metrics"]["late_shipment_rate_30"]  # dateFrom/dateTo spelling
    assert (lsr["date_from"], lsr["date_to"], lsr["numerator"]) == (
        "2026-09-27T00:00:00Z",
        "2026-10-26T23:59:59Z",
        9,
    )
    cancel = f["metrics"]["pre_fulfillment_cancel_rate"]  # prefulfillmentCancelRate
    assert (cancel["rate"], cancel["numerator"], cancel["denominator"]) == (0.0, 0, 40)
    vtr = f["metrics"]["valid_tracking_rate"]
    assert (vtr["rate"], vtr["target"], vtr["date_to"]) == (0.9714, None, None)
    assert f["listing_violations"] == {
        "receivedIntellectualPropertyComplaints": 0,
        "documentRequests": 2,  # documentRequest
    }
    assert f["policy_violation_warnings"] == 3
    assert f["warning_states"] == [{"type": "spammingSellerMessaging", "status": "BAD"}]
    assert f["unknown_keys"] == ["buyerMessagingScore"]


def test_two_marketplaces_pick_the_stores_item():
    data = read("v2-health-two-markets.json")
    jp = parse_v2_report(data, JP_ID, zone=TOKYO)
    us = parse_v2_report(data, US_ID, zone=LOS_ANGELES)
    assert (jp.ahr_score, jp.figures["account_status"], jp.metric_count) == (204, "NORMAL", 1)
    assert jp.figures["metrics"]["order_defect_rate_mfn"]["denominator"] == 40
    assert (us.ahr_score, us.ahr_status, us.figures["account_status"]) == (150, "WARNED", "AT_RISK")
    assert us.figures["metrics"]["unit_on_time_delivery_rate"]["rate"] == 0.95
    # the same instant is still the 24th in Los Angeles
    assert (jp.report_date, us.report_date) == (date(2026, 11, 25), date(2026, 11, 24))


def test_not_json():
    e = bad(read("v2-health-truncated.json"))
    assert (e.code, e.status, e.details["path"]) == ("invalid_json", 400, "$")
    assert "not valid JSON" in e.message("en")
    assert bad(b"\xff\xfe{}").code == "invalid_json"


def test_no_item_for_the_marketplace_names_what_the_report_has():
    e = bad(read("v2-health-us-only.json"))
    assert e.code == "marketplace_not_in_report"
    assert e.details == {
        "path": "performanceMetrics",
        "marketplace_id": JP_ID,
        "found": [US_ID],
    }
    assert "ATVPDKIKX0DER" in e.message("en")
    assert "A1VC38T7YXB528" in e.message("ja")


def test_bad_value_names_its_json_path():
    e = bad(read("v2-health-bad-rate.json"))
    assert e.code == "invalid_report_value"
    assert e.details["path"] == "performanceMetrics[0].orderDefectRate.mfn.rate"
    assert e.details["expected"] == "fraction"
    assert e.message("en") == (
        "performanceMetrics[0].orderDefectRate.mfn.rate: expected a fraction from 0 to 1, "
        'found "about one percent"'
    )
    assert "performanceMetrics[0].orderDefectRate.mfn.rate" in e.message("ja")


@pytest.mark.parametrize(
    ("metrics", "path", "expected"),
    [
        ({"validTrackingRate": {"rate": 1.5}}, "validTrackingRate.rate", "fraction"),
        ({"validTrackingRate": {"shipmentCount": 2.5}}, "validTrackingRate.shipmentCount", "count"),
        ({"validTrackingRate": {"shipmentCount": -1}}, "validTrackingRate.shipmentCount", "count"),
        ({"validTrackingRate": {"rate": True}}, "validTrackingRate.rate", "fraction"),
        ({"validTrackingRate": [1]}, "validTrackingRate", "object"),
        (
            {"orderDefectRate": {"mfn": {"orderWithDefects": {"count": "x"}}}},
            "orderDefectRate.mfn.orderWithDefects.count",
            "count",
        ),
        (
            {"lateShipmentRate": {"reportingDateRange": {"reportingDateTo": "yesterday"}}},
            "lateShipmentRate.reportingDateRange.reportingDateTo",
            "instant",
        ),
        ({"lateShipmentRateList": "none"}, "lateShipmentRateList", "array"),
        ({"warningStates": [{"status": 3}]}, "warningStates[0].status", "string"),
    ],
)
def test_each_kind_of_bad_value(metrics: dict[str, Any], path: str, expected: str):
    e = bad(json.dumps(minimal(**metrics)))
    assert (e.code, e.details["path"], e.details["expected"]) == (
        "invalid_report_value",
        f"performanceMetrics[0].{path}",
        expected,
    )


def test_bad_score_and_document_shapes():
    report = minimal()
    report["performanceMetrics"][0]["accountHealthRating"]["ahrScore"] = 1200
    e = bad(json.dumps(report))
    assert e.details["path"] == "performanceMetrics[0].accountHealthRating.ahrScore"
    assert bad("[]").code == "not_a_report"
    assert bad('{"accountStatuses": []}').code == "no_performance_metrics"
    assert bad('{"performanceMetrics": "x"}').code == "no_performance_metrics"
    no_date = {"performanceMetrics": [{"marketplaceId": JP_ID, "validTrackingRate": {"rate": 1}}]}
    assert bad(json.dumps(no_date)).code == "no_report_date"


def test_lenient_forms():
    report = minimal(
        validTrackingRate={"rate": "97.5%", "shipmentCount": 40.0, "validTrackingCount": "39"},
        orderDefectRate=[
            {"fulfillmentType": "MFN", "orderCount": 10, "orderWithDefects": 0},
            {"fulfillmentType": "other", "orderCount": 5},
        ],
        lateShipmentRateList=[{"orderCount": 7}, {"orderCount": 30}],
        policyViolationWarnings=4,
        warningState={"warningType": "x", "status": "GOOD"},
    )
    report["performanceMetrics"].insert(0, "not an item")
    raw = b"\xef\xbb\xbf" + json.dumps(report).encode()  # a byte-order mark
    f = parse_v2_report(raw, JP_ID, zone=TOKYO).figures
    vtr = f["metrics"]["valid_tracking_rate"]
    assert (vtr["rate"], vtr["denominator"], vtr["numerator"]) == (0.975, 40, 39)
    odr = f["metrics"]["order_defect_rate_mfn"]
    assert (odr["denominator"], odr["numerator"]) == (10, 0)
    assert "order_defect_rate_afn" not in f["metrics"]
    # list items without a range go by position: 10 days, then 30
    assert f["metrics"]["late_shipment_rate_10"]["denominator"] == 7
    assert f["metrics"]["late_shipment_rate_30"]["denominator"] == 30
    assert f["policy_violation_warnings"] == 4
    assert f["warning_states"] == [{"type": "x", "status": "GOOD"}]
    assert f["account_status"] is None
    assert f["listing_violations"] == {}


def test_midnight_closes_the_day_before():
    assert last_local_day(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), TOKYO) == date(2026, 11, 24)
    assert last_local_day(datetime(2026, 11, 24, 15, 1, tzinfo=UTC), TOKYO) == date(2026, 11, 25)
    assert last_local_day(datetime(2026, 11, 24, 23, 59, tzinfo=UTC), UTC) == date(2026, 11, 24)


def test_normalise_accepts_a_decoded_report():
    decoded = json.loads(read("v2-health-jp.json"))
    assert (
        normalise_report(decoded, JP_ID, zone=TOKYO).figures
        == parse_v2_report(read("v2-health-jp.json"), JP_ID, zone=TOKYO).figures
    )


def test_differences_rates_within_tolerance_counts_exactly():
    assert difference("rate", 0.0100, 0.0105) == "same"
    assert difference("rate", 0.0100, 0.0106) == "differs"
    assert difference("count", 412, 412) == "same"
    assert difference("count", 412, 411) == "differs"
    assert difference("score", 212, 200) == "differs"
    assert difference("text", "good", "GOOD") == "same"
    assert difference("rate", None, 0.5) == "missing_in_amazon"
    assert difference("count", 3, None) == "missing_in_tsunagu"
    assert difference("rate", None, None) == "same"


def test_compare_figures_rows():
    amazon = parse_v2_report(read("v2-health-jp-quirks.json"), JP_ID, zone=TOKYO).figures
    ours = parse_v2_report(read("v2-health-jp.json"), JP_ID, zone=TOKYO).figures
    rows = {r.figure: r for r in compare_figures(amazon, ours)}
    assert (rows["ahr_score"].amazon, rows["ahr_score"].tsunagu) == (None, 212)
    assert rows["ahr_score"].difference == "missing_in_amazon"
    assert rows["ahr_status"].difference == "differs"
    odr = rows["order_defect_rate_mfn.denominator"]
    assert (odr.amazon, odr.tsunagu, odr.difference) == (250, 412, "differs")
    assert rows["order_defect_rate_afn.denominator"].difference == "missing_in_amazon"
    assert rows["pre_fulfillment_cancel_rate.target"].difference == "same"
    assert rows["documentRequests.defectsCount"].difference == "differs"
    assert rows["listingPolicyViolations.defectsCount"].difference == "missing_in_amazon"
    assert rows["policyViolationWarnings.warningsCount"].difference == "differs"
    without = {**ours, "policy_violation_warnings": None}
    warnings = {r.figure: r for r in compare_figures(amazon, without)}
    row = warnings["policyViolationWarnings.warningsCount"]
    assert (row.amazon, row.tsunagu, row.difference) == (3, None, "missing_in_tsunagu")
    same = compare_figures(ours, ours)
    assert {r.difference for r in same} == {"same"}


@pytest.mark.parametrize("score", [200.5, "200.5", 0.1, 999.99])
def test_an_ahr_of_200_5_is_refused_with_its_json_path(score: object):
    """Item 11e: the Account Health Rating is a whole number 0–1000; ``200.5`` was stored as
    given. Now it is ``invalid_report_value`` with the JSON path, like a score of 1200."""
    report = minimal()
    report["performanceMetrics"][0]["accountHealthRating"]["ahrScore"] = score
    e = bad(json.dumps(report))
    assert (e.code, e.details["path"], e.details["expected"]) == (
        "invalid_report_value",
        "performanceMetrics[0].accountHealthRating.ahrScore",
        "score",
    )
    assert "whole number" in e.message("en")


@pytest.mark.parametrize("score", [212, 212.0, "212", 0, 1000])
def test_whole_ahr_scores_are_read_as_integers(score: object):
    report = minimal()
    report["performanceMetrics"][0]["accountHealthRating"]["ahrScore"] = score
    parsed = parse_v2_report(json.dumps(report).encode(), JP_ID, zone=TOKYO)
    assert parsed.ahr_score == int(float(str(score)))
    assert isinstance(parsed.ahr_score, int)


def test_api_10_a_control_character_in_report_text_or_keys_is_refused_with_its_path():
    """API-10: report text (a status) and unknown keys are stored and shown; a NUL or an ESC in
    them is ``invalid_value`` with the JSON path instead."""
    report = minimal()
    report["performanceMetrics"][0]["accountHealthRating"]["ahrStatus"] = "GREAT\x1b[2J"
    e = bad(json.dumps(report))
    assert (e.code, e.details["path"]) == (
        "invalid_value",
        "performanceMetrics[0].accountHealthRating.ahrStatus",
    )
    keyed = minimal(**{"newMetric\x00": 1})
    e = bad(json.dumps(keyed))
    assert (e.code, e.details["path"], e.details["value"]) == (
        "invalid_value",
        "performanceMetrics[0]",
        "newMetric\x00",
    )
