"""Seller performance metrics (issue 4, "Definitions"). Pure: no database, no I/O, no clock.

The caller folds events into :class:`OrderFacts`, :class:`MessageFacts`, :class:`ReturnFacts` and
:class:`SurveyFacts` (see ``orders/rules.py`` for the projection rules) and passes the evaluation
day ``D`` and the store's time zone. Everything here follows two conventions:

* **Days are local.** An order belongs to the calendar date of its selecting instant (purchase,
  promised delivery, ship confirmation, receipt…) in the store's zone: 23:30 in Los Angeles is
  still that Los Angeles date although it is already the next day in UTC.
* **Nothing after the end of D has happened yet.** "The end of D" is midnight after D in the
  store's zone; an instant at or after it is treated as absent, so history can be recomputed from
  facts that already know the future (a ship confirmation after D means "unshipped at D").
  A store evaluated today passes ``as_of`` (its "now"); the cut-off is then the earlier of the
  two, so a promise later today is still ahead (:func:`cutoff`).

Each metric reports its numerator, denominator, the rate (``None`` when nothing is measurable),
the status against its target, how many records lacked the fields it needs (``not_measurable``,
typical of Amazon file imports) and the ids behind the numerator, so every figure can be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import cache, lru_cache
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

Comparison = Literal["<", ">=", ">"]
Status = Literal["GOOD", "BAD", "NONE"]

#: Claim outcomes that take the claim out of the ODR (the buyer withdrew it, Amazon denied it or
#: paid it itself, or the seller won an appeal). Any other outcome, or none yet, is a defect.
CLAIM_OUTCOMES_NOT_COUNTED = frozenset(
    {"denied", "withdrawn", "granted_amazon_funded", "overturned"}
)
#: A chargeback counts unless it was decided in the seller's favour.
CHARGEBACK_OUTCOMES_NOT_COUNTED = frozenset({"seller_won"})
#: Cancellations charged to the seller; buyer cancellations stay in the denominator only.
SELLER_CANCELLERS = frozenset({"seller", "system"})
BUYER_CANCELLERS = frozenset({"buyer"})

DAY = timedelta(days=1)
RESPONSE_LIMIT = timedelta(hours=24)
RETURN_LIMIT = timedelta(hours=48)
MICROSECOND = timedelta(microseconds=1)


# --------------------------------------------------------------------------- input facts


class CaseFacts(NamedTuple):
    """A claim or chargeback: ``(case_id, outcome)``; ``None`` outcome means undecided.

    The two optional instants let a past day be evaluated exactly: a case filed after the end
    of D is ignored, and a decision made after it is treated as not made yet.
    """

    case_id: str
    outcome: str | None
    filed_at: datetime | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class OrderFacts:
    """One order as the projection sees it. ``tracking_id``: ``None`` = unknown, ``""`` = none
    given. ``ship_time_known`` False: the order shipped but the time is unknown (file imports).
    ``cancelled_by`` is ``seller``, ``system``, ``buyer`` or ``unknown``."""

    order_id: str
    channel: str  # "MFN" | "AFN"
    purchased_at: datetime
    latest_ship_date: datetime | None = None
    latest_delivery_date: datetime | None = None
    shipped_at: datetime | None = None
    ship_time_known: bool | None = None
    tracking_id: str | None = None
    first_scan_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    is_business: bool = False
    invoice_uploaded_at: datetime | None = None
    feedback_rating: int | None = None
    feedback_removed: bool = False
    claims: tuple[CaseFacts, ...] = ()
    chargebacks: tuple[CaseFacts, ...] = ()
    #: optional: when known, a feedback posted (or removed) after the end of D is ignored
    feedback_at: datetime | None = None
    feedback_removed_at: datetime | None = None


@dataclass(frozen=True)
class MessageFacts:
    """A buyer message; the first answer (or no-response mark) is the one that counts."""

    message_id: str
    received_at: datetime
    answered_at: datetime | None = None
    no_response_needed_at: datetime | None = None


@dataclass(frozen=True)
class ReturnFacts:
    """A return request; ``outcome`` e.g. ``refunded``, ``authorized``, ``rejected_invalid``."""

    return_id: str
    order_id: str
    requested_at: datetime
    resolved_at: datetime | None = None
    outcome: str | None = None
    buyer_satisfied: bool | None = None


@dataclass(frozen=True)
class SurveyFacts:
    """One answer to "Did this solve your problem?"; an order may have several."""

    order_id: str
    answered_at: datetime
    satisfied: bool


# --------------------------------------------------------------------------- windows


@dataclass(frozen=True)
class Window:
    """``duration_days`` local days ending ``offset_days`` before D (Amazon lags some metrics)."""

    duration_days: int
    offset_days: int = 0


@dataclass(frozen=True)
class Span:
    """The local dates a window covers and the UTC instants bounding them (end exclusive)."""

    first: date
    last: date
    start: datetime
    end: datetime

    def holds(self, instant: datetime | None, zone: ZoneInfo) -> bool:
        """The instant's local date (in ``zone``, the zone the span was made in) lies in the
        span. Compared as instants against the span's UTC bounds: the same answer without a
        time-zone conversion per record (history evaluates every record for every day)."""
        return instant is not None and self.start <= instant < self.end


@lru_cache(maxsize=8192)
def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Local midnight at the start of ``day``, as an aware UTC instant (memoised: windows and
    daily tallies ask for the same few hundred days again and again)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """Midnight after ``day`` in ``zone`` (UTC): the first instant that no longer belongs to it."""
    return start_of_day(day + DAY, zone)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()


@lru_cache(maxsize=8192)
def window_span(day: date, zone: ZoneInfo, window: Window) -> Span:
    """Dates D−offset−duration+1 … D−offset and their UTC bounds."""
    last = day - timedelta(days=window.offset_days)
    first = last - timedelta(days=window.duration_days - 1)
    return Span(first, last, start_of_day(first, zone), end_of_day(last, zone))


def cutoff(day: date, zone: ZoneInfo, as_of: datetime | None = None) -> datetime:
    """The instant a store is evaluated at: the earlier of ``as_of`` (the caller's "now") and the
    end of D. Without ``as_of`` it is the end of D, which is what history and reports use."""
    end = end_of_day(day, zone)
    return end if as_of is None or as_of > end else as_of


def _by(instant: datetime | None, cutoff: datetime) -> datetime | None:
    """The instant if it happened before ``cutoff`` (the end of D), else ``None``."""
    return instant if instant is not None and instant < cutoff else None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MetricResult:
    name: str
    numerator: int
    denominator: int
    rate: float | None
    target: float
    comparison: Comparison
    status: Status
    not_measurable: int
    window: tuple[date, date]
    components: Mapping[str, int] = field(default_factory=dict)
    ids: tuple[str, ...] = ()
    #: contact response only: mean hours from receipt to answer over the answered messages
    average_response_hours: float | None = None
    #: contact response only: answered messages and their summed response time (exact)
    answered: int = 0
    response_microseconds: int = 0


_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


@cache
def _ratio(target: float) -> tuple[int, int]:
    """The target as the exact decimal fraction it is written as (0.95 = 19/20)."""
    return Fraction(str(target)).as_integer_ratio()


def meets(numerator: int, denominator: int, target: float, comparison: Comparison) -> bool:
    """``numerator / denominator`` compared with ``target`` exactly, in integers."""
    p, q = _ratio(target)
    return _COMPARE[comparison](numerator * q, p * denominator)


def _result(
    name: str,
    numerator_ids: Iterable[str],
    denominator: int,
    target: float,
    comparison: Comparison,
    span: Span,
    *,
    not_measurable: int = 0,
    components: Mapping[str, int] | None = None,
    answered: int = 0,
    response_microseconds: int = 0,
) -> MetricResult:
    """The result with the ids behind its numerator (see :func:`counted`)."""
    ids = tuple(sorted(set(numerator_ids)))
    return counted(
        name,
        len(ids),
        denominator,
        target,
        comparison,
        span,
        not_measurable=not_measurable,
        components=components,
        answered=answered,
        response_microseconds=response_microseconds,
        ids=ids,
    )


def counted(
    name: str,
    numerator: int,
    denominator: int,
    target: float,
    comparison: Comparison,
    span: Span,
    *,
    not_measurable: int = 0,
    components: Mapping[str, int] | None = None,
    answered: int = 0,
    response_microseconds: int = 0,
    ids: tuple[str, ...] = (),
) -> MetricResult:
    """Builds a result from counts; the target is compared exactly (as fractions) so 19/20 meets
    95%. The daily rollups (``rollups.py``) build their results here too, so both paths agree."""
    rate: float | None = None
    status: Status = "NONE"
    if denominator:
        rate = numerator / denominator
        status = "GOOD" if meets(numerator, denominator, target, comparison) else "BAD"
    return MetricResult(
        name=name,
        numerator=numerator,
        denominator=denominator,
        rate=rate,
        target=target,
        comparison=comparison,
        status=status,
        not_measurable=not_measurable,
        window=(span.first, span.last),
        components=dict(components or {}),
        average_response_hours=average_hours(response_microseconds, answered),
        answered=answered,
        response_microseconds=response_microseconds,
        ids=ids,
    )


def average_hours(total_microseconds: int, answered: int) -> float | None:
    """Mean response time in hours from an exact total, so sums of days give the same float."""
    return total_microseconds / (answered * 3_600_000_000) if answered else None


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class MetricsConfig:
    """Every window and target; defaults follow Amazon where it documents them (issue 4)."""

    odr_window: Window = Window(60, 14)
    odr_target: float = 0.01
    late_shipment_short_window: Window = Window(10, 0)
    late_shipment_long_window: Window = Window(30, 0)
    late_shipment_target: float = 0.04
    cancel_window: Window = Window(7, 0)
    cancel_target: float = 0.025
    valid_tracking_window: Window = Window(30, 14)
    valid_tracking_target: float = 0.95
    on_time_delivery_window: Window = Window(30, 14)
    on_time_delivery_target: float = 0.97
    contact_response_window: Window = Window(30, 0)
    contact_response_target: float = 0.90
    return_window: Window = Window(60, 0)
    return_target: float = 0.10
    cs_window: Window = Window(60, 0)
    cs_target: float = 0.25
    invoice_window: Window = Window(7, 7)
    invoice_target: float = 0.05
    fulfilled_window_days: int = 180


# --------------------------------------------------------------------------- order metrics


def _defect_components(order: OrderFacts, end: datetime) -> tuple[bool, bool, bool]:
    """(negative feedback, counted claim, counted chargeback) as they stood at ``end``."""
    feedback_posted = order.feedback_at is None or order.feedback_at < end
    removed = order.feedback_removed and (
        order.feedback_removed_at is None or order.feedback_removed_at < end
    )
    negative = order.feedback_rating in (1, 2) and feedback_posted and not removed

    def counts(cases: tuple[CaseFacts, ...], excused: frozenset[str]) -> bool:
        for case in cases:
            if case.filed_at is not None and case.filed_at >= end:
                continue  # not filed yet at D
            decided = case.decided_at is None or case.decided_at < end
            outcome = case.outcome if decided else None
            if outcome is None or outcome not in excused:
                return True
        return False

    return (
        negative,
        counts(order.claims, CLAIM_OUTCOMES_NOT_COUNTED),
        counts(order.chargebacks, CHARGEBACK_OUTCOMES_NOT_COUNTED),
    )


def order_defect_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    channel: str,
    window: Window = Window(60, 14),
    target: float = 0.01,
    as_of: datetime | None = None,
) -> MetricResult:
    """Orders with at least one defect ÷ every order of ``channel`` placed in the window,
    cancelled ones included. Defects are order-correlated: a claim filed today lands on the
    order's purchase date, which is why the window lags D (feedback and claims need time)."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    selected = [o for o in orders if o.channel == channel and span.holds(o.purchased_at, zone)]
    defective: list[str] = []
    counts = {"negativeFeedback": 0, "claims": 0, "chargebacks": 0}
    for order in selected:
        feedback, claim, chargeback = _defect_components(order, end)
        counts["negativeFeedback"] += feedback
        counts["claims"] += claim
        counts["chargebacks"] += chargeback
        if feedback or claim or chargeback:
            defective.append(order.order_id)
    name = f"order_defect_rate_{channel.lower()}"
    return _result(name, defective, len(selected), target, "<", span, components=counts)


def late_shipment_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window = Window(30, 0),
    target: float = 0.04,
    as_of: datetime | None = None,
) -> MetricResult:
    """MFN orders ship-confirmed after ``latest_ship_date``, or still unshipped past it, ÷ the
    MFN orders that are not cancelled and either shipped or past due at the end of D.

    An unshipped order not yet due cannot be judged yet, so it is left out (reported as the
    ``pending`` component). Without a ship-by date, or with an unknown ship time, the order is
    not measurable."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    late: list[str] = []
    denominator = not_measurable = shipped_late = unshipped_late = pending = 0
    for o in orders:
        if o.channel != "MFN" or not span.holds(o.purchased_at, zone):
            continue
        if _by(o.cancelled_at, end) is not None:
            continue
        if o.latest_ship_date is None or (o.shipped_at is not None and o.ship_time_known is False):
            not_measurable += 1
            continue
        shipped = _by(o.shipped_at, end)
        if shipped is not None:
            denominator += 1
            if shipped > o.latest_ship_date:
                shipped_late += 1
                late.append(o.order_id)
        elif o.latest_ship_date < end:
            denominator += 1
            unshipped_late += 1
            late.append(o.order_id)
        else:
            pending += 1
    components = {
        "shippedLate": shipped_late,
        "unshippedPastDue": unshipped_late,
        "pending": pending,
    }
    return _result(
        f"late_shipment_rate_{window.duration_days}",
        late,
        denominator,
        target,
        "<",
        span,
        not_measurable=not_measurable,
        components=components,
    )


def pre_fulfillment_cancel_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window = Window(7, 0),
    target: float = 0.025,
    as_of: datetime | None = None,
) -> MetricResult:
    """MFN orders cancelled by the seller or by the system (Amazon's auto-cancel of unconfirmed
    orders) ÷ all MFN orders in the window. A buyer's cancellation is not the seller's fault, so
    it stays in the denominator only; a canceller we do not know makes the order not measurable."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    cancelled: list[str] = []
    denominator = not_measurable = by_buyer = 0
    for o in orders:
        if o.channel != "MFN" or not span.holds(o.purchased_at, zone):
            continue
        if _by(o.cancelled_at, end) is not None:
            if o.cancelled_by in SELLER_CANCELLERS:
                cancelled.append(o.order_id)
            elif o.cancelled_by in BUYER_CANCELLERS:
                by_buyer += 1
            else:
                not_measurable += 1
                continue
        denominator += 1
    components = {"sellerOrSystem": len(cancelled), "buyer": by_buyer}
    return _result(
        "pre_fulfillment_cancel_rate",
        cancelled,
        denominator,
        target,
        "<",
        span,
        not_measurable=not_measurable,
        components=components,
    )


def _shipped_by_promise(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window,
    as_of: datetime | None,
) -> tuple[Span, datetime, list[OrderFacts], int]:
    """Shipped MFN orders whose promised delivery date falls in the window, and how many had to
    be left out for lack of a promise or of a known tracking id. An order with no promise has no
    selecting date, so it is charged to the window its purchase date falls in."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    kept: list[OrderFacts] = []
    not_measurable = 0
    for o in orders:
        if o.channel != "MFN" or o.purchased_at >= end or _by(o.shipped_at, end) is None:
            continue
        if o.latest_delivery_date is None:
            not_measurable += span.holds(o.purchased_at, zone)
        elif span.holds(o.latest_delivery_date, zone):
            if o.tracking_id is None:
                not_measurable += 1
            else:
                kept.append(o)
    return span, end, kept, not_measurable


def _has_valid_tracking(order: OrderFacts, end: datetime) -> bool:
    """A non-empty tracking id with at least one carrier scan; a delivery counts as a scan."""
    if not order.tracking_id:
        return False
    return _by(order.first_scan_at, end) is not None or _by(order.delivered_at, end) is not None


def valid_tracking_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window = Window(30, 14),
    target: float = 0.95,
    as_of: datetime | None = None,
) -> MetricResult:
    """Shipped MFN orders with a scanned, non-empty tracking id ÷ shipped MFN orders."""
    span, end, shipped, not_measurable = _shipped_by_promise(day, zone, orders, window, as_of)
    valid = [o.order_id for o in shipped if _has_valid_tracking(o, end)]
    components = {
        "noTracking": sum(1 for o in shipped if o.tracking_id == ""),
        "unscanned": sum(1 for o in shipped if o.tracking_id and not _has_valid_tracking(o, end)),
    }
    return _result(
        "valid_tracking_rate",
        valid,
        len(shipped),
        target,
        ">=",
        span,
        not_measurable=not_measurable,
        components=components,
    )


def on_time_delivery_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window = Window(30, 14),
    target: float = 0.97,
    as_of: datetime | None = None,
) -> MetricResult:
    """Among validly tracked orders that were delivered or are past their promise at the end of
    D, those delivered no later than ``latest_delivery_date``. A parcel never delivered after its
    promise is late; one whose promise is still ahead cannot be judged yet and is left out."""
    span, end, shipped, not_measurable = _shipped_by_promise(day, zone, orders, window, as_of)
    on_time: list[str] = []
    denominator = late = pending = 0
    for o in shipped:
        if not _has_valid_tracking(o, end):
            continue
        promise = o.latest_delivery_date
        if promise is None:  # never: _shipped_by_promise keeps only orders with a promise
            continue
        delivered = _by(o.delivered_at, end)
        if delivered is None and promise >= end:
            pending += 1
            continue
        denominator += 1
        if delivered is not None and delivered <= promise:
            on_time.append(o.order_id)
        else:
            late += 1
    return _result(
        "on_time_delivery_rate",
        on_time,
        denominator,
        target,
        ">",
        span,
        not_measurable=not_measurable,
        components={"late": late, "pending": pending},
    )


def invoice_defect_rate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window = Window(7, 7),
    target: float = 0.05,
    as_of: datetime | None = None,
) -> MetricResult:
    """Business orders without an invoice by the end of the next business day (Mon–Fri, local
    zone, holidays not skipped) after ship confirmation ÷ business orders shipped in the window
    (selected by the local ship-confirmation date). An unknown ship time is not measurable."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    defects: list[str] = []
    denominator = not_measurable = missing = late = 0
    for o in orders:
        shipped = _by(o.shipped_at, end)
        if not o.is_business or shipped is None or not span.holds(shipped, zone):
            continue
        if o.purchased_at >= end:  # not placed yet at D: inconsistent facts, nothing to judge
            continue
        if o.ship_time_known is False:
            not_measurable += 1
            continue
        denominator += 1
        due = end_of_day(next_business_day(local_date(shipped, zone)), zone)
        uploaded = _by(o.invoice_uploaded_at, end)
        if uploaded is None:
            missing += 1
            defects.append(o.order_id)
        elif uploaded >= due:
            late += 1
            defects.append(o.order_id)
    return _result(
        "invoice_defect_rate",
        defects,
        denominator,
        target,
        "<",
        span,
        not_measurable=not_measurable,
        components={"missingInvoice": missing, "lateInvoice": late},
    )


def next_business_day(day: date) -> date:
    """The first Monday–Friday after ``day`` (Friday and Saturday lead to Monday)."""
    following = day + DAY
    while following.weekday() >= 5:
        following += DAY
    return following


def fulfilled_orders(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window_days: int = 180,
    as_of: datetime | None = None,
    offset_days: int = 0,
) -> int:
    """Shipped, not cancelled MFN or AFN orders placed in the ``window_days`` ending D (or
    ``offset_days`` before it): the sales volume behind the AHR's credit of 4 points per 200
    orders."""
    span = window_span(day, zone, Window(window_days, offset_days))
    end = cutoff(day, zone, as_of)
    return sum(
        1
        for o in orders
        if o.channel in ("MFN", "AFN")
        and span.holds(o.purchased_at, zone)
        and _by(o.shipped_at, end) is not None
        and _by(o.cancelled_at, end) is None
    )


# --------------------------------------------------------------------------- other metrics


def contact_response(
    day: date,
    zone: ZoneInfo,
    messages: Iterable[MessageFacts],
    window: Window = Window(30, 0),
    target: float = 0.90,
    as_of: datetime | None = None,
) -> MetricResult:
    """Messages answered within 24 hours (inclusive; weekends count) ÷ messages answered or
    unanswered for more than 24 hours. Whichever came first of the answer and the
    "no response needed" mark decides: a mark within 24 hours excludes the message, a later one
    is a late response. Unanswered messages still inside their 24 hours are not judged yet."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    on_time: list[str] = []
    answered_count = total_microseconds = 0
    denominator = excluded = pending = 0
    for m in messages:
        if m.received_at >= end or not span.holds(m.received_at, zone):
            continue
        answered = _by(m.answered_at, end)
        marked = _by(m.no_response_needed_at, end)
        if marked is not None and (answered is None or marked < answered):
            if marked - m.received_at <= RESPONSE_LIMIT:
                excluded += 1
            else:
                denominator += 1  # marked too late: a late response
            continue
        if answered is not None:
            denominator += 1
            latency = answered - m.received_at
            answered_count += 1
            total_microseconds += latency // MICROSECOND
            if latency <= RESPONSE_LIMIT:
                on_time.append(m.message_id)
        elif end - m.received_at > RESPONSE_LIMIT:
            denominator += 1  # no response
        else:
            pending += 1
    return _result(
        "contact_response",
        on_time,
        denominator,
        target,
        ">=",
        span,
        components={"noResponseNeeded": excluded, "pending": pending},
        answered=answered_count,
        response_microseconds=total_microseconds,
    )


def return_dissatisfaction_rate(
    day: date,
    zone: ZoneInfo,
    returns: Iterable[ReturnFacts],
    window: Window = Window(60, 0),
    target: float = 0.10,
    as_of: datetime | None = None,
) -> MetricResult:
    """Negative return requests ÷ return requests, by local request date. Negative: the buyer
    said it was not resolved, it was not resolved within 48 hours (inclusive), or it was rejected
    invalidly. An open request younger than 48 hours is not judged yet."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    negative: list[str] = []
    denominator = pending = 0
    counts = {"negativeFeedback": 0, "lateResponse": 0, "invalidRejection": 0}
    for r in returns:
        if r.requested_at >= end or not span.holds(r.requested_at, zone):
            continue
        resolved = _by(r.resolved_at, end)
        if resolved is None and end - r.requested_at <= RETURN_LIMIT:
            pending += 1
            continue
        denominator += 1
        reasons = {
            "negativeFeedback": resolved is not None and r.buyer_satisfied is False,
            "lateResponse": (resolved or end) - r.requested_at > RETURN_LIMIT,
            "invalidRejection": resolved is not None and r.outcome == "rejected_invalid",
        }
        for key, hit in reasons.items():
            counts[key] += hit
        if any(reasons.values()):
            negative.append(r.return_id)
    return _result(
        "return_dissatisfaction_rate",
        negative,
        denominator,
        target,
        "<",
        span,
        components={**counts, "pending": pending},
    )


def customer_service_dissatisfaction_rate(
    day: date,
    zone: ZoneInfo,
    surveys: Iterable[SurveyFacts],
    window: Window = Window(60, 0),
    target: float = 0.25,
    as_of: datetime | None = None,
) -> MetricResult:
    """ "No" answers ÷ all answers, by local answer date, keeping only each order's latest answer
    given by the end of D (a buyer who changes their mind replaces their earlier vote)."""
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    latest: dict[str, SurveyFacts] = {}
    for s in surveys:
        if s.answered_at >= end:
            continue
        kept = latest.get(s.order_id)
        # ties at the same instant: the "no" wins, so the result does not depend on input order
        if kept is None or (s.answered_at, not s.satisfied) > (
            kept.answered_at,
            not kept.satisfied,
        ):
            latest[s.order_id] = s
    counted = [s for s in latest.values() if span.holds(s.answered_at, zone)]
    unhappy = [s.order_id for s in counted if not s.satisfied]
    return _result(
        "customer_service_dissatisfaction_rate", unhappy, len(counted), target, "<", span
    )


# --------------------------------------------------------------------------- everything


def evaluate(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    messages: Iterable[MessageFacts] = (),
    returns: Iterable[ReturnFacts] = (),
    surveys: Iterable[SurveyFacts] = (),
    config: MetricsConfig | None = None,
    *,
    as_of: datetime | None = None,
) -> dict[str, MetricResult]:
    """Every metric of one store on day ``day``, keyed by metric name."""
    c = config or MetricsConfig()
    order_list = list(orders)
    lsr_short, lsr_long = c.late_shipment_short_window, c.late_shipment_long_window
    results = {
        "order_defect_rate_mfn": order_defect_rate(
            day, zone, order_list, "MFN", c.odr_window, c.odr_target, as_of=as_of
        ),
        "order_defect_rate_afn": order_defect_rate(
            day, zone, order_list, "AFN", c.odr_window, c.odr_target, as_of=as_of
        ),
        "late_shipment_rate_10": late_shipment_rate(
            day, zone, order_list, lsr_short, c.late_shipment_target, as_of=as_of
        ),
        "late_shipment_rate_30": late_shipment_rate(
            day, zone, order_list, lsr_long, c.late_shipment_target, as_of=as_of
        ),
        "pre_fulfillment_cancel_rate": pre_fulfillment_cancel_rate(
            day, zone, order_list, c.cancel_window, c.cancel_target, as_of=as_of
        ),
        "valid_tracking_rate": valid_tracking_rate(
            day, zone, order_list, c.valid_tracking_window, c.valid_tracking_target, as_of=as_of
        ),
        "on_time_delivery_rate": on_time_delivery_rate(
            day, zone, order_list, c.on_time_delivery_window, c.on_time_delivery_target, as_of=as_of
        ),
        "contact_response": contact_response(
            day, zone, messages, c.contact_response_window, c.contact_response_target, as_of=as_of
        ),
        "return_dissatisfaction_rate": return_dissatisfaction_rate(
            day, zone, returns, c.return_window, c.return_target, as_of=as_of
        ),
        "customer_service_dissatisfaction_rate": customer_service_dissatisfaction_rate(
            day, zone, surveys, c.cs_window, c.cs_target, as_of=as_of
        ),
        "invoice_defect_rate": invoice_defect_rate(
            day, zone, order_list, c.invoice_window, c.invoice_target, as_of=as_of
        ),
    }
    # the keys are fixed even when the configured late-shipment durations differ from 10 and 30
    return {key: replace(result, name=key) for key, result in results.items()}
