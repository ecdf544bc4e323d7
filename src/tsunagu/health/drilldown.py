"""Why each record counts against a metric: the drill-down behind a metric's figure. Pure.

:mod:`metrics` says *which* ids are behind a numerator; this module says, for every record that
hurts the metric, *what* went wrong and *when* (a negative feedback on 12 May, a ship
confirmation two days after the ship-by date, a cancellation by the seller for lack of stock…).

For the metrics where a low figure is bad (ODR, late shipment, cancellations, returns, customer
service, invoices) the rows are exactly the numerator's ids. For the three where a high figure is
good (valid tracking, on-time delivery, contact response) the numerator counts the good records,
so the rows are the others in the denominator: the records that pulled the rate down. Either
way, the rows follow the metric's own selection (same window, same cut-off, the same helpers),
and a test holds the two to each other on the demo data.

Reason kinds are stable codes; the dashboard shows them in words (``web/labels.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tsunagu.health.metrics import (
    CHARGEBACK_OUTCOMES_NOT_COUNTED,
    CLAIM_OUTCOMES_NOT_COUNTED,
    RESPONSE_LIMIT,
    RETURN_LIMIT,
    SELLER_CANCELLERS,
    CaseFacts,
    MessageFacts,
    MetricsConfig,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    Window,
    _by,
    _has_valid_tracking,
    _shipped_by_promise,
    cutoff,
    end_of_day,
    local_date,
    next_business_day,
    window_span,
)

#: every reason a record can count against a metric (the dashboard's labels cover each one)
REASONS = (
    "negative_feedback",
    "a_to_z_claim",
    "chargeback",
    "shipped_late",
    "unshipped_past_due",
    "cancelled_by_seller",
    "cancelled_by_system",
    "no_tracking",
    "tracking_not_scanned",
    "delivered_late",
    "not_delivered",
    "late_response",
    "no_response",
    "return_buyer_unhappy",
    "return_late_response",
    "return_invalid_rejection",
    "service_not_solved",
    "invoice_missing",
    "invoice_late",
)


@dataclass(frozen=True)
class Reason:
    """One thing that went wrong: its code (:data:`REASONS`), when it happened (``None`` when
    the facts do not say) and an optional detail code (a cancellation or claim reason)."""

    kind: str
    at: datetime | None
    detail: str | None = None


@dataclass(frozen=True)
class DefectRow:
    """A record that counts against a metric: its id (an order, message or return id), the
    order it belongs to (``None`` when not known) and why it counts, earliest first."""

    id: str
    order_id: str | None
    reasons: tuple[Reason, ...]

    @property
    def first_at(self) -> datetime | None:
        dated = [r.at for r in self.reasons if r.at is not None]
        return min(dated) if dated else None


@dataclass(frozen=True)
class Details:
    """Reason codes the metric facts do not carry: each order's cancellation reason and each
    claim's or chargeback's reason, by case id."""

    cancel_reasons: Mapping[str, str]
    case_reasons: Mapping[str, str]


NO_DETAILS = Details({}, {})


def _row(record_id: str, order_id: str | None, reasons: Iterable[Reason]) -> DefectRow:
    ordered = sorted(reasons, key=lambda r: (r.at is None, r.at or datetime.min, r.kind))
    return DefectRow(record_id, order_id, tuple(ordered))


def _cases(cases: tuple[CaseFacts, ...], excused: frozenset[str], end: datetime) -> list[CaseFacts]:
    """The cases that count at ``end`` (same rule as the ODR's)."""
    counted = []
    for case in cases:
        if case.filed_at is not None and case.filed_at >= end:
            continue
        decided = case.decided_at is None or case.decided_at < end
        outcome = case.outcome if decided else None
        if outcome is None or outcome not in excused:
            counted.append(case)
    return counted


def _odr(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    channel: str,
    window: Window,
    as_of: datetime | None,
    details: Details,
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for o in orders:
        if o.channel != channel or not span.holds(o.purchased_at, zone):
            continue
        reasons = []
        posted = o.feedback_at is None or o.feedback_at < end
        removed = o.feedback_removed and (
            o.feedback_removed_at is None or o.feedback_removed_at < end
        )
        if o.feedback_rating in (1, 2) and posted and not removed:
            reasons.append(Reason("negative_feedback", o.feedback_at))
        for case in _cases(o.claims, CLAIM_OUTCOMES_NOT_COUNTED, end):
            reasons.append(
                Reason("a_to_z_claim", case.filed_at, details.case_reasons.get(case.case_id))
            )
        for case in _cases(o.chargebacks, CHARGEBACK_OUTCOMES_NOT_COUNTED, end):
            reasons.append(
                Reason("chargeback", case.filed_at, details.case_reasons.get(case.case_id))
            )
        if reasons:
            rows.append(_row(o.order_id, o.order_id, reasons))
    return rows


def _late_shipment(
    day: date, zone: ZoneInfo, orders: Iterable[OrderFacts], window: Window, as_of: datetime | None
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for o in orders:
        if o.channel != "MFN" or not span.holds(o.purchased_at, zone):
            continue
        if _by(o.cancelled_at, end) is not None or o.latest_ship_date is None:
            continue
        if o.shipped_at is not None and o.ship_time_known is False:
            continue
        shipped = _by(o.shipped_at, end)
        if shipped is not None and shipped > o.latest_ship_date:
            rows.append(_row(o.order_id, o.order_id, [Reason("shipped_late", shipped)]))
        elif shipped is None and o.latest_ship_date < end:
            reason = Reason("unshipped_past_due", o.latest_ship_date)
            rows.append(_row(o.order_id, o.order_id, [reason]))
    return rows


def _cancellations(
    day: date,
    zone: ZoneInfo,
    orders: Iterable[OrderFacts],
    window: Window,
    as_of: datetime | None,
    details: Details,
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for o in orders:
        if o.channel != "MFN" or not span.holds(o.purchased_at, zone):
            continue
        cancelled = _by(o.cancelled_at, end)
        if cancelled is not None and o.cancelled_by in SELLER_CANCELLERS:
            kind = "cancelled_by_system" if o.cancelled_by == "system" else "cancelled_by_seller"
            reason = Reason(kind, cancelled, details.cancel_reasons.get(o.order_id))
            rows.append(_row(o.order_id, o.order_id, [reason]))
    return rows


def _valid_tracking(
    day: date, zone: ZoneInfo, orders: Iterable[OrderFacts], window: Window, as_of: datetime | None
) -> list[DefectRow]:
    _span, end, shipped, _missing = _shipped_by_promise(day, zone, orders, window, as_of)
    rows = []
    for o in shipped:
        if _has_valid_tracking(o, end):
            continue
        kind = "no_tracking" if not o.tracking_id else "tracking_not_scanned"
        rows.append(_row(o.order_id, o.order_id, [Reason(kind, o.shipped_at)]))
    return rows


def _on_time_delivery(
    day: date, zone: ZoneInfo, orders: Iterable[OrderFacts], window: Window, as_of: datetime | None
) -> list[DefectRow]:
    _span, end, shipped, _missing = _shipped_by_promise(day, zone, orders, window, as_of)
    rows = []
    for o in shipped:
        promise = o.latest_delivery_date
        if not _has_valid_tracking(o, end) or promise is None:
            continue
        delivered = _by(o.delivered_at, end)
        if delivered is None and promise < end:
            rows.append(_row(o.order_id, o.order_id, [Reason("not_delivered", promise)]))
        elif delivered is not None and delivered > promise:
            rows.append(_row(o.order_id, o.order_id, [Reason("delivered_late", delivered)]))
    return rows


def _invoices(
    day: date, zone: ZoneInfo, orders: Iterable[OrderFacts], window: Window, as_of: datetime | None
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for o in orders:
        shipped = _by(o.shipped_at, end)
        if not o.is_business or shipped is None or not span.holds(shipped, zone):
            continue
        if o.purchased_at >= end or o.ship_time_known is False:
            continue
        due = end_of_day(next_business_day(local_date(shipped, zone)), zone)
        uploaded = _by(o.invoice_uploaded_at, end)
        if uploaded is None:
            rows.append(_row(o.order_id, o.order_id, [Reason("invoice_missing", shipped)]))
        elif uploaded >= due:
            rows.append(_row(o.order_id, o.order_id, [Reason("invoice_late", uploaded)]))
    return rows


def _messages(
    day: date,
    zone: ZoneInfo,
    messages: Iterable[MessageFacts],
    window: Window,
    as_of: datetime | None,
    order_of: Mapping[str, str | None],
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for m in messages:
        if m.received_at >= end or not span.holds(m.received_at, zone):
            continue
        answered = _by(m.answered_at, end)
        marked = _by(m.no_response_needed_at, end)
        reason: Reason | None = None
        if marked is not None and (answered is None or marked < answered):
            if marked - m.received_at > RESPONSE_LIMIT:
                reason = Reason("late_response", marked)
        elif answered is not None:
            if answered - m.received_at > RESPONSE_LIMIT:
                reason = Reason("late_response", answered)
        elif end - m.received_at > RESPONSE_LIMIT:
            reason = Reason("no_response", m.received_at)
        if reason is not None:
            rows.append(_row(m.message_id, order_of.get(m.message_id), [reason]))
    return rows


def _returns(
    day: date,
    zone: ZoneInfo,
    returns: Iterable[ReturnFacts],
    window: Window,
    as_of: datetime | None,
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    rows = []
    for r in returns:
        if r.requested_at >= end or not span.holds(r.requested_at, zone):
            continue
        resolved = _by(r.resolved_at, end)
        if resolved is None and end - r.requested_at <= RETURN_LIMIT:
            continue
        reasons = []
        if resolved is not None and r.buyer_satisfied is False:
            reasons.append(Reason("return_buyer_unhappy", resolved))
        if (resolved or end) - r.requested_at > RETURN_LIMIT:
            reasons.append(Reason("return_late_response", r.requested_at))
        if resolved is not None and r.outcome == "rejected_invalid":
            reasons.append(Reason("return_invalid_rejection", resolved))
        if reasons:
            rows.append(_row(r.return_id, r.order_id, reasons))
    return rows


def _surveys(
    day: date,
    zone: ZoneInfo,
    surveys: Iterable[SurveyFacts],
    window: Window,
    as_of: datetime | None,
) -> list[DefectRow]:
    span = window_span(day, zone, window)
    end = cutoff(day, zone, as_of)
    latest: dict[str, SurveyFacts] = {}
    for s in surveys:
        if s.answered_at >= end:
            continue
        kept = latest.get(s.order_id)
        if kept is None or (s.answered_at, not s.satisfied) > (
            kept.answered_at,
            not kept.satisfied,
        ):
            latest[s.order_id] = s
    return [
        _row(s.order_id, s.order_id, [Reason("service_not_solved", s.answered_at)])
        for s in latest.values()
        if span.holds(s.answered_at, zone) and not s.satisfied
    ]


def defects(
    name: str,
    day: date,
    zone: ZoneInfo,
    *,
    orders: Iterable[OrderFacts] = (),
    messages: Iterable[MessageFacts] = (),
    returns: Iterable[ReturnFacts] = (),
    surveys: Iterable[SurveyFacts] = (),
    config: MetricsConfig | None = None,
    as_of: datetime | None = None,
    details: Details = NO_DETAILS,
    message_orders: Mapping[str, str | None] | None = None,
) -> list[DefectRow]:
    """The records that count against metric ``name`` on ``day``, with why and when; the most
    recent first (ties by id). An unknown name has none."""
    c = config or MetricsConfig()
    rows: list[DefectRow]
    if name in ("order_defect_rate_mfn", "order_defect_rate_afn"):
        channel = name.rsplit("_", 1)[1].upper()
        rows = _odr(day, zone, orders, channel, c.odr_window, as_of, details)
    elif name == "late_shipment_rate_10":
        rows = _late_shipment(day, zone, orders, c.late_shipment_short_window, as_of)
    elif name == "late_shipment_rate_30":
        rows = _late_shipment(day, zone, orders, c.late_shipment_long_window, as_of)
    elif name == "pre_fulfillment_cancel_rate":
        rows = _cancellations(day, zone, orders, c.cancel_window, as_of, details)
    elif name == "valid_tracking_rate":
        rows = _valid_tracking(day, zone, orders, c.valid_tracking_window, as_of)
    elif name == "on_time_delivery_rate":
        rows = _on_time_delivery(day, zone, orders, c.on_time_delivery_window, as_of)
    elif name == "invoice_defect_rate":
        rows = _invoices(day, zone, orders, c.invoice_window, as_of)
    elif name == "contact_response":
        rows = _messages(
            day, zone, messages, c.contact_response_window, as_of, message_orders or {}
        )
    elif name == "return_dissatisfaction_rate":
        rows = _returns(day, zone, returns, c.return_window, as_of)
    elif name == "customer_service_dissatisfaction_rate":
        rows = _surveys(day, zone, surveys, c.cs_window, as_of)
    else:
        rows = []
    rows.sort(key=lambda r: r.id)
    rows.sort(key=lambda r: r.first_at or datetime.min.replace(tzinfo=UTC), reverse=True)
    return rows
