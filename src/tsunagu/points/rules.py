"""How many points an order line earns, how an order's explicit points are split across its
lines, how much a refund claws back, and when a balance expires. Pure: integers and dates only.

The rules are issue 15's (design.md "Points", amazon-domain.md §6); 1 point = ¥1:

- a line earns ``floor(price × rate ÷ 100)`` points, the rate a whole percentage 0–50, the price
  the line's item price as the customer sees it (tax-inclusive in JP), shipping and gift wrap
  excluded;
- an order's explicit ``points`` are split in proportion to the line prices, each share rounded
  down, and what rounding leaves goes to the largest line (the first of equals);
- after refunds totalling ``R`` of a line priced ``P`` that earned ``N`` points, ``floor(N × R ÷
  P)`` points have been clawed back in all, so several partial refunds claw back exactly what one
  refund of the same total would;
- a balance expires a calendar year after the customer's last acquisition or order, at the same
  local date and time (29 February → 28 February).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

#: the highest points rate a seller may set, in percent
MAX_RATE = 50
#: days before an expiry on which a warning is recorded
WARNING_DAYS = (30, 7)


class PointsRuleError(ValueError):
    """An input no rule is defined for (a negative price, a rate outside 0–50 …)."""


def line_points(price: int, rate: int) -> int:
    """Points a line earns: ``floor(price × rate ÷ 100)`` with ``price`` in yen (minor units of
    JPY) and ``rate`` a whole percentage from 0 to :data:`MAX_RATE`."""
    if price < 0:
        raise PointsRuleError(f"a line price is never negative: {price}")
    if not 0 <= rate <= MAX_RATE:
        raise PointsRuleError(f"a points rate is a whole percentage from 0 to {MAX_RATE}: {rate}")
    return price * rate // 100


def split_points(points: int, prices: Sequence[int]) -> list[int]:
    """An order's explicit ``points`` shared across its lines in proportion to their prices:
    each share rounded down, the remainder to the line with the largest price (the first of
    equals). The shares add up to ``points``; an order whose lines cost nothing gives all of
    them to its first line."""
    if points < 0:
        raise PointsRuleError(f"points are never negative: {points}")
    if not prices:
        raise PointsRuleError("an order has at least one line")
    if any(p < 0 for p in prices):
        raise PointsRuleError("a line price is never negative")
    total = sum(prices)
    if total == 0:
        return [points] + [0] * (len(prices) - 1)
    shares = [points * p // total for p in prices]
    largest = max(range(len(prices)), key=lambda i: (prices[i], -i))
    shares[largest] += points - sum(shares)
    return shares


def clawed_back(points: int, refunded: int, price: int) -> int:
    """Points clawed back in all once ``refunded`` (the total of the line's refunds so far) of a
    line priced ``price`` has been refunded: ``floor(points × refunded ÷ price)``, all of them
    when the whole price (or more) is refunded. The next refund claws back the difference
    between this and what was clawed back before."""
    if points < 0 or refunded < 0 or price < 0:
        raise PointsRuleError("points, refunds and prices are never negative")
    if price == 0 or refunded >= price:
        return points
    return points * refunded // price


def expires_at(last_activity: datetime) -> datetime:
    """The instant a balance expires: a calendar year after ``last_activity`` (the later of the
    last acquisition and the last order), at the same local date and time in the zone of
    ``last_activity``; 29 February expires on 28 February."""
    if last_activity.tzinfo is None:
        raise PointsRuleError("times are aware")
    day = last_activity.date()
    try:
        later = day.replace(year=day.year + 1)
    except ValueError:  # 29 February, and next year has none
        later = date(day.year + 1, 2, 28)
    return datetime.combine(later, last_activity.timetz())


def warning_days(expiry: datetime) -> list[date]:
    """The local days on which an expiry warning is recorded (30 and 7 days before)."""
    return [(expiry - timedelta(days=n)).date() for n in WARNING_DAYS]


# -- what an order earns, what points may pay for ------------------------------------------------


@dataclass(frozen=True)
class EarningLine:
    """One order line as the points rules see it."""

    sku: str
    price: int
    category: str | None
    #: the effective rate: the SKU's override, else the store's, in percent
    rate: int
    #: a deal price: the line earns nothing
    no_points: bool = False


def order_points(lines: Sequence[EarningLine], explicit: int | None) -> list[int]:
    """Points per line: the order's explicit number split by price when it has one (it wins),
    otherwise each line's ``floor(price × rate ÷ 100)``; a deal line earns nothing either way
    unless the order's explicit number says otherwise."""
    if explicit is not None:
        return split_points(explicit, [line.price for line in lines])
    return [0 if line.no_points else line_points(line.price, line.rate) for line in lines]


def refund_target(
    points: Sequence[int],
    prices: Sequence[int],
    line_refunds: Sequence[int],
    order_refunded: int,
) -> int:
    """Points clawed back in all after the refunds so far: each line's ``floor(points ×
    refunded ÷ price)`` for refunds that named the line, plus the same rule over the whole order
    for refunds that named none; never more than the order earned."""
    total = sum(points)
    by_line = sum(
        clawed_back(p, r, price) for p, r, price in zip(points, line_refunds, prices, strict=True)
    )
    whole = clawed_back(total, order_refunded, sum(prices)) if order_refunded else 0
    return min(total, by_line + whole)


def eligible_amount(lines: Sequence[tuple[str | None, int]], excluded: frozenset[str]) -> int:
    """What points may pay for in an order: the prices of its lines whose category is not
    excluded (gift cards, coins, fresh groceries, digital content other than e-books)."""
    return sum(price for category, price in lines if (category or "").lower() not in excluded)


def expiry(
    last_acquired: datetime | None, last_order: datetime | None, zone: tzinfo
) -> datetime | None:
    """The balance's expiry: a calendar year after the later of the last acquisition and the
    last order, counted in the marketplace's local time; None before either."""
    later = max((t for t in (last_acquired, last_order) if t is not None), default=None)
    if later is None:
        return None
    return expires_at(later.astimezone(zone)).astimezone(UTC)


def has_badge(effective_rate: int, *, member: bool, badge_rate: int) -> bool:
    """The "2% or more" badge: the seller joined the programme and the offer's rate is at least
    ``badge_rate``."""
    return member and effective_rate >= badge_rate
