"""The drill-down behind a metric: every record that counts against it, why and when (issue 16,
item 7). Worked examples on a Tokyo store evaluated on 2026-06-30."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from tsunagu.health import drilldown
from tsunagu.health.metrics import (
    CaseFacts,
    MessageFacts,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    evaluate,
)
from tsunagu.web import labels

TOKYO = ZoneInfo("Asia/Tokyo")
D = date(2026, 6, 30)


def at(day: int, hour: int = 3, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def kinds(rows: list[drilldown.DefectRow]) -> dict[str, list[str]]:
    return {r.id: [reason.kind for reason in r.reasons] for r in rows}


def test_an_order_with_feedback_and_a_claim_shows_both_with_their_dates():
    order = OrderFacts(
        "A-1",
        "MFN",
        at(1, month=5),
        feedback_rating=1,
        feedback_at=at(10, month=5),
        claims=(CaseFacts("C-1", None, at(12, month=5)),),
    )
    won = OrderFacts(
        "A-2",
        "MFN",
        at(2, month=5),
        claims=(CaseFacts("C-2", "denied", at(5, month=5), at(6, month=5)),),
    )
    happy = OrderFacts("A-3", "MFN", at(3, month=5), feedback_rating=5, feedback_at=at(4, month=5))
    rows = drilldown.defects(
        "order_defect_rate_mfn",
        D,
        TOKYO,
        orders=[order, won, happy],
        details=drilldown.Details({}, {"C-1": "not_received"}),
    )
    assert kinds(rows) == {"A-1": ["negative_feedback", "a_to_z_claim"]}
    feedback, claim = rows[0].reasons
    assert feedback.at == at(10, month=5)
    assert claim.at == at(12, month=5)
    assert claim.detail == "not_received"
    assert rows[0].order_id == "A-1"


def test_late_and_cancelled_orders_say_what_happened():
    late = OrderFacts("L-1", "MFN", at(20), latest_ship_date=at(22), shipped_at=at(24))
    overdue = OrderFacts("L-2", "MFN", at(21), latest_ship_date=at(23))
    on_time = OrderFacts("L-3", "MFN", at(21), latest_ship_date=at(23), shipped_at=at(22))
    cancelled = OrderFacts(
        "X-1", "MFN", at(27), cancelled_at=at(28), cancelled_by="seller", latest_ship_date=at(29)
    )
    by_buyer = OrderFacts("X-2", "MFN", at(27), cancelled_at=at(28), cancelled_by="buyer")
    orders = [late, overdue, on_time, cancelled, by_buyer]
    lsr = drilldown.defects("late_shipment_rate_30", D, TOKYO, orders=orders)
    assert kinds(lsr) == {"L-1": ["shipped_late"], "L-2": ["unshipped_past_due"]}
    assert {r.id: r.reasons[0].at for r in lsr} == {"L-1": at(24), "L-2": at(23)}
    cancels = drilldown.defects(
        "pre_fulfillment_cancel_rate",
        D,
        TOKYO,
        orders=orders,
        details=drilldown.Details({"X-1": "out_of_stock"}, {}),
    )
    assert kinds(cancels) == {"X-1": ["cancelled_by_seller"]}
    assert cancels[0].reasons[0].detail == "out_of_stock"
    assert cancels[0].reasons[0].at == at(28)


def test_rates_where_high_is_good_list_the_records_that_pulled_them_down():
    promise = at(5)
    no_tracking = OrderFacts(
        "T-1", "MFN", at(1), latest_delivery_date=promise, shipped_at=at(2), tracking_id=""
    )
    unscanned = OrderFacts(
        "T-2", "MFN", at(1), latest_delivery_date=promise, shipped_at=at(2), tracking_id="Z9"
    )
    late = OrderFacts(
        "T-3",
        "MFN",
        at(1),
        latest_delivery_date=promise,
        shipped_at=at(2),
        tracking_id="Z8",
        first_scan_at=at(3),
        delivered_at=at(7),
    )
    good = OrderFacts(
        "T-4",
        "MFN",
        at(1),
        latest_delivery_date=promise,
        shipped_at=at(2),
        tracking_id="Z7",
        first_scan_at=at(3),
        delivered_at=at(4),
    )
    orders = [no_tracking, unscanned, late, good]
    day = date(2026, 7, 10)  # the windows lag 14 days: 28 May to 26 June
    vtr = drilldown.defects("valid_tracking_rate", day, TOKYO, orders=orders)
    assert kinds(vtr) == {"T-1": ["no_tracking"], "T-2": ["tracking_not_scanned"]}
    otd = drilldown.defects("on_time_delivery_rate", day, TOKYO, orders=orders)
    assert kinds(otd) == {"T-3": ["delivered_late"]}
    assert otd[0].reasons[0].at == at(7)
    metrics = evaluate(day, TOKYO, orders)
    assert (
        metrics["valid_tracking_rate"].denominator - metrics["valid_tracking_rate"].numerator == 2
    )
    otd_metric = metrics["on_time_delivery_rate"]
    assert otd_metric.denominator - otd_metric.numerator == 1


def test_messages_returns_surveys_and_invoices():
    messages = [
        MessageFacts("M-1", at(10), answered_at=at(10) + timedelta(hours=30)),
        MessageFacts("M-2", at(11)),
        MessageFacts("M-3", at(12), answered_at=at(12, 5)),
    ]
    rows = drilldown.defects(
        "contact_response", D, TOKYO, messages=messages, message_orders={"M-1": "O-1"}
    )
    assert kinds(rows) == {"M-1": ["late_response"], "M-2": ["no_response"]}
    assert {r.id: r.order_id for r in rows} == {"M-1": "O-1", "M-2": None}
    returns = [
        ReturnFacts("R-1", "O-5", at(10), at(11), "rejected_invalid", buyer_satisfied=False),
        ReturnFacts("R-2", "O-6", at(10), at(10, 9), "refunded", buyer_satisfied=True),
    ]
    rows = drilldown.defects("return_dissatisfaction_rate", D, TOKYO, returns=returns)
    assert kinds(rows) == {"R-1": ["return_buyer_unhappy", "return_invalid_rejection"]}
    surveys = [SurveyFacts("O-7", at(10), False), SurveyFacts("O-8", at(10), True)]
    rows = drilldown.defects("customer_service_dissatisfaction_rate", D, TOKYO, surveys=surveys)
    assert kinds(rows) == {"O-7": ["service_not_solved"]}
    business = OrderFacts("B-1", "MFN", at(19), shipped_at=at(20), is_business=True)
    rows = drilldown.defects("invoice_defect_rate", D, TOKYO, orders=[business])
    assert kinds(rows) == {"B-1": ["invoice_missing"]}


def test_newest_defect_first_and_an_unknown_metric_has_none():
    orders = [
        OrderFacts("E-1", "MFN", at(1, month=5), feedback_rating=1, feedback_at=at(2, month=5)),
        OrderFacts("E-2", "MFN", at(1, month=5), feedback_rating=2, feedback_at=at(9, month=5)),
    ]
    rows = drilldown.defects("order_defect_rate_mfn", D, TOKYO, orders=orders)
    assert [r.id for r in rows] == ["E-2", "E-1"]
    assert drilldown.defects("no_such_metric", D, TOKYO, orders=orders) == []


def test_every_reason_and_detail_has_words():
    from tsunagu.events.rules import CANCEL_REASONS, CLAIM_REASONS

    assert set(drilldown.REASONS) == set(labels.DEFECTS)
    assert set(CANCEL_REASONS) | set(CLAIM_REASONS) <= set(labels.DEFECT_DETAILS)
