"""What the enforcement rules read about one store: its AHR, its metrics with the causes of every
order behind them (from the projections) and its open violations. Part of the service layer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.enforcement import repo
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    ORDER_DEFECT_RATE,
    VALID_TRACKING_RATE,
    Counted,
    Facts,
    MetricInput,
    OpenViolation,
)
from tsunagu.health.metrics import (
    CHARGEBACK_OUTCOMES_NOT_COUNTED,
    CLAIM_OUTCOMES_NOT_COUNTED,
    MetricResult,
)
from tsunagu.health.rules import StoreHealth
from tsunagu.orders.models import Order, OrderCase

#: which metric of the health engine raises which issue
METRIC_CODES: Mapping[str, str] = {
    "order_defect_rate_mfn": ORDER_DEFECT_RATE,
    "order_defect_rate_afn": ORDER_DEFECT_RATE,
    "late_shipment_rate_30": LATE_SHIPMENT_RATE,
    "pre_fulfillment_cancel_rate": CANCELLATION_RATE,
    "valid_tracking_rate": VALID_TRACKING_RATE,
}
#: a cause the projection does not name
UNSPECIFIED = "unspecified"


def _defect_causes(order: Order, cases: list[OrderCase]) -> tuple[str, ...]:
    """Why an order is a defect: ``negative_feedback``, each counted claim's reason
    (``not_received``, ``not_as_described`` …), ``chargeback``."""
    causes: list[str] = []
    if order.feedback_rating in (1, 2) and not order.feedback_removed:
        causes.append("negative_feedback")
    for case in cases:
        if case.kind == "claim" and case.outcome not in CLAIM_OUTCOMES_NOT_COUNTED:
            causes.append(case.reason or "other")
        elif case.kind == "chargeback" and case.outcome not in CHARGEBACK_OUTCOMES_NOT_COUNTED:
            causes.append("chargeback")
    return tuple(causes) or (UNSPECIFIED,)


def _counted(
    name: str, m: MetricResult, orders: Mapping[str, Order], cases: Mapping[str, list[OrderCase]]
) -> tuple[Counted, ...]:
    found = []
    for order_id in m.ids:
        order = orders.get(order_id)
        if order is None:
            found.append(Counted(order_id, None, (UNSPECIFIED,)))
            continue
        if name.startswith("order_defect_rate"):
            causes = _defect_causes(order, cases.get(order_id, []))
        elif name == "pre_fulfillment_cancel_rate":
            causes = (order.cancel_reason or UNSPECIFIED,)
        else:  # late shipment: by ship service
            causes = (order.ship_service or UNSPECIFIED,)
        found.append(Counted(order_id, order.purchased_at, causes))
    return tuple(found)


def store_facts(session: Session, h: StoreHealth) -> Facts:
    """The rules' input for one store's health ``h``."""
    defect_ids = [
        order_id
        for name, m in h.metrics.items()
        if name in METRIC_CODES and name != "valid_tracking_rate"
        for order_id in m.ids
    ]
    orders = {o.order_id: o for o in repo.orders(session, h.seller_id, h.marketplace, defect_ids)}
    cases: dict[str, list[OrderCase]] = defaultdict(list)
    for case in repo.cases(session, h.seller_id, h.marketplace, defect_ids):
        cases[case.order_id].append(case)
    inputs = []
    for name, code in METRIC_CODES.items():
        m = h.metrics.get(name)
        if m is None:
            continue
        if name == "valid_tracking_rate":
            # its ids are the well-tracked orders: the causes are its components instead
            causes = {k: v for k, v in sorted(m.components.items()) if v}
            inputs.append(
                MetricInput(
                    code, m.numerator, m.denominator, m.target, m.comparison, (), causes, m.window
                )
            )
            continue
        counted = _counted(name, m, orders, cases)
        inputs.append(
            MetricInput(
                code, m.numerator, m.denominator, m.target, m.comparison, counted, {}, m.window
            )
        )
    costs: dict[str, int] = defaultdict(int)
    for term in h.rating.terms:
        if term.violation_id is not None:
            costs[term.violation_id] += -term.points
    violations = tuple(
        OpenViolation(v.violation_id, v.policy, costs.get(v.violation_id, 0))
        for v in h.open_violations
    )
    return Facts(score=h.rating.score, metrics=tuple(inputs), violations=violations)


def metrics_snapshot(h: StoreHealth) -> dict[str, Any]:
    """The figures a decision was made on (SH-03): the AHR and each metric's counts."""
    snapshot: dict[str, Any] = {"ahr": h.rating.score, "day": h.day.isoformat()}
    for name, m in sorted(h.metrics.items()):
        snapshot[name] = {
            "numerator": m.numerator,
            "denominator": m.denominator,
            "rate": m.rate,
            "target": m.target,
            "status": m.status,
        }
    return snapshot
