"""Performance metrics: a worked example per rule of issue 4's "Definitions", and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.health.metrics import (
    CaseFacts,
    MessageFacts,
    MetricsConfig,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    Window,
    contact_response,
    customer_service_dissatisfaction_rate,
    end_of_day,
    evaluate,
    fulfilled_orders,
    invoice_defect_rate,
    late_shipment_rate,
    next_business_day,
    on_time_delivery_rate,
    order_defect_rate,
    pre_fulfillment_cancel_rate,
    return_dissatisfaction_rate,
    valid_tracking_rate,
    window_span,
)

TOKYO = ZoneInfo("Asia/Tokyo")
LA = ZoneInfo("America/Los_Angeles")
D = date(2026, 11, 25)  # a Wednesday
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def at(day: date, hour: int = 12, minute: int = 0, zone: ZoneInfo = TOKYO) -> datetime:
    """A local wall-clock time in ``zone``, as aware UTC (what the facts carry)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


def days_before(n: int) -> date:
    return D - timedelta(days=n)


def order(order_id: str = "o1", placed: date = D, **fields: Any) -> OrderFacts:
    fields.setdefault("channel", "MFN")
    fields.setdefault("purchased_at", at(placed, 10))
    return OrderFacts(order_id=order_id, **fields)


def shipped_order(order_id: str, placed: date, **fields: Any) -> OrderFacts:
    """Placed at 10:00, due at 23:00 the same day, shipped at 15:00 with a known time."""
    fields.setdefault("latest_ship_date", at(placed, 23))
    fields.setdefault("shipped_at", at(placed, 15))
    fields.setdefault("ship_time_known", True)
    return order(order_id, placed, **fields)


def tracked(order_id: str, promised: date, **fields: Any) -> OrderFacts:
    """An MFN order shipped 3 days before its promised delivery day (promise 20:00 local)."""
    fields.setdefault("latest_delivery_date", at(promised, 20))
    fields.setdefault("tracking_id", "JP123")
    placed = promised - timedelta(days=4)
    fields.setdefault("shipped_at", at(promised - timedelta(days=3), 9))
    fields.setdefault("ship_time_known", True)
    return order(order_id, placed, **fields)


def message(
    message_id: str = "m1", received: datetime | None = None, **fields: Any
) -> MessageFacts:
    return MessageFacts(message_id=message_id, received_at=received or at(D, 1), **fields)


def return_request(return_id: str, requested: datetime, **fields: Any) -> ReturnFacts:
    return ReturnFacts(
        return_id=return_id, order_id="o-" + return_id, requested_at=requested, **fields
    )


# --------------------------------------------------------------------------- days and windows


def test_end_of_day_is_local_midnight_after_the_day_in_utc():
    assert end_of_day(D, LA) == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert end_of_day(D, TOKYO) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_invoice_window_on_2_may_covers_19_to_25_april():
    span = window_span(date(2026, 5, 2), TOKYO, Window(7, 7))
    assert (span.first, span.last) == (date(2026, 4, 19), date(2026, 4, 25))
    assert span.start == datetime(2026, 4, 18, 15, 0, tzinfo=UTC)
    assert span.end == datetime(2026, 4, 25, 15, 0, tzinfo=UTC)


def test_los_angeles_order_at_2330_counts_on_its_los_angeles_date_not_the_utc_one():
    late_evening = datetime(2026, 11, 25, 23, 30, tzinfo=LA)
    placed = order("la", purchased_at=late_evening.astimezone(UTC))
    assert placed.purchased_at.date() == date(2026, 11, 26)  # already the next day in UTC
    on_the_day = pre_fulfillment_cancel_rate(D, LA, [placed])
    assert on_the_day.denominator == 1
    window_starting_the_next_day = pre_fulfillment_cancel_rate(D + timedelta(days=7), LA, [placed])
    assert window_starting_the_next_day.denominator == 0
    # the same order in Tokyo's calendar is on the 26th, i.e. after D
    assert pre_fulfillment_cancel_rate(D, TOKYO, [placed]).denominator == 0


# --------------------------------------------------------------------------- order defect rate


def test_odr_window_is_60_days_ending_14_days_before_d_by_local_purchase_date():
    orders = [
        order("too-old", days_before(74), purchased_at=at(days_before(74), 23, 59)),
        order("first-day", days_before(73), purchased_at=at(days_before(73), 0, 0)),
        order("last-day", days_before(14), purchased_at=at(days_before(14), 23, 59)),
        order("too-new", days_before(13), purchased_at=at(days_before(13), 0, 0)),
    ]
    result = order_defect_rate(D, TOKYO, orders, "MFN")
    assert result.window == (days_before(73), days_before(14))
    assert result.denominator == 2


def test_odr_counts_one_defect_per_order_and_each_component_by_order():
    orders = [
        order(
            "all-three",
            days_before(20),
            feedback_rating=1,
            claims=(CaseFacts("c1", None),),
            chargebacks=(CaseFacts("k1", None),),
        ),
        order("two-stars", days_before(20), feedback_rating=2),
        order("three-stars", days_before(20), feedback_rating=3),
        order(
            "cancelled", days_before(20), cancelled_at=at(days_before(20), 11), cancelled_by="buyer"
        ),
    ]
    result = order_defect_rate(D, TOKYO, orders, "MFN")
    assert (result.numerator, result.denominator) == (2, 4)
    assert result.components == {"negativeFeedback": 2, "claims": 1, "chargebacks": 1}
    assert result.ids == ("all-three", "two-stars")
    assert result.rate == 0.5
    assert result.status == "BAD"


def test_odr_computes_mfn_and_afn_separately():
    orders = [
        order("m", days_before(20), feedback_rating=1),
        order("a", days_before(20), channel="AFN"),
    ]
    assert order_defect_rate(D, TOKYO, orders, "MFN").rate == 1.0
    afn = order_defect_rate(D, TOKYO, orders, "AFN")
    assert (afn.name, afn.rate, afn.status) == ("order_defect_rate_afn", 0.0, "GOOD")


def test_removed_negative_feedback_is_not_a_defect():
    removed = order("o", days_before(20), feedback_rating=1, feedback_removed=True)
    assert order_defect_rate(D, TOKYO, [removed], "MFN").numerator == 0


def test_feedback_removed_after_the_end_of_d_still_counted_on_d():
    later = order(
        "o",
        days_before(20),
        feedback_rating=1,
        feedback_removed=True,
        feedback_removed_at=at(D + timedelta(days=1)),
    )
    assert order_defect_rate(D, TOKYO, [later], "MFN").numerator == 1


def test_feedback_posted_after_the_end_of_d_is_ignored():
    late = order("o", days_before(20), feedback_rating=1, feedback_at=end_of_day(D, TOKYO))
    assert order_defect_rate(D, TOKYO, [late], "MFN").numerator == 0
    just_in = order("o", days_before(20), feedback_rating=1, feedback_at=at(D, 23, 59))
    assert order_defect_rate(D, TOKYO, [just_in], "MFN").numerator == 1


@pytest.mark.parametrize(
    ("outcome", "defects"),
    [
        ("denied", 0),
        ("withdrawn", 0),
        ("granted_amazon_funded", 0),
        ("overturned", 0),
        ("granted_seller_funded", 1),
        ("refunded", 1),
        (None, 1),  # undecided claims count
    ],
)
def test_claim_outcomes(outcome: str | None, defects: int):
    o = order("o", days_before(20), claims=(CaseFacts("c", outcome),))
    result = order_defect_rate(D, TOKYO, [o], "MFN")
    assert result.numerator == defects
    assert result.components["claims"] == defects


def test_claim_filed_after_d_ignored_and_decision_after_d_not_yet_made():
    future_claim = order(
        "f", days_before(20), claims=(CaseFacts("c", None, filed_at=at(D + timedelta(days=2))),)
    )
    denied_later = order(
        "d",
        days_before(20),
        claims=(CaseFacts("c", "denied", filed_at=at(D), decided_at=at(D + timedelta(days=2))),),
    )
    result = order_defect_rate(D, TOKYO, [future_claim, denied_later], "MFN")
    assert result.ids == ("d",)


@pytest.mark.parametrize(
    ("outcome", "defects"), [("seller_won", 0), ("seller_lost", 1), ("buyer_won", 1), (None, 1)]
)
def test_chargeback_counts_unless_the_seller_won(outcome: str | None, defects: int):
    o = order("o", days_before(20), chargebacks=(CaseFacts("k", outcome),))
    assert order_defect_rate(D, TOKYO, [o], "MFN").components["chargebacks"] == defects


def test_exactly_one_percent_misses_the_strict_odr_target():
    orders = [order(f"o{i}", days_before(20)) for i in range(99)]
    orders.append(order("bad", days_before(20), feedback_rating=1))
    result = order_defect_rate(D, TOKYO, orders, "MFN")
    assert (result.rate, result.status) == (0.01, "BAD")


# --------------------------------------------------------------------------- late shipment rate


def test_late_shipment_counts_late_confirmations_and_overdue_unshipped_orders():
    day = days_before(3)
    orders = [
        shipped_order("on-time", day),
        shipped_order("exactly-due", day, shipped_at=at(day, 23)),
        shipped_order("late", day, shipped_at=at(day, 23, 1)),
        shipped_order("overdue", day, shipped_at=None),
        shipped_order(
            "not-yet-due", D, shipped_at=None, latest_ship_date=at(D + timedelta(days=1))
        ),
        shipped_order(
            "cancelled", day, shipped_at=None, cancelled_at=at(day, 11), cancelled_by="seller"
        ),
        shipped_order("afn", day, channel="AFN", shipped_at=None),
    ]
    result = late_shipment_rate(D, TOKYO, orders)
    assert (result.numerator, result.denominator) == (2, 4)
    assert result.ids == ("late", "overdue")
    assert result.components == {"shippedLate": 1, "unshippedPastDue": 1, "pending": 1}
    assert result.not_measurable == 0


def test_late_shipment_10_day_window_edge():
    orders = [
        shipped_order("in", days_before(9), shipped_at=None),
        shipped_order("out", days_before(10), shipped_at=None),
    ]
    assert late_shipment_rate(D, TOKYO, orders, Window(10, 0)).ids == ("in",)
    assert late_shipment_rate(D, TOKYO, orders, Window(30, 0)).ids == ("in", "out")


def test_ship_confirmation_after_the_end_of_d_means_unshipped_at_d():
    due_yesterday = shipped_order("o", days_before(1), shipped_at=at(D + timedelta(days=1)))
    assert late_shipment_rate(D, TOKYO, [due_yesterday]).components["unshippedPastDue"] == 1
    due_tomorrow = shipped_order(
        "p", D, latest_ship_date=at(D + timedelta(days=1)), shipped_at=at(D + timedelta(days=1), 1)
    )
    result = late_shipment_rate(D, TOKYO, [due_tomorrow])
    assert (result.denominator, result.components["pending"]) == (0, 1)


def test_amazon_imported_orders_without_ship_time_or_ship_by_date_are_not_measurable():
    orders = [
        shipped_order("unknown-time", days_before(2), ship_time_known=False),
        shipped_order("no-ship-by", days_before(2), latest_ship_date=None),
        shipped_order("fine", days_before(2)),
    ]
    result = late_shipment_rate(D, TOKYO, orders)
    assert (result.denominator, result.not_measurable) == (1, 2)


# --------------------------------------------------------------------------- cancellation rate


def test_cancel_rate_charges_seller_and_system_but_not_buyer_cancellations():
    day = days_before(1)
    cancelled = at(day, 11)
    orders = [
        order("seller", day, cancelled_at=cancelled, cancelled_by="seller"),
        order("system", day, cancelled_at=cancelled, cancelled_by="system"),
        order("buyer", day, cancelled_at=cancelled, cancelled_by="buyer"),
        order("unknown", day, cancelled_at=cancelled, cancelled_by="unknown"),
        order("kept", day),
        order("afn", day, channel="AFN", cancelled_at=cancelled, cancelled_by="seller"),
    ]
    result = pre_fulfillment_cancel_rate(D, TOKYO, orders)
    assert result.ids == ("seller", "system")
    assert (result.denominator, result.not_measurable) == (4, 1)
    assert result.components == {"sellerOrSystem": 2, "buyer": 1}


def test_cancel_rate_7_day_window_edge_and_cancellation_after_d_ignored():
    orders = [
        order("in", days_before(6), cancelled_at=at(days_before(6), 11), cancelled_by="seller"),
        order("out", days_before(7), cancelled_at=at(days_before(7), 11), cancelled_by="seller"),
        order("later", D, cancelled_at=at(D + timedelta(days=1)), cancelled_by="seller"),
    ]
    result = pre_fulfillment_cancel_rate(D, TOKYO, orders)
    assert result.ids == ("in",)
    assert result.denominator == 2


# --------------------------------------------------------------------------- tracking and delivery


def test_valid_tracking_needs_a_non_empty_id_and_a_scan():
    day = days_before(20)
    orders = [
        tracked("scanned", day, first_scan_at=at(day - timedelta(days=3), 18)),
        tracked("delivered", day, delivered_at=at(day, 15)),
        tracked("unscanned", day),
        tracked("empty", day, tracking_id="", delivered_at=at(day, 15)),
        tracked("unknown", day, tracking_id=None),
        tracked("unshipped", day, shipped_at=None),
    ]
    result = valid_tracking_rate(D, TOKYO, orders)
    assert result.ids == ("delivered", "scanned")
    assert (result.denominator, result.not_measurable) == (4, 1)
    assert result.components == {"noTracking": 1, "unscanned": 1}
    assert result.status == "BAD"


def test_valid_tracking_window_selects_by_promised_delivery_date_with_two_week_lag():
    orders = [
        tracked("last-day", days_before(14), first_scan_at=at(days_before(16))),
        tracked("too-new", days_before(13), first_scan_at=at(days_before(15))),
        tracked("first-day", days_before(43), first_scan_at=at(days_before(45))),
        tracked("too-old", days_before(44), first_scan_at=at(days_before(46))),
    ]
    result = valid_tracking_rate(D, TOKYO, orders)
    assert result.window == (days_before(43), days_before(14))
    assert result.ids == ("first-day", "last-day")


def test_a_scan_after_the_end_of_d_does_not_make_tracking_valid_yet():
    o = tracked("o", days_before(20), first_scan_at=at(D + timedelta(days=1)))
    assert valid_tracking_rate(D, TOKYO, [o]).numerator == 0


def test_on_time_delivery_among_validly_tracked_orders():
    day = days_before(20)
    orders = [
        tracked("early", day, delivered_at=at(day, 9)),
        tracked("at-promise", day, delivered_at=at(day, 20)),
        tracked("late", day, delivered_at=at(day, 20) + SECOND),
        tracked("never", day, first_scan_at=at(day - timedelta(days=2))),
        tracked("untracked", day, tracking_id="", delivered_at=at(day, 9)),
    ]
    result = on_time_delivery_rate(D, TOKYO, orders)
    assert result.ids == ("at-promise", "early")
    assert result.denominator == 4
    assert result.components == {"late": 2, "pending": 0}
    assert result.comparison == ">"


def test_on_time_delivery_leaves_out_a_promise_still_ahead_when_evaluated():
    """With the default lag a promise in the window is always behind the end of D; a store
    evaluated today at noon (``as_of``, the earlier of now and the end of D) can have one ahead."""
    ahead = tracked("ahead", D, first_scan_at=at(days_before(2)))  # promised today at 20:00
    noon = at(D, 12)
    result = on_time_delivery_rate(D, TOKYO, [ahead], Window(30, 0), as_of=noon)
    assert (result.denominator, result.components["pending"]) == (0, 1)
    assert (result.rate, result.status) == (None, "NONE")
    at_end_of_day = on_time_delivery_rate(D, TOKYO, [ahead], Window(30, 0))
    assert (at_end_of_day.denominator, at_end_of_day.numerator) == (1, 0)  # never delivered: late


def test_tracking_none_is_not_measurable_for_on_time_delivery():
    o = tracked("o", days_before(20), tracking_id=None, delivered_at=at(days_before(20), 9))
    result = on_time_delivery_rate(D, TOKYO, [o])
    assert (result.denominator, result.not_measurable) == (0, 1)


# --------------------------------------------------------------------------- contact response


def test_contact_response_24_hours_inclusive_and_no_response_needed():
    received = at(days_before(5), 9)
    messages = [
        message("exactly-24h", received, answered_at=received + timedelta(hours=24)),
        message("one-second-late", received, answered_at=received + timedelta(hours=24) + SECOND),
        message("quick", received, answered_at=received + 2 * HOUR),
        message("never", received),
        message("marked-in-time", received, no_response_needed_at=received + 24 * HOUR),
        message("marked-late", received, no_response_needed_at=received + 30 * HOUR),
        message("young", end_of_day(D, TOKYO) - 23 * HOUR),
    ]
    result = contact_response(D, TOKYO, messages)
    assert result.ids == ("exactly-24h", "quick")
    assert result.denominator == 5
    assert result.components == {"noResponseNeeded": 1, "pending": 1}
    assert result.average_response_hours == pytest.approx((24 + 24 + 1 / 3600 + 2) / 3)
    assert result.status == "BAD"


def test_unanswered_message_older_than_24_hours_at_the_end_of_d_is_late():
    old_enough = message("o", end_of_day(D, TOKYO) - 24 * HOUR - SECOND)
    just_24 = message("y", end_of_day(D, TOKYO) - 24 * HOUR)
    result = contact_response(D, TOKYO, [old_enough, just_24])
    assert (result.numerator, result.denominator) == (0, 1)


def test_answer_after_the_end_of_d_is_not_an_answer_yet():
    received = at(days_before(3), 9)
    m = message("m", received, answered_at=at(D + timedelta(days=1)))
    result = contact_response(D, TOKYO, [m])
    assert (result.numerator, result.denominator, result.average_response_hours) == (0, 1, None)


# --------------------------------------------------------------------------- returns and surveys


def test_return_dissatisfaction_48_hour_boundary_and_reasons():
    requested = at(days_before(10), 9)
    returns = [
        return_request("at-48h", requested, resolved_at=requested + 48 * HOUR, outcome="refunded"),
        return_request(
            "late", requested, resolved_at=requested + 48 * HOUR + SECOND, outcome="refunded"
        ),
        return_request("unhappy", requested, resolved_at=requested + HOUR, buyer_satisfied=False),
        return_request(
            "rejected", requested, resolved_at=requested + HOUR, outcome="rejected_invalid"
        ),
        return_request("open-old", requested),
        return_request("open-young", end_of_day(D, TOKYO) - 48 * HOUR),
    ]
    result = return_dissatisfaction_rate(D, TOKYO, returns)
    assert result.ids == ("late", "open-old", "rejected", "unhappy")
    assert result.denominator == 5
    assert result.components == {
        "negativeFeedback": 1,
        "lateResponse": 2,
        "invalidRejection": 1,
        "pending": 1,
    }


def test_return_open_just_over_48_hours_at_the_end_of_d_is_negative():
    r = return_request("r", end_of_day(D, TOKYO) - 48 * HOUR - SECOND)
    assert return_dissatisfaction_rate(D, TOKYO, [r]).ids == ("r",)


def test_customer_service_dissatisfaction_keeps_the_latest_answer_per_order():
    surveys = [
        SurveyFacts("changed-mind", at(days_before(5)), satisfied=False),
        SurveyFacts("changed-mind", at(days_before(2)), satisfied=True),
        SurveyFacts("unhappy", at(days_before(3)), satisfied=False),
        SurveyFacts("future", at(days_before(3)), satisfied=True),
        SurveyFacts("future", at(D + timedelta(days=1)), satisfied=False),
        SurveyFacts("too-old", at(days_before(60)), satisfied=False),
    ]
    result = customer_service_dissatisfaction_rate(D, TOKYO, surveys)
    assert result.ids == ("unhappy",)
    assert result.denominator == 3
    assert result.status == "BAD"


# --------------------------------------------------------------------------- invoices


def test_next_business_day_skips_the_weekend():
    friday = date(2026, 11, 13)
    assert friday.weekday() == 4
    assert next_business_day(friday) == date(2026, 11, 16)
    assert next_business_day(date(2026, 11, 14)) == date(2026, 11, 16)
    assert next_business_day(date(2026, 11, 16)) == date(2026, 11, 17)


def test_invoice_for_a_friday_shipment_is_due_by_the_end_of_monday():
    friday = date(2026, 11, 13)  # inside the window D−13 … D−7
    monday = date(2026, 11, 16)

    def business(order_id: str, **fields: Any) -> OrderFacts:
        return shipped_order(order_id, friday, is_business=True, **fields)

    orders = [
        business("monday-night", invoice_uploaded_at=at(monday, 23, 59)),
        business("tuesday", invoice_uploaded_at=at(monday + timedelta(days=1), 0, 0)),
        business("missing"),
        business("unknown-time", ship_time_known=False),
        shipped_order("consumer", friday),
    ]
    result = invoice_defect_rate(D, TOKYO, orders)
    assert result.window == (days_before(13), days_before(7))
    assert result.ids == ("missing", "tuesday")
    assert (result.denominator, result.not_measurable) == (3, 1)
    assert result.components == {"missingInvoice": 1, "lateInvoice": 1}


def test_invoice_window_edge_selects_by_ship_confirmation_date():
    orders = [
        shipped_order("in", days_before(7), is_business=True),
        shipped_order("too-new", days_before(6), is_business=True),
        shipped_order("too-old", days_before(14), is_business=True),
    ]
    assert invoice_defect_rate(D, TOKYO, orders).ids == ("in",)


# --------------------------------------------------------------------------- everything at once


def test_evaluate_with_nothing_gives_none_rates_and_status_none():
    results = evaluate(D, TOKYO, [], [], [], [])
    assert set(results) == {
        "order_defect_rate_mfn",
        "order_defect_rate_afn",
        "late_shipment_rate_10",
        "late_shipment_rate_30",
        "pre_fulfillment_cancel_rate",
        "valid_tracking_rate",
        "on_time_delivery_rate",
        "contact_response",
        "return_dissatisfaction_rate",
        "customer_service_dissatisfaction_rate",
        "invoice_defect_rate",
    }
    for name, result in results.items():
        assert result.name == name
        assert (result.denominator, result.rate, result.status) == (0, None, "NONE")


def test_evaluate_uses_the_configured_windows_and_targets():
    orders = [shipped_order(f"o{i}", days_before(12)) for i in range(24)]
    orders.append(shipped_order("late", days_before(12), shipped_at=None))
    default = evaluate(D, TOKYO, orders)
    assert default["late_shipment_rate_10"].denominator == 0
    assert default["late_shipment_rate_30"].status == "BAD"  # 1/25 = 4%, not below 4%
    lenient = MetricsConfig(late_shipment_short_window=Window(14, 0), late_shipment_target=0.05)
    custom = evaluate(D, TOKYO, orders, config=lenient)
    assert custom["late_shipment_rate_10"].denominator == 25
    assert custom["late_shipment_rate_30"].status == "GOOD"


def test_fulfilled_orders_counts_shipped_uncancelled_orders_of_the_last_180_days():
    orders = [
        shipped_order("mfn", days_before(179)),
        shipped_order("afn", D, channel="AFN"),
        shipped_order("too-old", days_before(180)),
        shipped_order("unshipped", D, shipped_at=None),
        shipped_order("ships-later", D, shipped_at=at(D + timedelta(days=1))),
        order("cancelled", D, cancelled_at=at(D, 11), cancelled_by="buyer"),
    ]
    assert fulfilled_orders(D, TOKYO, orders) == 2


# --------------------------------------------------------------------------- properties

BASE = datetime(2026, 6, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=200 * 24).map(lambda h: BASE + timedelta(hours=h))
maybe = st.none() | instants
cases = st.tuples(
    st.text("abc", min_size=1, max_size=2),
    st.sampled_from([None, "denied", "refunded", "seller_won"]),
).map(lambda t: CaseFacts(*t))
random_orders = st.builds(
    OrderFacts,
    order_id=st.text("xyz0123", min_size=1, max_size=4),
    channel=st.sampled_from(["MFN", "AFN"]),
    purchased_at=instants,
    latest_ship_date=maybe,
    latest_delivery_date=maybe,
    shipped_at=maybe,
    ship_time_known=st.sampled_from([None, True, False]),
    tracking_id=st.sampled_from([None, "", "T1"]),
    first_scan_at=maybe,
    delivered_at=maybe,
    cancelled_at=maybe,
    cancelled_by=st.sampled_from([None, "buyer", "seller", "system", "unknown"]),
    is_business=st.booleans(),
    invoice_uploaded_at=maybe,
    feedback_rating=st.sampled_from([None, 1, 2, 3, 5]),
    feedback_removed=st.booleans(),
    claims=st.lists(cases, max_size=2).map(tuple),
    chargebacks=st.lists(cases, max_size=2).map(tuple),
)
random_messages = st.builds(
    MessageFacts,
    message_id=st.text("mn", min_size=1, max_size=3),
    received_at=instants,
    answered_at=maybe,
    no_response_needed_at=maybe,
)
random_returns = st.builds(
    ReturnFacts,
    return_id=st.text("rs", min_size=1, max_size=3),
    order_id=st.just("o"),
    requested_at=instants,
    resolved_at=maybe,
    outcome=st.sampled_from([None, "refunded", "rejected_invalid"]),
    buyer_satisfied=st.sampled_from([None, True, False]),
)
random_surveys = st.builds(
    SurveyFacts,
    order_id=st.text("ab", min_size=1, max_size=2),
    answered_at=instants,
    satisfied=st.booleans(),
)
days = st.integers(min_value=0, max_value=220).map(lambda n: date(2026, 6, 1) + timedelta(days=n))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(random_orders, max_size=25),
    st.lists(random_messages, max_size=10),
    st.lists(random_returns, max_size=10),
    st.lists(random_surveys, max_size=10),
    days,
    st.sampled_from([TOKYO, LA]),
)
def test_every_rate_is_none_or_a_fraction_and_numerator_never_exceeds_denominator(
    orders, messages, returns, surveys, day, zone
):
    for result in evaluate(day, zone, orders, messages, returns, surveys).values():
        assert 0 <= result.numerator <= result.denominator
        assert result.numerator == len(result.ids)
        if result.denominator == 0:
            assert (result.rate, result.status) == (None, "NONE")
        else:
            assert result.rate is not None
            assert 0.0 <= result.rate <= 1.0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(random_orders, min_size=1, max_size=25),
    st.lists(random_messages, max_size=10),
    st.lists(random_returns, max_size=10),
    st.lists(random_surveys, max_size=10),
    st.sampled_from([TOKYO, LA]),
)
def test_a_day_before_every_purchase_has_nothing_to_measure(
    orders, messages, returns, surveys, zone
):
    earliest = min(
        [o.purchased_at for o in orders]
        + [m.received_at for m in messages]
        + [r.requested_at for r in returns]
        + [s.answered_at for s in surveys]
    )
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    for result in evaluate(day, zone, orders, messages, returns, surveys).values():
        assert result.denominator == 0
        assert result.rate is None
    assert fulfilled_orders(day, zone, orders) == 0


def test_shipped_order_without_a_promise_is_not_measurable_in_its_purchase_window():
    day = days_before(20)
    no_promise = tracked("o", day, latest_delivery_date=None, first_scan_at=at(day))
    result = valid_tracking_rate(D, TOKYO, [no_promise])
    assert (result.denominator, result.not_measurable) == (0, 1)


def test_as_of_later_than_the_end_of_d_is_cut_to_the_end_of_d():
    received = at(days_before(3), 9)
    m = message("m", received, answered_at=at(D + timedelta(days=1)))
    later = contact_response(D, TOKYO, [m], as_of=at(D + timedelta(days=5)))
    assert (later.numerator, later.denominator) == (0, 1)


def test_a_ship_confirmation_exactly_at_midnight_after_d_belongs_to_the_next_day():
    due_yesterday = shipped_order("o", days_before(1), shipped_at=end_of_day(D, TOKYO))
    result = late_shipment_rate(D, TOKYO, [due_yesterday])
    assert result.components["unshippedPastDue"] == 1
    assert result.components["shippedLate"] == 0


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=1, max_value=10_000),
    st.sampled_from([0.01, 0.025, 0.04, 0.05, 0.1, 0.25, 0.9, 0.95, 0.97, 0.0075, 1 / 3]),
    st.sampled_from(["<", ">=", ">"]),
)
def test_integer_target_comparison_agrees_with_exact_fractions(n, d, target, comparison):
    from fractions import Fraction

    from tsunagu.health.metrics import meets

    a, b = Fraction(n, d), Fraction(str(target))
    expected = {"<": a < b, ">=": a >= b, ">": a > b}[comparison]
    assert meets(n, d, target, comparison) == expected


ZONES = [
    "Asia/Tokyo",
    "America/Los_Angeles",
    "America/Santiago",  # DST changes at midnight
    "America/Havana",  # DST changes at midnight
    "Australia/Lord_Howe",  # half-hour DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Apia",  # skipped a whole day in 2011
]


@settings(max_examples=500, deadline=None)
@given(
    st.integers(min_value=0, max_value=40 * 365 * 24 * 60).map(
        lambda m: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(minutes=m)
    ),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=1, max_value=60),
    st.sampled_from(ZONES),
)
def test_span_membership_by_instant_equals_membership_by_local_date(instant, shift, days, name):
    """``Span.holds`` compares instants with the span's UTC bounds; it must say exactly what
    comparing local dates says, in every zone, across DST changes at midnight."""
    from zoneinfo import ZoneInfo

    from tsunagu.health.metrics import Window, local_date, window_span

    zone = ZoneInfo(name)
    day = local_date(instant, zone) + timedelta(days=shift)
    span = window_span(day, zone, Window(days, 0))
    by_date = span.first <= local_date(instant, zone) <= span.last
    assert span.holds(instant, zone) == by_date


@settings(max_examples=500, deadline=None)
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2039, 12, 31)),
    st.integers(min_value=-120, max_value=120),
    st.sampled_from(ZONES),
)
def test_span_membership_at_the_edges_of_local_days(day, minutes, name):
    """The same, for instants within two hours of a local midnight, where DST changes bite."""
    from zoneinfo import ZoneInfo

    from tsunagu.health.metrics import Window, local_date, start_of_day, window_span

    zone = ZoneInfo(name)
    instant = start_of_day(day, zone) + timedelta(minutes=minutes)
    span = window_span(day, zone, Window(1, 0))
    assert span.holds(instant, zone) == (local_date(instant, zone) == day)
