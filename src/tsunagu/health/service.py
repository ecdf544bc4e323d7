"""Account health of a seller's stores, computed from the projection. Never commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from tsunagu.health import repo
from tsunagu.health.metrics import (
    MetricResult,
    MetricsConfig,
    cutoff,
    evaluate,
    fulfilled_orders,
    local_date,
)
from tsunagu.health.rules import PENALISED_METRICS, AhrConfig, Rating, rate
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller, require_store

#: Which computed metric decides each penalised metric of the ``metrics`` profile.
_PENALTY_SOURCES: Mapping[str, tuple[str, ...]] = {
    "order_defect_rate": ("order_defect_rate_mfn", "order_defect_rate_afn"),
    "late_shipment_rate": ("late_shipment_rate_30",),
    "pre_fulfillment_cancel_rate": ("pre_fulfillment_cancel_rate",),
    "valid_tracking_rate": ("valid_tracking_rate",),
    "contact_response": ("contact_response",),
    "return_dissatisfaction_rate": ("return_dissatisfaction_rate",),
}


@dataclass(frozen=True)
class StoreHealth:
    seller_id: str
    marketplace: str
    day: date
    evaluated_at: datetime
    fulfilled_orders: int
    metrics: Mapping[str, MetricResult]
    rating: Rating


def missed_metrics(metrics: Mapping[str, MetricResult]) -> list[str]:
    """Penalised metric names whose status is BAD (ODR once if either channel misses)."""
    return [
        name
        for name in PENALISED_METRICS
        if any(metrics[key].status == "BAD" for key in _PENALTY_SOURCES[name] if key in metrics)
    ]


def store_health(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    metrics_config: MetricsConfig | None = None,
    ahr_config: AhrConfig | None = None,
) -> StoreHealth:
    """The metrics and the AHR of one store on ``day`` (default: today in the store's zone),
    evaluated at the earlier of ``now`` and the end of that day."""
    require_store(session, seller_id, marketplace.code)
    zone = marketplace.tz
    on = day if day is not None else local_date(now, zone)
    mc = metrics_config or MetricsConfig()
    facts = repo.load_store_facts(session, seller_id, marketplace.code, on, zone)
    metrics = evaluate(
        on, zone, facts.orders, facts.messages, facts.returns, facts.surveys, mc, as_of=now
    )
    fulfilled = fulfilled_orders(
        on, zone, facts.orders, window_days=mc.fulfilled_window_days, as_of=now
    )
    rating = rate(
        on=on,
        fulfilled_orders=fulfilled,
        violations=facts.violations,
        missed_metrics=missed_metrics(metrics),
        config=ahr_config,
    )
    return StoreHealth(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=on,
        evaluated_at=cutoff(on, zone, now),
        fulfilled_orders=fulfilled,
        metrics=metrics,
        rating=rating,
    )


def seller_health(
    session: Session,
    *,
    seller_id: str,
    registry: Registry,
    day: date | None,
    now: datetime,
) -> list[StoreHealth]:
    """Every store of the seller, by marketplace code."""
    seller = get_seller(session, seller_id)
    codes = sorted(store.marketplace for store in seller.stores)
    return [
        store_health(
            session, seller_id=seller_id, marketplace=registry.require(code), day=day, now=now
        )
        for code in codes
    ]
