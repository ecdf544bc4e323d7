"""Daily metric tallies: the incremental path to a store's health. Pure: no database, no clock.

Every metric of ``metrics.py`` is a sum over records (orders, messages, returns, survey answers)
selected by the local date of one instant: purchase, promised delivery, ship confirmation,
receipt, request or answer. So the counts of a window are the sums of per-day counts, and a
day's counts only change when one of its records changes (an event arrives: the day is marked
dirty) or when the cut-off passes one of its instants (a ship-by deadline, a 24-hour answer
limit, an event stamped in the future). :func:`day_tallies` computes each day with the very
functions of ``metrics.py`` restricted to that day, and :func:`valid_until` tells when the day
has to be computed again. :func:`combine` sums the days of each window into the same
:class:`MetricResult` the full path gives, without the ids behind the numerators (the
explanation reads those from the full path).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tsunagu.health.metrics import (
    MICROSECOND,
    RESPONSE_LIMIT,
    RETURN_LIMIT,
    Comparison,
    MessageFacts,
    MetricResult,
    MetricsConfig,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    Window,
    contact_response,
    counted,
    customer_service_dissatisfaction_rate,
    fulfilled_orders,
    invoice_defect_rate,
    late_shipment_rate,
    local_date,
    on_time_delivery_rate,
    order_defect_rate,
    pre_fulfillment_cancel_rate,
    return_dissatisfaction_rate,
    start_of_day,
    valid_tracking_rate,
    window_span,
)

#: Orders placed more than this many days before the evaluated day are out of scope on both
#: paths (the full path reads no older orders; see ``repo.load_store_facts``).
ORDER_DAYS = 200

#: The component names of each tally, in stored order (after numerator, denominator and
#: not-measurable). They must be the keys the metric functions report.
COMPONENTS: Mapping[str, tuple[str, ...]] = {
    "odr_mfn": ("negativeFeedback", "claims", "chargebacks"),
    "odr_afn": ("negativeFeedback", "claims", "chargebacks"),
    "lsr": ("shippedLate", "unshippedPastDue", "pending"),
    "cancel": ("sellerOrSystem", "buyer"),
    "vtr": ("noTracking", "unscanned"),
    "otdr": ("late", "pending"),
    "invoice": ("missingInvoice", "lateInvoice"),
    "contact": ("noResponseNeeded", "pending"),
    "returns": ("negativeFeedback", "lateResponse", "invalidRejection", "pending"),
    "cs": (),
}
#: ``fulfilled`` is a single count; ``contact`` also keeps answered messages and microseconds.
Tallies = dict[str, tuple[int, ...]]


def _tally(result: MetricResult, kind: str) -> tuple[int, ...]:
    values = [result.numerator, result.denominator, result.not_measurable]
    values += [result.components.get(key, 0) for key in COMPONENTS[kind]]
    if kind == "contact":
        values += [result.answered, result.response_microseconds]
    return tuple(values)


# --------------------------------------------------------------------------- grouping


@dataclass(frozen=True)
class DayFacts:
    """The records whose selecting date is one day, under each selection."""

    by_purchase: tuple[OrderFacts, ...] = ()
    by_promise: tuple[OrderFacts, ...] = ()
    by_shipment: tuple[OrderFacts, ...] = ()
    messages: tuple[MessageFacts, ...] = ()
    returns: tuple[ReturnFacts, ...] = ()
    surveys: tuple[SurveyFacts, ...] = ()
    #: instants after the cut-off that will bring a record into this day (a ship confirmation
    #: or a survey answer stamped later): the day must be computed again then
    watch: tuple[datetime, ...] = ()


def _latest_answers(
    surveys: Iterable[SurveyFacts], end: datetime
) -> dict[str, tuple[SurveyFacts, list[SurveyFacts]]]:
    """Per order: its latest answer before ``end`` (the one the CS metric keeps) and all its
    answers, so the day of the latest answer gets every answer of that order."""
    everything: dict[str, list[SurveyFacts]] = defaultdict(list)
    for s in surveys:
        everything[s.order_id].append(s)
    result = {}
    for order_id, answers in everything.items():
        given = [s for s in answers if s.answered_at < end]
        if given:
            latest = max(given, key=lambda s: (s.answered_at, not s.satisfied))
            result[order_id] = (latest, answers)
    return result


def group_by_day(
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    messages: Iterable[MessageFacts],
    returns: Iterable[ReturnFacts],
    surveys: Iterable[SurveyFacts],
    end: datetime,
) -> dict[date, DayFacts]:
    """Each record under the local date each metric selects it by, as of cut-off ``end``."""
    purchase: dict[date, list[OrderFacts]] = defaultdict(list)
    promise: dict[date, list[OrderFacts]] = defaultdict(list)
    shipment: dict[date, list[OrderFacts]] = defaultdict(list)
    by_message: dict[date, list[MessageFacts]] = defaultdict(list)
    by_return: dict[date, list[ReturnFacts]] = defaultdict(list)
    by_answer: dict[date, list[SurveyFacts]] = defaultdict(list)
    watch: dict[date, list[datetime]] = defaultdict(list)
    for o in orders:
        bought = local_date(o.purchased_at, zone)
        purchase[bought].append(o)
        # an order without a promise is charged to its purchase date (metrics._shipped_by_promise)
        promised = o.latest_delivery_date
        promise[bought if promised is None else local_date(promised, zone)].append(o)
        if o.shipped_at is not None:
            if o.shipped_at < end:
                shipment[local_date(o.shipped_at, zone)].append(o)
            else:
                watch[local_date(o.shipped_at, zone)].append(o.shipped_at)
    for m in messages:
        by_message[local_date(m.received_at, zone)].append(m)
    for r in returns:
        by_return[local_date(r.requested_at, zone)].append(r)
    survey_list = list(surveys)
    for latest, answers in _latest_answers(survey_list, end).values():
        by_answer[local_date(latest.answered_at, zone)].extend(answers)
    for s in survey_list:
        if s.answered_at >= end:
            watch[local_date(s.answered_at, zone)].append(s.answered_at)
    days = set(purchase) | set(promise) | set(shipment)
    days |= set(by_message) | set(by_return) | set(by_answer) | set(watch)
    return {
        d: DayFacts(
            tuple(purchase.get(d, ())),
            tuple(promise.get(d, ())),
            tuple(shipment.get(d, ())),
            tuple(by_message.get(d, ())),
            tuple(by_return.get(d, ())),
            tuple(by_answer.get(d, ())),
            tuple(watch.get(d, ())),
        )
        for d in days
    }


# --------------------------------------------------------------------------- one day


def one_day(day: date, facts: DayFacts, zone: ZoneInfo, now: datetime) -> Tallies:
    """The tallies of local day ``day`` as of ``now``: each metric function evaluated for the
    day of ``now`` with a one-day window placed on ``day``, so the cut-off is exactly the one
    the full path uses for today."""
    today = local_date(now, zone)
    one = Window(1, (today - day).days)

    def run(kind: str, result: MetricResult) -> None:
        values = _tally(result, kind)
        if any(values):
            tallies[kind] = values

    tallies: Tallies = {}
    bought, promised, shipped = facts.by_purchase, facts.by_promise, facts.by_shipment
    if bought:
        run("odr_mfn", order_defect_rate(today, zone, bought, "MFN", one, as_of=now))
        run("odr_afn", order_defect_rate(today, zone, bought, "AFN", one, as_of=now))
        run("lsr", late_shipment_rate(today, zone, bought, one, as_of=now))
        run("cancel", pre_fulfillment_cancel_rate(today, zone, bought, one, as_of=now))
        count = fulfilled_orders(today, zone, bought, 1, as_of=now, offset_days=one.offset_days)
        if count:
            tallies["fulfilled"] = (count,)
    if promised:
        run("vtr", valid_tracking_rate(today, zone, promised, one, as_of=now))
        run("otdr", on_time_delivery_rate(today, zone, promised, one, as_of=now))
    if shipped:
        run("invoice", invoice_defect_rate(today, zone, shipped, one, as_of=now))
    if facts.messages:
        run("contact", contact_response(today, zone, facts.messages, one, as_of=now))
    if facts.returns:
        run("returns", return_dissatisfaction_rate(today, zone, facts.returns, one, as_of=now))
    if facts.surveys:
        run("cs", customer_service_dissatisfaction_rate(today, zone, facts.surveys, one, as_of=now))
    return tallies


def day_tallies(
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    messages: Iterable[MessageFacts],
    returns: Iterable[ReturnFacts],
    surveys: Iterable[SurveyFacts],
    now: datetime,
    *,
    days: Collection[date] | None = None,
) -> dict[date, tuple[Tallies, datetime | None]]:
    """Tallies and validity of every day that has records or awaits one (or of ``days`` only;
    a requested day without any comes back empty and valid for ever)."""
    grouped = group_by_day(zone, orders, messages, returns, surveys, now)
    wanted = grouped.keys() if days is None else days
    result: dict[date, tuple[Tallies, datetime | None]] = {}
    for d in wanted:
        facts = grouped.get(d)
        if facts is None:
            result[d] = ({}, None)
        else:
            result[d] = (one_day(d, facts, zone, now), valid_until(facts, zone, now))
    return result


# --------------------------------------------------------------------------- validity


def _order_instants(o: OrderFacts, zone: ZoneInfo, floor: bool) -> Iterator[datetime | None]:
    yield from (o.purchased_at, o.latest_ship_date, o.latest_delivery_date, o.shipped_at)
    yield from (o.first_scan_at, o.delivered_at, o.cancelled_at, o.invoice_uploaded_at)
    yield from (o.feedback_at, o.feedback_removed_at)
    for case in (*o.claims, *o.chargebacks):
        yield from (case.filed_at, case.decided_at)
    if floor:
        # the full path stops reading the order once it is more than ORDER_DAYS days old; that
        # change happens *at* the instant (the others just after theirs), hence one µs earlier
        yield (
            start_of_day(local_date(o.purchased_at, zone) + timedelta(days=ORDER_DAYS + 1), zone)
            - MICROSECOND
        )


def valid_until(
    facts: DayFacts, zone: ZoneInfo, now: datetime, *, floor: bool = True
) -> datetime | None:
    """The last cut-off at which tallies computed at ``now`` still hold: every comparison in
    ``metrics.py`` changes only once the cut-off is strictly past one of the records' instants
    (a deadline, an event time, a 24- or 48-hour limit), so the tallies hold up to and including
    the earliest such instant at or after ``now``. ``None``: nothing will ever change them.
    Without ``floor`` the day an order leaves the full path's reach is left out (the history
    counts that in evaluation days, ``history.py``)."""
    instants: list[datetime | None] = []
    for o in {
        id(o): o for o in (*facts.by_purchase, *facts.by_promise, *facts.by_shipment)
    }.values():
        instants.extend(_order_instants(o, zone, floor))
    for m in facts.messages:
        instants += [m.received_at, m.received_at + RESPONSE_LIMIT, m.answered_at]
        instants.append(m.no_response_needed_at)
    for r in facts.returns:
        instants += [r.requested_at, r.requested_at + RETURN_LIMIT, r.resolved_at]
    instants.extend(s.answered_at for s in facts.surveys)
    instants.extend(facts.watch)
    ahead = [x for x in instants if x is not None and x >= now]
    return min(ahead) if ahead else None


# --------------------------------------------------------------------------- windows


def width(kind: str) -> int:
    """How many counts a tally of ``kind`` holds."""
    if kind == "fulfilled":
        return 1
    return 3 + len(COMPONENTS.get(kind, ())) + (2 if kind == "contact" else 0)


def _sum(per_day: Mapping[date, Tallies], kind: str, first: date, last: date) -> list[int]:
    total = [0] * width(kind)
    for d, tallies in per_day.items():
        if first <= d <= last and kind in tallies:
            for i, value in enumerate(tallies[kind]):
                total[i] += value
    return total


def plan(c: MetricsConfig) -> list[tuple[str, str, Window, float, Comparison]]:
    """Each metric of ``evaluate``: its name, the tally it sums, its window, target and test."""
    return [
        ("order_defect_rate_mfn", "odr_mfn", c.odr_window, c.odr_target, "<"),
        ("order_defect_rate_afn", "odr_afn", c.odr_window, c.odr_target, "<"),
        ("late_shipment_rate_10", "lsr", c.late_shipment_short_window, c.late_shipment_target, "<"),
        ("late_shipment_rate_30", "lsr", c.late_shipment_long_window, c.late_shipment_target, "<"),
        ("pre_fulfillment_cancel_rate", "cancel", c.cancel_window, c.cancel_target, "<"),
        ("valid_tracking_rate", "vtr", c.valid_tracking_window, c.valid_tracking_target, ">="),
        (
            "on_time_delivery_rate",
            "otdr",
            c.on_time_delivery_window,
            c.on_time_delivery_target,
            ">",
        ),
        ("contact_response", "contact", c.contact_response_window, c.contact_response_target, ">="),
        ("return_dissatisfaction_rate", "returns", c.return_window, c.return_target, "<"),
        ("customer_service_dissatisfaction_rate", "cs", c.cs_window, c.cs_target, "<"),
        ("invoice_defect_rate", "invoice", c.invoice_window, c.invoice_target, "<"),
    ]


def window_totals(
    day: date,
    zone: ZoneInfo,
    per_day: Mapping[date, Tallies],
    config: MetricsConfig | None = None,
) -> dict[str, list[int]]:
    """Each metric's tally summed over its window on ``day``, and ``fulfilled`` (the sales
    count): what :func:`results` turns into the metrics, and what a store's summary keeps."""
    c = config or MetricsConfig()
    totals = {
        name: _sum(per_day, kind, *_bounds(day, zone, window))
        for name, kind, window, _, _ in plan(c)
    }
    totals["fulfilled"] = _sum(
        per_day, "fulfilled", *_bounds(day, zone, Window(c.fulfilled_window_days, 0))
    )
    return totals


def _bounds(day: date, zone: ZoneInfo, window: Window) -> tuple[date, date]:
    span = window_span(day, zone, window)
    return span.first, span.last


def results(
    day: date,
    zone: ZoneInfo,
    totals: Mapping[str, Sequence[int]],
    config: MetricsConfig | None = None,
) -> tuple[dict[str, MetricResult], int]:
    """The metrics of ``day`` and its fulfilled-order count from :func:`window_totals`."""
    c = config or MetricsConfig()
    found: dict[str, MetricResult] = {}
    for name, kind, window, target, comparison in plan(c):
        total = totals[name]
        components = dict(zip(COMPONENTS[kind], total[3:], strict=False))
        answered = micro = 0
        if kind == "contact":
            answered, micro = total[-2], total[-1]
        found[name] = counted(
            name,
            total[0],
            total[1],
            target,
            comparison,
            window_span(day, zone, window),
            not_measurable=total[2],
            components=components,
            answered=answered,
            response_microseconds=micro,
        )
    return found, totals["fulfilled"][0]


def combine(
    day: date,
    zone: ZoneInfo,
    per_day: Mapping[date, Tallies],
    config: MetricsConfig | None = None,
) -> tuple[dict[str, MetricResult], int]:
    """The metrics of ``day`` and its fulfilled-order count from the daily tallies: the same
    results as ``metrics.evaluate`` for that day and cut-off, except the ids."""
    return results(day, zone, window_totals(day, zone, per_day, config), config)


def first_day_needed(day: date, config: MetricsConfig | None = None) -> date:
    """The earliest local day any window of ``day`` covers."""
    c = config or MetricsConfig()
    windows = [w for _, _, w, _, _ in plan(c)] + [Window(c.fulfilled_window_days, 0)]
    return min(day - timedelta(days=w.duration_days + w.offset_days - 1) for w in windows)
