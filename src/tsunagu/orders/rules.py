"""How events become order and message state. Pure and order-independent.

Each fold takes *all* events of one order (or message) and sorts them by
``(at, event_id)`` first, so the result does not depend on the order events arrived in — a
feedback imported before its order gives the same state once both are in. The choices below are
the ones the health metrics rely on:

* ship time = the **first** ship confirmation, the first with a known time if any has one;
  tracking id = the **last** one given (an ``order_shipped`` without ``tracking_id`` says nothing
  about tracking, an empty one says "none");
* feedback, claim and chargeback decisions: the **latest** by ``at`` wins (ties by ``event_id``);
* a cancellation after shipment is not a cancellation (it is a refund): status stays shipped;
* promises: ``order_placed`` sets them; later ``order_promise_set`` events correct them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tsunagu.core.timeutil import parse_instant


@dataclass(frozen=True, slots=True)
class StoredEvent:
    type: str
    at: datetime
    event_id: str
    body: Mapping[str, Any]


@dataclass(slots=True)
class Case:
    kind: str
    case_id: str
    reason: str | None = None
    opened_at: datetime | None = None
    outcome: str | None = None
    decided_at: datetime | None = None
    buyer_satisfied: bool | None = None


@dataclass(slots=True)
class OrderState:
    order_id: str
    placed: bool = False
    channel: str | None = None
    purchased_at: datetime | None = None
    latest_ship_date: datetime | None = None
    latest_delivery_date: datetime | None = None
    currency: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    points: int | None = None
    is_business: bool = False
    ship_service: str | None = None
    shipped_at: datetime | None = None
    ship_time_known: bool | None = None
    carrier: str | None = None
    tracking_id: str | None = None
    first_scan_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    feedback_rating: int | None = None
    feedback_at: datetime | None = None
    feedback_removed: bool = False
    refunded_total: int = 0
    refund_count: int = 0
    invoice_uploaded_at: datetime | None = None
    cs_satisfied: bool | None = None
    cs_answered_at: datetime | None = None
    cases: dict[tuple[str, str], Case] = field(default_factory=dict)
    event_count: int = 0
    last_event_at: datetime | None = None

    @property
    def status(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.shipped_at is not None:
            return "shipped"
        if self.cancelled_at is not None:
            return "cancelled"
        return "unshipped"

    @property
    def items_total(self) -> int:
        return sum(int(item["price"]) for item in self.items)

    @property
    def tax_total(self) -> int:
        return sum(int(item.get("tax") or 0) for item in self.items)


def _key(event: StoredEvent) -> tuple[datetime, str]:
    return (event.at, event.event_id)


def in_order(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """The events by ``(at, event_id)``: every fold reads them in this order."""
    listed = list(events)
    if len(listed) > 1:
        listed.sort(key=_key)
    return listed


def _instant(body: Mapping[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    return parse_instant(value) if isinstance(value, str) else None


def _case(state: OrderState, kind: str, case_id: str) -> Case:
    return state.cases.setdefault((kind, case_id), Case(kind=kind, case_id=case_id))


def _placed(state: OrderState, ev: StoredEvent) -> None:
    b = ev.body
    state.placed = True
    state.channel = b["channel"]
    state.purchased_at = ev.at
    state.currency = b["currency"]
    state.items = [dict(item) for item in b["items"]]
    state.points = b.get("points")
    state.is_business = bool(b.get("is_business", False))
    state.ship_service = b.get("ship_service")
    # a promise set by a correction event before this one (out of order) is kept
    state.latest_ship_date = state.latest_ship_date or _instant(b, "latest_ship_date")
    state.latest_delivery_date = state.latest_delivery_date or _instant(b, "latest_delivery_date")


def _promise_set(state: OrderState, ev: StoredEvent) -> None:
    b = ev.body
    if "latest_ship_date" in b:
        state.latest_ship_date = _instant(b, "latest_ship_date")
    if "latest_delivery_date" in b:
        state.latest_delivery_date = _instant(b, "latest_delivery_date")


def _shipped(state: OrderState, ev: StoredEvent) -> None:
    b = ev.body
    known = bool(b.get("ship_time_known", True))
    # a confirmation with its real time replaces one without (an All Orders import dates its
    # shipment at the purchase, ``ship_time_known: false``; a later file brings the time)
    if state.shipped_at is None or (known and state.ship_time_known is False):
        state.shipped_at = ev.at
        state.ship_time_known = known
    if "tracking_id" in b:
        state.tracking_id = b["tracking_id"]
        state.carrier = b.get("carrier", state.carrier)
    elif state.carrier is None:
        state.carrier = b.get("carrier")


def _scanned(state: OrderState, ev: StoredEvent) -> None:
    state.first_scan_at = state.first_scan_at or ev.at


def _delivered(state: OrderState, ev: StoredEvent) -> None:
    state.delivered_at = state.delivered_at or ev.at


def _cancelled(state: OrderState, ev: StoredEvent) -> None:
    if state.cancelled_at is None:
        state.cancelled_at = ev.at
        state.cancelled_by = ev.body["by"]
        state.cancel_reason = ev.body.get("reason")


def _feedback_posted(state: OrderState, ev: StoredEvent) -> None:
    state.feedback_rating = int(ev.body["rating"])
    state.feedback_at = ev.at
    state.feedback_removed = False


def _feedback_removed(state: OrderState, ev: StoredEvent) -> None:
    state.feedback_removed = state.feedback_rating is not None


# the event types that open and decide a case: the case's kind and the body field naming it
_CASE_OPENED = {
    "claim_filed": ("claim", "claim_id"),
    "chargeback_filed": ("chargeback", "chargeback_id"),
    "return_requested": ("return", "return_id"),
}
_CASE_DECIDED = {
    "claim_decided": ("claim", "claim_id"),
    "chargeback_decided": ("chargeback", "chargeback_id"),
    "return_resolved": ("return", "return_id"),
}


def _case_opened(state: OrderState, ev: StoredEvent) -> None:
    kind, key = _CASE_OPENED[ev.type]
    case = _case(state, kind, ev.body[key])
    case.opened_at = case.opened_at or ev.at
    case.reason = ev.body.get("reason", case.reason)


def _case_decided(state: OrderState, ev: StoredEvent) -> None:
    b = ev.body
    kind, key = _CASE_DECIDED[ev.type]
    case = _case(state, kind, b[key])
    case.outcome = b["outcome"]
    case.decided_at = ev.at
    if "buyer_satisfied" in b:
        case.buyer_satisfied = b["buyer_satisfied"]


def _refunded(state: OrderState, ev: StoredEvent) -> None:
    state.refunded_total += int(ev.body["amount"])
    state.refund_count += 1


def _invoice_uploaded(state: OrderState, ev: StoredEvent) -> None:
    state.invoice_uploaded_at = state.invoice_uploaded_at or ev.at


def _survey_answered(state: OrderState, ev: StoredEvent) -> None:
    state.cs_satisfied = bool(ev.body["satisfied"])
    state.cs_answered_at = ev.at


_APPLY: dict[str, Callable[[OrderState, StoredEvent], None]] = {
    "order_placed": _placed,
    "order_promise_set": _promise_set,
    "order_shipped": _shipped,
    "tracking_scanned": _scanned,
    "order_delivered": _delivered,
    "order_cancelled": _cancelled,
    "feedback_posted": _feedback_posted,
    "feedback_removed": _feedback_removed,
    **dict.fromkeys(_CASE_OPENED, _case_opened),
    **dict.fromkeys(_CASE_DECIDED, _case_decided),
    "refund_issued": _refunded,
    "invoice_uploaded": _invoice_uploaded,
    "cs_survey_answered": _survey_answered,
}


def _apply(state: OrderState, ev: StoredEvent) -> None:
    """What one event changes in its order; other event types change nothing."""
    change = _APPLY.get(ev.type)
    if change is not None:
        change(state, ev)


def fold_order(order_id: str, events: Iterable[StoredEvent]) -> OrderState:
    state = OrderState(order_id=order_id)
    for ev in in_order(events):
        _apply(state, ev)
        state.event_count += 1
        state.last_event_at = ev.at
    shipped_first = (
        state.shipped_at is not None
        and state.cancelled_at is not None
        and (state.cancelled_at >= state.shipped_at)
    )
    if shipped_first:  # after shipment it is a refund, not a cancellation
        state.cancelled_at = state.cancelled_by = state.cancel_reason = None
    return state


@dataclass(slots=True)
class MessageState:
    message_id: str
    order_id: str | None = None
    customer_id: str | None = None
    language: str | None = None
    received_at: datetime | None = None
    answered_at: datetime | None = None
    no_response_needed_at: datetime | None = None


def fold_message(message_id: str, events: Iterable[StoredEvent]) -> MessageState:
    """The first answer counts (the response time is measured to it)."""
    state = MessageState(message_id=message_id)
    for ev in in_order(events):
        b = ev.body
        state.order_id = b.get("order_id", state.order_id)
        if ev.type == "message_received":
            state.received_at = state.received_at or ev.at
            state.customer_id = b.get("customer_id", state.customer_id)
            state.language = b.get("language", state.language)
        elif ev.type == "message_answered":
            state.answered_at = state.answered_at or ev.at
        elif ev.type == "message_no_response_needed":
            state.no_response_needed_at = state.no_response_needed_at or ev.at
    return state
