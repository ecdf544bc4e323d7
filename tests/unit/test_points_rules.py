"""Issue 15's points arithmetic (``tsunagu.points.rules``): the worked examples of the issue and
properties over any prices, rates and refund sequences (LED-08: whole points only)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import placed
from tsunagu.events.rules import Candidate, validate
from tsunagu.marketplaces.registry import load_registry
from tsunagu.points.config import DEFAULT
from tsunagu.points.rules import (
    MAX_RATE,
    EarningLine,
    PointsRuleError,
    clawed_back,
    eligible_amount,
    expires_at,
    expiry,
    has_badge,
    line_points,
    order_points,
    refund_target,
    split_points,
    warning_days,
)

TOKYO = ZoneInfo("Asia/Tokyo")
prices = st.integers(min_value=0, max_value=10_000_000)
rates = st.integers(min_value=0, max_value=MAX_RATE)


def test_the_issues_examples():
    assert line_points(1000, 20) == 200
    assert line_points(1999, 1) == 19  # floor, never rounded up
    assert clawed_back(200, 100, 1000) == 20  # ¥1,000 + 200 pt, 10% refunded → 20 pt
    assert clawed_back(200, 1000, 1000) == 200  # a full refund claws back everything
    assert split_points(100, [300, 300, 400]) == [30, 30, 40]
    assert split_points(10, [1, 1, 1]) == [4, 3, 3]  # the remainder to the first of equals
    assert split_points(7, [100, 300]) == [1, 6]  # floor(1.75)=1, floor(5.25)=5, +1 to ¥300


@given(price=prices, rate=rates)
def test_a_line_earns_the_floor_of_its_share(price: int, rate: int):
    points = line_points(price, rate)
    assert isinstance(points, int)
    assert points * 100 <= price * rate < (points + 1) * 100


@given(
    points=st.integers(min_value=0, max_value=1_000_000),
    line_prices=st.lists(prices, min_size=1, max_size=20),
)
def test_a_split_adds_up_and_no_share_is_less_than_its_floor(points: int, line_prices: list[int]):
    shares = split_points(points, line_prices)
    assert sum(shares) == points
    assert all(s >= 0 for s in shares)
    total = sum(line_prices)
    if total:
        floors = [points * p // total for p in line_prices]
        extra = [s - f for s, f in zip(shares, floors, strict=True)]
        # only the largest line (first of equals) gets what rounding left, less than one per line
        largest = max(range(len(line_prices)), key=lambda i: (line_prices[i], -i))
        assert all(e == 0 for i, e in enumerate(extra) if i != largest)
        assert 0 <= extra[largest] < len(line_prices)


@given(
    data=st.data(),
    points=st.integers(min_value=0, max_value=50_000),
    price=st.integers(min_value=1, max_value=1_000_000),
)
def test_split_refunds_claw_back_what_one_refund_of_the_same_total_would(
    data: st.DataObject, points: int, price: int
):
    """Each refund claws back the difference between the totals before and after it: however a
    refund is split, the points returned add up to one refund of the same amount, and never to
    more than the line earned."""
    refunds = data.draw(st.lists(st.integers(min_value=1, max_value=price), max_size=8))
    refunded = clawed = 0
    for amount in refunds:
        refunded += amount
        step = clawed_back(points, refunded, price) - clawed
        assert step >= 0
        clawed += step
    assert clawed == clawed_back(points, refunded, price)
    assert clawed <= points
    if refunded >= price:
        assert clawed == points


def test_a_balance_expires_a_calendar_year_later_at_the_same_local_time():
    last = datetime(2026, 11, 25, 21, 30, tzinfo=TOKYO)
    assert expires_at(last) == datetime(2027, 11, 25, 21, 30, tzinfo=TOKYO)
    leap = datetime(2028, 2, 29, 9, 0, tzinfo=TOKYO)
    assert expires_at(leap) == datetime(2029, 2, 28, 9, 0, tzinfo=TOKYO)
    assert expires_at(datetime(2027, 2, 28, 9, 0, tzinfo=TOKYO)).date() == date(2028, 2, 28)
    assert warning_days(expires_at(last)) == [date(2027, 10, 26), date(2027, 11, 18)]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        (line_points, (-1, 1)),
        (line_points, (100, 51)),
        (line_points, (100, -1)),
        (split_points, (-1, [100])),
        (split_points, (10, [])),
        (clawed_back, (10, -5, 100)),
    ],
)
def test_inputs_outside_the_rules_are_refused(call, args):  # type: ignore[no-untyped-def]
    with pytest.raises(PointsRuleError):
        call(*args)
    with pytest.raises(PointsRuleError):
        expires_at(datetime(2026, 1, 1))  # naive: no local time to keep
    assert expires_at(datetime(2026, 1, 1, tzinfo=UTC)).year == 2027


def test_points_may_pay_only_for_eligible_categories():
    """Gift card ¥5,000 + e-book ¥1,000 + food ¥2,000: 3,000 eligible; digital content, coins
    and fresh groceries excluded by default, e-books not (case does not matter)."""
    excluded = frozenset(DEFAULT.excluded_categories)
    assert eligible_amount([("gift_card", 5000), ("ebook", 1000), ("food", 2000)], excluded) == 3000
    others = [("Digital_Content", 1000), ("amazon_coins", 1000), ("fresh_grocery", 1000)]
    assert eligible_amount(others, excluded) == 0
    assert eligible_amount([(None, 700)], excluded) == 700  # no category: eligible


def test_what_an_order_earns_line_by_line():
    """A SKU's own rate, the store's rate, a deal line; an explicit number wins and is split."""
    lines = [
        EarningLine("A", 1000, None, rate=10),  # the SKU's override
        EarningLine("B", 1000, None, rate=5),  # the store's rate
        EarningLine("C", 1000, None, rate=5, no_points=True),  # a deal price
        EarningLine("D", 1000, None, rate=0),
    ]
    assert order_points(lines, None) == [100, 50, 0, 0]
    assert order_points(lines[:3], 100) == [34, 33, 33] == split_points(100, [1000] * 3)
    assert order_points([EarningLine("A", 1000, None, rate=50)], None) == [500]


def test_a_refund_naming_a_line_claws_back_that_lines_points_only():
    """Line A ¥1,000 with 200 pt, line B ¥3,000 with 30 pt: ¥500 of A returns 100; ¥500 over
    the whole order returns floor(230 × 500 / 4000) = 28; never more than the order earned."""
    points, prices = [200, 30], [1000, 3000]
    assert refund_target(points, prices, [500, 0], 0) == 100
    assert refund_target(points, prices, [0, 0], 500) == 28
    assert refund_target(points, prices, [1000, 3000], 4000) == 230


def test_expiry_counts_the_later_activity_in_local_time():
    """The later of the last acquisition and the last order; 08:00 JST on 29 February 2028
    (28 February in UTC) expires at 08:00 JST on 28 February 2029; nothing yet: no expiry."""
    order_at = datetime(2026, 5, 1, tzinfo=UTC)
    acquired = datetime(2026, 6, 1, tzinfo=UTC)
    assert expiry(acquired, order_at, TOKYO) == datetime(2027, 6, 1, tzinfo=UTC)
    assert expiry(order_at, acquired, TOKYO) == datetime(2027, 6, 1, tzinfo=UTC)
    assert expiry(None, order_at, TOKYO) == datetime(2027, 5, 1, tzinfo=UTC)
    assert expiry(None, None, TOKYO) is None
    leap = datetime(2028, 2, 29, 8, 0, tzinfo=TOKYO).astimezone(UTC)
    assert leap.date() == date(2028, 2, 28)
    assert expiry(leap, None, TOKYO) == datetime(2029, 2, 28, 8, 0, tzinfo=TOKYO)
    assert expiry(leap, None, UTC) == datetime(2029, 2, 28, 23, 0, tzinfo=UTC)  # a UTC year


def test_the_badge_needs_membership_and_rate_2():
    assert has_badge(2, member=True, badge_rate=2)
    assert has_badge(50, member=True, badge_rate=2)
    assert not has_badge(1, member=True, badge_rate=2)
    assert not has_badge(2, member=False, badge_rate=2)


def test_the_event_contract_takes_no_points_as_a_boolean_only():
    registry = load_registry(None)
    deal = placed("sel_1", "503-1")
    deal["items"][0]["no_points"] = True
    accepted = validate(deal, registry)
    assert isinstance(accepted, Candidate), accepted
    assert '"no_points":true' in accepted.body
    for wrong in ("yes", 1, None):
        deal["items"][0]["no_points"] = wrong
        found = validate(deal, registry)
        assert isinstance(found, list), wrong
        assert [(p.field, p.code) for p in found] == [("items[0].no_points", "invalid_type")]
