"""How events fold into order state; worked examples and order independence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.orders.rules import StoredEvent, fold_message, fold_order
from tsunagu.violations.rules import fold_violation

T0 = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)


def ev(type_: str, hours: float, event_id: str | None = None, **body: Any) -> StoredEvent:
    return StoredEvent(type_, T0 + timedelta(hours=hours), event_id or f"{type_}-{hours}", body)


PLACED = ev(
    "order_placed",
    0,
    channel="MFN",
    currency="JPY",
    items=[
        {"sku": "A", "quantity": 2, "price": 3960},
        {"sku": "B", "quantity": 1, "price": 880, "tax": 80},
    ],
    latest_ship_date="2026-10-03T00:00:00Z",
)


def test_placed_order_has_totals_and_promise():
    s = fold_order("o", [PLACED])
    assert s.status == "unshipped"
    assert s.items_total == 4840
    assert s.tax_total == 80
    assert s.latest_ship_date == datetime(2026, 10, 3, tzinfo=UTC)


def test_ship_time_is_the_first_confirmation_and_tracking_the_last_given():
    s = fold_order(
        "o",
        [
            PLACED,
            ev("order_shipped", 30, carrier="Yamato", tracking_id="111"),
            ev("order_shipped", 40, carrier="Japan Post", tracking_id="222"),
            ev("order_shipped", 50, carrier="Sagawa"),  # says nothing about tracking
        ],
    )
    assert s.shipped_at == T0 + timedelta(hours=30)
    assert s.tracking_id == "222"
    assert s.carrier == "Japan Post"


def test_shipment_without_tracking_field_leaves_tracking_unknown():
    s = fold_order("o", [PLACED, ev("order_shipped", 5, ship_time_known=False)])
    assert s.tracking_id is None
    assert s.ship_time_known is False


def test_cancellation_after_shipment_is_not_a_cancellation():
    s = fold_order(
        "o",
        [PLACED, ev("order_shipped", 5, tracking_id="1"), ev("order_cancelled", 6, by="seller")],
    )
    assert s.status == "shipped"
    assert s.cancelled_at is None


def test_cancellation_before_shipment_records_who_cancelled():
    s = fold_order("o", [PLACED, ev("order_cancelled", 6, by="system", reason="other")])
    assert (s.status, s.cancelled_by, s.cancel_reason) == ("cancelled", "system", "other")


def test_latest_feedback_wins_and_removal_is_remembered():
    s = fold_order(
        "o", [PLACED, ev("feedback_posted", 80, rating=1), ev("feedback_posted", 90, rating=4)]
    )
    assert s.feedback_rating == 4
    s = fold_order("o", [PLACED, ev("feedback_posted", 80, rating=1), ev("feedback_removed", 100)])
    assert (s.feedback_rating, s.feedback_removed) == (1, True)


def test_claim_takes_its_latest_decision():
    s = fold_order(
        "o",
        [
            PLACED,
            ev("claim_filed", 100, claim_id="c1", reason="not_received"),
            ev("claim_decided", 150, claim_id="c1", outcome="granted_seller_funded"),
            ev("claim_decided", 300, claim_id="c1", outcome="overturned"),
        ],
    )
    case = s.cases[("claim", "c1")]
    assert (case.reason, case.outcome) == ("not_received", "overturned")


def test_promise_correction_overrides_placement_promise_even_if_it_arrives_first():
    correction = ev("order_promise_set", 10, latest_ship_date="2026-10-04T00:00:00Z")
    s = fold_order("o", [correction, PLACED])
    assert s.latest_ship_date == datetime(2026, 10, 4, tzinfo=UTC)


def test_refunds_add_up():
    s = fold_order(
        "o", [PLACED, ev("refund_issued", 200, amount=500), ev("refund_issued", 210, amount=300)]
    )
    assert (s.refunded_total, s.refund_count) == (800, 2)


def test_message_first_answer_counts():
    m = fold_message(
        "m",
        [
            ev("message_received", 0, order_id="o"),
            ev("message_answered", 30),
            ev("message_answered", 2),
        ],
    )
    assert m.answered_at == T0 + timedelta(hours=2)
    assert m.order_id == "o"


def test_violation_reopened_after_resolution_is_open():
    v = fold_violation(
        "v",
        [
            ev("violation_opened", 0, policy="listingPolicyViolations", severity="medium"),
            ev("violation_resolved", 10, how="listing fixed"),
            ev(
                "violation_opened", 20, "again", policy="listingPolicyViolations", severity="medium"
            ),
        ],
    )
    assert v.resolved_at is None


ORDER_EVENTS = [
    PLACED,
    ev("order_promise_set", 1, latest_delivery_date="2026-10-06T00:00:00Z"),
    ev("order_shipped", 20, carrier="Yamato", tracking_id="1"),
    ev("order_shipped", 20, "dup-time", tracking_id="2"),
    ev("tracking_scanned", 22),
    ev("order_delivered", 70),
    ev("feedback_posted", 90, rating=2),
    ev("feedback_posted", 90, "same-time", rating=5),
    ev("claim_filed", 100, claim_id="c", reason="damaged"),
    ev("claim_decided", 120, claim_id="c", outcome="denied"),
    ev("return_requested", 130, return_id="r"),
    ev("return_resolved", 131, return_id="r", outcome="refunded", buyer_satisfied=False),
    ev("refund_issued", 132, amount=880),
    ev("order_cancelled", 133, by="buyer"),
]


@settings(max_examples=200)
@given(st.permutations(ORDER_EVENTS))
def test_fold_does_not_depend_on_arrival_order(events: list[StoredEvent]):
    assert fold_order("o", events) == fold_order("o", ORDER_EVENTS)
