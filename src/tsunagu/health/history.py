"""A store's health history from stored day tallies. Pure: no database, no clock.

The tallies of one selecting day X (``rollups.py``) depend on the cut-off they are taken at: a
claim filed on X+30 is not in them at the end of X+10, and an order leaves the full path's reach
:data:`~tsunagu.health.rollups.ORDER_DAYS` days after its purchase. The history evaluates day D
at the end of D, so it needs the tallies of every X in D's windows *as they stood at the end of D*.

They change only on the few days one of X's records has an instant (a deadline, an event time),
so each day keeps a :class:`Chain`: its tallies for each evaluation day D ≥ X, stored as the
versions where they change, and the first evaluation day not computed yet (``next_day``). A chain
is extended without reading anything else while its facts are unchanged; a day whose records
changed (a dirty mark) gets a new chain. :func:`series` then slides every metric's window over the
chains: one addition and one subtraction per window and day, plus one per version change. Each day
of the result equals ``metrics.evaluate`` for that day alone (property-tested against the full path,
ids aside).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from tsunagu.health.metrics import (
    MessageFacts,
    MetricResult,
    MetricsConfig,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    Window,
    end_of_day,
    local_date,
)
from tsunagu.health.rollups import (
    ORDER_DAYS,
    Tallies,
    group_by_day,
    one_day,
    plan,
    results,
    valid_until,
    width,
)

DAY = timedelta(days=1)

#: ``(first evaluation day, tallies)``: the tallies hold from that day until the next version
Version = tuple[date, Tallies]


@dataclass(frozen=True)
class DayRecords:
    """Every record one selecting day can ever hold, whatever the cut-off: the orders bought,
    promised or shipped that day, the messages, return requests and survey answers of that day,
    and the local purchase day of each order they belong to (the full path reads an order's
    records only while the order is within :data:`ORDER_DAYS` days)."""

    orders: tuple[OrderFacts, ...] = ()
    messages: tuple[MessageFacts, ...] = ()
    returns: tuple[ReturnFacts, ...] = ()
    surveys: tuple[SurveyFacts, ...] = ()
    purchased: Mapping[str, date] = field(default_factory=dict)


@dataclass(frozen=True)
class Chain:
    """One selecting day's tallies on each evaluation day from the day itself: ``versions`` in
    day order, the last one holding up to the day before ``next_day`` (``None``: for ever)."""

    versions: tuple[Version, ...]
    next_day: date | None

    def covers(self, day: date) -> bool:
        return self.next_day is None or day < self.next_day

    def on(self, day: date) -> Tallies:
        found: Tallies = {}
        for since, tallies in self.versions:
            if since > day:
                break
            found = tallies
        return found


def records_by_day(
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    messages: Iterable[MessageFacts],
    returns: Iterable[ReturnFacts],
    surveys: Iterable[SurveyFacts],
    purchased: Mapping[str, date],
) -> dict[date, DayRecords]:
    """Each record under every local day it can be selected by (see :class:`DayRecords`)."""
    order_days: dict[date, dict[str, OrderFacts]] = {}
    for o in orders:
        bought = local_date(o.purchased_at, zone)
        days = {bought}
        if o.latest_delivery_date is not None:
            days.add(local_date(o.latest_delivery_date, zone))
        if o.shipped_at is not None:
            days.add(local_date(o.shipped_at, zone))
        for d in days:
            order_days.setdefault(d, {})[o.order_id] = o
    by_message: dict[date, list[MessageFacts]] = {}
    for m in messages:
        by_message.setdefault(local_date(m.received_at, zone), []).append(m)
    by_return: dict[date, list[ReturnFacts]] = {}
    for r in returns:
        by_return.setdefault(local_date(r.requested_at, zone), []).append(r)
    by_answer: dict[date, list[SurveyFacts]] = {}
    for s in surveys:
        by_answer.setdefault(local_date(s.answered_at, zone), []).append(s)
    days = set(order_days) | set(by_message) | set(by_return) | set(by_answer)
    result = {}
    for d in days:
        day_orders = tuple(order_days.get(d, {}).values())
        day_returns = tuple(by_return.get(d, ()))
        day_surveys = tuple(by_answer.get(d, ()))
        ids = {o.order_id for o in day_orders}
        ids |= {r.order_id for r in day_returns} | {s.order_id for s in day_surveys}
        result[d] = DayRecords(
            day_orders,
            tuple(by_message.get(d, ())),
            day_returns,
            day_surveys,
            {i: purchased[i] for i in ids if i in purchased},
        )
    return result


def _tallies_on(
    day: date, records: DayRecords, zone: ZoneInfo, on: date
) -> tuple[Tallies, date | None]:
    """The tallies of selecting ``day`` as the full path sees them when it evaluates ``on`` (at
    the end of ``on``, reading orders bought from ``on - ORDER_DAYS`` to ``on``), and the next
    evaluation day they may differ on (``None``: never)."""
    end = end_of_day(on, zone)
    floor = on - timedelta(days=ORDER_DAYS)
    bought = records.purchased

    def reach(order_id: str) -> bool:
        p = bought.get(order_id)
        return p is not None and floor <= p <= on

    orders = [o for o in records.orders if reach(o.order_id)]
    returns = [r for r in records.returns if reach(r.order_id)]
    surveys = [s for s in records.surveys if reach(s.order_id)]
    # the full path's message floor (40 days) lies beyond every message window: not modelled
    facts = group_by_day(zone, orders, records.messages, returns, surveys, end).get(day)
    ahead = [p + timedelta(days=ORDER_DAYS + 1) for p in bought.values() if p >= floor]
    ahead += [p for p in bought.values() if p > on]
    if facts is None:
        tallies: Tallies = {}
        until = None
    else:
        tallies = one_day(day, facts, zone, end)
        until = valid_until(facts, zone, end, floor=False)
    if until is not None:
        ahead.append(max(local_date(until, zone), on + DAY))
    return tallies, min(ahead) if ahead else None


def extend(
    day: date,
    records: DayRecords,
    zone: ZoneInfo,
    last: date,
    chain: Chain | None = None,
) -> Chain:
    """``chain`` (or a new one from ``day``) computed on to evaluation day ``last``, evaluating
    only the days a record's instant can change the tallies on."""
    versions = list(chain.versions) if chain is not None else []
    on: date | None = chain.next_day if chain is not None else day
    while on is not None and on <= last:
        tallies, ahead = _tallies_on(day, records, zone, on)
        if not versions or versions[-1][1] != tallies:
            versions.append((on, tallies))
        on = ahead
    return Chain(tuple(versions), on)


# --------------------------------------------------------------------------- windows


def _add(total: list[int], values: Sequence[int], sign: int) -> None:
    for i, v in enumerate(values):
        total[i] += sign * v


@dataclass
class _Sliding:
    """One metric's window sum, kept as the window slides day by day: on day D it covers the
    selecting days D − ``far`` to D − ``near``."""

    name: str
    kind: str
    near: timedelta
    far: timedelta
    total: list[int]

    @classmethod
    def of(cls, name: str, kind: str, window: Window) -> _Sliding:
        near = timedelta(days=window.offset_days)
        far = timedelta(days=window.offset_days + window.duration_days - 1)
        return cls(name, kind, near, far, [0] * width(kind))

    def holds(self, day: date, on: date) -> bool:
        return on - self.far <= day <= on - self.near


def series(
    first: date,
    last: date,
    zone: ZoneInfo,
    chains: Mapping[date, Chain],
    config: MetricsConfig | None = None,
) -> list[tuple[date, dict[str, MetricResult], int]]:
    """The metrics and fulfilled-order count of every day from ``first`` to ``last``, each at
    the end of that day, from the chains of the selecting days (a day without a chain has no
    records). Every chain must cover ``last``."""
    c = config or MetricsConfig()
    slides = [_Sliding.of(name, kind, window) for name, kind, window, _, _ in plan(c)]
    slides.append(_Sliding.of("fulfilled", "fulfilled", Window(c.fulfilled_window_days, 0)))
    by_kind: dict[str, list[_Sliding]] = {}
    for s in slides:
        by_kind.setdefault(s.kind, []).append(s)
    changes: dict[date, list[tuple[date, Tallies, Tallies]]] = {}
    for x, chain in chains.items():
        previous: Tallies = {}
        for since, tallies in chain.versions:
            if since > first:
                changes.setdefault(since, []).append((x, previous, tallies))
            previous = tallies
    current = {x: chain.on(first) for x, chain in chains.items()}
    for x, tallies in current.items():
        for kind, values in tallies.items():
            for s in by_kind.get(kind, ()):
                if s.holds(x, first):
                    _add(s.total, values, 1)
    result = []
    on = first
    while True:
        totals = {s.name: s.total for s in slides}
        result.append((on, *results(on, zone, totals, c)))
        if on >= last:
            return result
        before, on = on, on + DAY
        for x, old, new in changes.get(on, ()):
            current[x] = new
            for kind in old.keys() | new.keys():
                for s in by_kind.get(kind, ()):
                    if s.holds(x, before):
                        if kind in old:
                            _add(s.total, old[kind], -1)
                        if kind in new:
                            _add(s.total, new[kind], 1)
        for s in slides:
            leaving = current.get(before - s.far)
            if leaving is not None and s.kind in leaving:
                _add(s.total, leaving[s.kind], -1)
            entering = current.get(on - s.near)
            if entering is not None and s.kind in entering:
                _add(s.total, entering[s.kind], 1)


# --------------------------------------------------------------------------- what to show

#: one day of a drawn history: the day, the score, the band and each metric's rate
_P = TypeVar("_P", bound=tuple[date, int, str, Mapping[str, float | None]])


def since_first_data(points: Sequence[_P]) -> list[_P]:
    """``points`` (oldest first) from the first day with data on: the first day on which any
    metric measured something, or on which the rating left the value it starts the range with (a
    violation on a store without orders). Before it the store had nothing to show, and drawing
    months of a flat starting score would pass them off as a record. With no such day, the
    last point alone (today)."""
    if not points:
        return []
    start = points[0][1]
    for n, (_, score, _, rates) in enumerate(points):
        if score != start or any(v is not None for v in rates.values()):
            return list(points[n:])
    return [points[-1]]
