"""The daily tallies agree with the full metric evaluation, and stay true until they expire."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_health_metrics import (
    BASE,
    LA,
    TOKYO,
    random_messages,
    random_orders,
    random_returns,
    random_surveys,
)
from tsunagu.health.metrics import (
    MessageFacts,
    OrderFacts,
    evaluate,
    fulfilled_orders,
    local_date,
)
from tsunagu.health.rollups import COMPONENTS, combine, day_tallies, first_day_needed

moments = st.integers(min_value=0, max_value=210 * 24 * 60).map(
    lambda m: BASE + timedelta(minutes=m)
)
facts = st.tuples(
    st.lists(random_orders, max_size=25, unique_by=lambda o: o.order_id),
    st.lists(random_messages, max_size=10, unique_by=lambda m: m.message_id),
    st.lists(random_returns, max_size=10, unique_by=lambda r: r.return_id),
    st.lists(random_surveys, max_size=10),
)


def without_ids(results):
    return {k: dataclasses.replace(v, ids=()) for k, v in results.items()}


@settings(max_examples=200, deadline=None)
@given(facts, moments, st.sampled_from([TOKYO, LA]))
def test_summing_the_days_gives_the_full_evaluation(data, now, zone):
    orders, messages, returns, surveys = data
    day = local_date(now, zone)
    tallies = day_tallies(zone, orders, messages, returns, surveys, now)
    per_day = {d: t for d, (t, _) in tallies.items()}
    metrics, fulfilled = combine(day, zone, per_day)
    assert metrics == without_ids(
        evaluate(day, zone, orders, messages, returns, surveys, as_of=now)
    )
    assert fulfilled == fulfilled_orders(day, zone, orders, as_of=now)


@settings(max_examples=200, deadline=None)
@given(
    facts, moments, st.integers(min_value=0, max_value=30 * 24 * 60), st.sampled_from([TOKYO, LA])
)
def test_a_day_stays_the_same_until_it_expires(data, now, minutes_later, zone):
    """Tallies computed at ``now`` equal those computed later at any instant up to their
    ``valid_until``: a day that is not dirty and not expired need not be computed again."""
    orders, messages, returns, surveys = data
    later = now + timedelta(minutes=minutes_later)
    before = day_tallies(zone, orders, messages, returns, surveys, now)
    after = day_tallies(zone, orders, messages, returns, surveys, later)
    for d in set(before) | set(after):
        tallies, until = before.get(d, ({}, None))
        if until is None or later <= until:
            assert after.get(d, ({}, None))[0] == tallies, d


def test_the_deadline_is_the_first_instant_ahead():
    placed = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    due = placed + timedelta(days=2)
    order = OrderFacts("o1", "MFN", placed, latest_ship_date=due)
    now = placed + timedelta(hours=1)
    counts, until = day_tallies(TOKYO, [order], [], [], [], now)[local_date(placed, TOKYO)]
    assert until == due
    assert counts["lsr"] == (0, 0, 0, 0, 0, 1)  # pending: not due yet
    counts_late, _ = day_tallies(TOKYO, [order], [], [], [], due + timedelta(seconds=1))[
        local_date(placed, TOKYO)
    ]
    assert counts_late["lsr"] == (1, 1, 0, 0, 1, 0)  # unshipped past due


def test_a_message_is_judged_24_hours_after_receipt():
    got = datetime(2026, 7, 1, 3, 0, tzinfo=UTC)
    message = MessageFacts("m1", got)
    counts, until = day_tallies(LA, [], [message], [], [], got + timedelta(hours=2))[
        local_date(got, LA)
    ]
    assert until == got + timedelta(hours=24)
    assert counts["contact"][:5] == (0, 0, 0, 0, 1)


def test_component_names_match_the_metric_functions():
    placed = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    results = evaluate(local_date(placed, TOKYO), TOKYO, [OrderFacts("o", "MFN", placed)])
    names = {
        "odr_mfn": "order_defect_rate_mfn",
        "odr_afn": "order_defect_rate_afn",
        "lsr": "late_shipment_rate_30",
        "cancel": "pre_fulfillment_cancel_rate",
        "vtr": "valid_tracking_rate",
        "otdr": "on_time_delivery_rate",
        "invoice": "invoice_defect_rate",
        "contact": "contact_response",
        "returns": "return_dissatisfaction_rate",
        "cs": "customer_service_dissatisfaction_rate",
    }
    for kind, name in names.items():
        assert set(COMPONENTS[kind]) == set(results[name].components), kind


def test_first_day_needed_covers_the_longest_window():
    today = datetime(2026, 7, 1).date()
    assert first_day_needed(today) == today - timedelta(days=179)


def test_a_shipment_stamped_later_brings_its_day_back():
    """A ship confirmation already stored but stamped after now enters its ship day later;
    that day must expire then, although it holds no record yet."""
    placed = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    ships = datetime(2026, 7, 10, 1, 0, tzinfo=UTC)
    order = OrderFacts("b1", "MFN", placed, shipped_at=ships, is_business=True)
    now = placed + timedelta(hours=1)
    ship_day = local_date(ships, TOKYO)
    counts, until = day_tallies(TOKYO, [order], [], [], [], now)[ship_day]
    assert (counts, until) == ({}, ships)
    later, _ = day_tallies(TOKYO, [order], [], [], [], ships + timedelta(hours=1))[ship_day]
    assert later["invoice"] == (1, 1, 0, 1, 0)


def test_a_survey_answer_stamped_later_moves_the_order_to_its_day():
    from tsunagu.health.metrics import SurveyFacts

    first = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
    second = datetime(2026, 7, 5, 1, 0, tzinfo=UTC)
    answers = [SurveyFacts("o", first, True), SurveyFacts("o", second, False)]
    now = first + timedelta(hours=1)
    at_now = day_tallies(TOKYO, [], [], [], answers, now)
    assert at_now[local_date(first, TOKYO)] == ({"cs": (0, 1, 0)}, second)
    assert at_now[local_date(second, TOKYO)] == ({}, second)
    later = day_tallies(TOKYO, [], [], [], answers, second + timedelta(hours=1))
    assert later[local_date(second, TOKYO)][0] == {"cs": (1, 1, 0)}
    assert local_date(first, TOKYO) not in later
