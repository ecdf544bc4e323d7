"""How a violation's events become its state. Pure and order-independent, like the order fold:
the events are read by ``(at, event_id)`` whatever order they arrived in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tsunagu.orders.rules import StoredEvent, in_order


@dataclass(slots=True)
class ViolationState:
    violation_id: str
    policy: str | None = None
    severity: str | None = None
    asin: str | None = None
    opened_at: datetime | None = None
    resolved_at: datetime | None = None
    how: str | None = None


def fold_violation(violation_id: str, events: Iterable[StoredEvent]) -> ViolationState:
    """A violation re-opened after being resolved counts as open again."""
    state = ViolationState(violation_id=violation_id)
    for ev in in_order(events):
        b = ev.body
        if ev.type == "violation_opened":
            state.policy = b["policy"]
            state.severity = b["severity"]
            state.asin = b.get("asin", state.asin)
            state.opened_at = state.opened_at or ev.at
            if state.resolved_at is not None and ev.at > state.resolved_at:
                state.resolved_at = None
                state.how = None
        elif ev.type == "violation_resolved":
            state.resolved_at = ev.at
            state.how = b.get("how")
    return state
