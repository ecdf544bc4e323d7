"""Account health of a seller's stores, computed from the projection. Never commits."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.health import coverage, drilldown, repo
from tsunagu.health.config import health_of
from tsunagu.health.forecast import forecast, what_if, what_if_forecast
from tsunagu.health.metrics import (
    MetricResult,
    MetricsConfig,
    cutoff,
    evaluate,
    fulfilled_orders,
    local_date,
)
from tsunagu.health.report import v2_report
from tsunagu.health.rules import (
    PENALISED_METRICS,
    AhrConfig,
    Rating,
    StoreHealth,
    Violation,
    fulfilled_dates,
    rate,
)
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
    on = day if day is not None else local_date(now, marketplace.tz)
    facts = repo.load_store_facts(session, seller_id, marketplace.code, on, marketplace.tz)
    return _evaluate_day(seller_id, marketplace, facts, on, now, metrics_config, ahr_config)


def _evaluate_day(
    seller_id: str,
    marketplace: Marketplace,
    facts: repo.StoreFacts,
    on: date,
    now: datetime,
    metrics_config: MetricsConfig | None,
    ahr_config: AhrConfig | None,
) -> StoreHealth:
    """One day from already loaded facts, at the earlier of ``now`` and the end of ``on``."""
    zone = marketplace.tz
    mc = metrics_config or health_of(marketplace).metrics
    config = ahr_config or health_of(marketplace).ahr
    metrics = evaluate(
        on, zone, facts.orders, facts.messages, facts.returns, facts.surveys, mc, as_of=now
    )
    fulfilled = fulfilled_orders(
        on, zone, facts.orders, window_days=mc.fulfilled_window_days, as_of=now
    )
    return assemble(seller_id, marketplace, on, now, metrics, fulfilled, facts.violations, config)


def assemble(
    seller_id: str,
    marketplace: Marketplace,
    on: date,
    now: datetime,
    metrics: Mapping[str, MetricResult],
    fulfilled: int,
    violations: tuple[Violation, ...],
    config: AhrConfig,
) -> StoreHealth:
    """The store's health from its metrics, sales volume and violations (both paths)."""
    rating = rate(
        on=on,
        fulfilled_orders=fulfilled,
        violations=violations,
        missed_metrics=missed_metrics(metrics),
        config=config,
    )
    return StoreHealth(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=on,
        evaluated_at=cutoff(on, marketplace.tz, now),
        fulfilled_orders=fulfilled,
        metrics=metrics,
        rating=rating,
        open_violations=tuple(v for v in violations if v.open_on(on, config.window_days)),
    )


#: The longest history one request may ask for, in days.
HISTORY_MAX_DAYS = 366


def check_history_range(start: date, end: date) -> int:
    """The number of days from ``start`` to ``end``; ``invalid_range`` outside 1 to
    :data:`HISTORY_MAX_DAYS`."""
    days = (end - start).days + 1
    if days < 1 or days > HISTORY_MAX_DAYS:
        raise InvalidInput(
            N_("A history covers 1 to {limit} days; {first} to {last} is {count} days"),
            code="invalid_range",
            limit=HISTORY_MAX_DAYS,
            first=start.isoformat(),
            last=end.isoformat(),
            count=days,
            details={"field": "from", "from": start.isoformat(), "to": end.isoformat()},
        )
    return days


def store_history(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    start: date,
    end: date,
    now: datetime,
    metrics_config: MetricsConfig | None = None,
    ahr_config: AhrConfig | None = None,
) -> list[StoreHealth]:
    """The store's health on every day from ``start`` to ``end`` inclusive (at most
    :data:`HISTORY_MAX_DAYS`), each evaluated at the earlier of ``now`` and the end of that day.
    The facts are read once, for the whole range."""
    days = check_history_range(start, end)
    require_store(session, seller_id, marketplace.code)
    facts = repo.load_store_facts(
        session, seller_id, marketplace.code, end, marketplace.tz, since=start
    )
    return [
        _evaluate_day(
            seller_id,
            marketplace,
            facts,
            start + timedelta(days=n),
            now,
            metrics_config,
            ahr_config,
        )
        for n in range(days)
    ]


def store_report(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    account_status: str | None = None,
) -> dict[str, Any]:
    """The store's health shaped like Amazon's V2 seller performance report; ``account_status``
    (Amazon's words: NORMAL, AT_RISK, DEACTIVATED) is the store's, from the enforcement slice."""
    h = store_health(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    return v2_report(h, marketplace, account_status)


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


@dataclass(frozen=True)
class StoreForecast:
    seller_id: str
    marketplace: str
    day: date
    evaluated_at: datetime
    fulfilled_orders: int
    current: Rating
    days: tuple[tuple[date, Rating], ...]


@dataclass(frozen=True)
class StoreWhatIf:
    seller_id: str
    marketplace: str
    day: date
    evaluated_at: datetime
    fulfilled_orders: int
    resolve: tuple[str, ...]
    add_orders: int
    now: Rating
    after: Rating
    #: the rating after the changes on ``day`` and each following day, nothing new happening
    #: (only when asked for: ``forecast_days``)
    days: tuple[tuple[date, Rating], ...] = ()


@dataclass(frozen=True)
class Basis:
    """What the forecast and the what-if start from: the fulfilled orders' purchase days in the
    window, the violations and the missed metrics on ``day``."""

    day: date
    evaluated_at: datetime
    dates: list[date]
    violations: tuple[Violation, ...]
    missed: list[str]
    config: AhrConfig


def basis(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    metrics_config: MetricsConfig | None,
    ahr_config: AhrConfig | None,
) -> Basis:
    """The basis on ``day`` (default today) by the full path."""
    require_store(session, seller_id, marketplace.code)
    zone = marketplace.tz
    on = day if day is not None else local_date(now, zone)
    mc = metrics_config or health_of(marketplace).metrics
    config = ahr_config or health_of(marketplace).ahr
    facts = repo.load_store_facts(session, seller_id, marketplace.code, on, zone)
    missed: list[str] = []
    if config.profile == "metrics":
        metrics = evaluate(
            on, zone, facts.orders, facts.messages, facts.returns, facts.surveys, mc, as_of=now
        )
        missed = missed_metrics(metrics)
    dates = fulfilled_dates(on, zone, facts.orders, window_days=mc.fulfilled_window_days, as_of=now)
    return Basis(on, cutoff(on, zone, now), dates, facts.violations, missed, config)


def store_forecast(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    days: int,
    metrics_config: MetricsConfig | None = None,
    ahr_config: AhrConfig | None = None,
) -> StoreForecast:
    """The rating on ``day`` and on each of the ``days`` following days if nothing new happens
    (orders leave the 180-day window, violations age out). Writes nothing."""
    b = basis(session, seller_id, marketplace, day, now, metrics_config, ahr_config)
    return forecast_of(seller_id, marketplace, b, days)


def forecast_of(seller_id: str, marketplace: Marketplace, b: Basis, days: int) -> StoreForecast:
    """The forecast from its basis (by the full path or from the rollups)."""
    current = rate(
        on=b.day,
        fulfilled_orders=len(b.dates),
        violations=b.violations,
        missed_metrics=b.missed,
        config=b.config,
    )
    series = forecast(
        start=b.day,
        days=days,
        fulfilled_dates=b.dates,
        violations=b.violations,
        config=b.config,
        missed_metrics=b.missed,
    )
    return StoreForecast(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=b.day,
        evaluated_at=b.evaluated_at,
        fulfilled_orders=len(b.dates),
        current=current,
        days=tuple(series),
    )


def store_what_if(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    resolve: Collection[str] = (),
    add_orders: int = 0,
    forecast_days: int = 0,
    metrics_config: MetricsConfig | None = None,
    ahr_config: AhrConfig | None = None,
) -> StoreWhatIf:
    """The rating on ``day`` now and with the named violations resolved and ``add_orders`` more
    fulfilled orders that day; with ``forecast_days``, also the rating after the changes on
    ``day`` and each of the ``forecast_days`` following days. Writes nothing; an unknown
    violation id is ``unknown_violation``."""
    b = basis(session, seller_id, marketplace, day, now, metrics_config, ahr_config)
    return what_if_of(seller_id, marketplace, b, resolve, add_orders, forecast_days)


def what_if_of(
    seller_id: str,
    marketplace: Marketplace,
    b: Basis,
    resolve: Collection[str] = (),
    add_orders: int = 0,
    forecast_days: int = 0,
) -> StoreWhatIf:
    """The what-if from its basis (by the full path or from the rollups)."""
    wanted = tuple(dict.fromkeys(resolve))
    current, after = what_if(
        day=b.day,
        fulfilled_dates=b.dates,
        violations=b.violations,
        config=b.config,
        resolve=wanted,
        add_orders=add_orders,
        missed_metrics=b.missed,
    )
    series = (
        what_if_forecast(
            day=b.day,
            days=forecast_days,
            fulfilled_dates=b.dates,
            violations=b.violations,
            config=b.config,
            resolve=wanted,
            add_orders=add_orders,
            missed_metrics=b.missed,
        )
        if forecast_days > 0
        else []
    )
    return StoreWhatIf(
        seller_id=seller_id,
        marketplace=marketplace.code,
        day=b.day,
        evaluated_at=b.evaluated_at,
        fulfilled_orders=len(b.dates),
        resolve=wanted,
        add_orders=add_orders,
        now=current,
        after=after,
        days=tuple(series),
    )


def ids_behind(
    session: Session, *, seller_id: str, marketplace: str, kind: str, ids: Sequence[str]
) -> list[tuple[str, str | None]]:
    """Each id behind a metric's numerator (an order, message or return id, as ``kind`` says)
    with the order it belongs to, ``None`` when not known."""
    if kind == "order":
        return [(i, i) for i in ids]
    orders = repo.orders_of(session, seller_id, marketplace, kind, ids)
    return [(i, orders.get(i)) for i in ids]


@dataclass(frozen=True)
class MetricDrillDown:
    """A metric of a store today and the records that count against it, each with why and when
    (:mod:`tsunagu.health.drilldown`)."""

    metric: MetricResult
    day: date
    rows: tuple[drilldown.DefectRow, ...]


def metric_drill_down(
    session: Session, *, seller_id: str, marketplace: Marketplace, name: str, now: datetime
) -> MetricDrillDown | None:
    """Metric ``name`` of the store today (as :func:`store_health` computes it) with its
    defects; ``None`` when there is no such metric."""
    require_store(session, seller_id, marketplace.code)
    on = local_date(now, marketplace.tz)
    facts = repo.load_store_facts(session, seller_id, marketplace.code, on, marketplace.tz)
    mc = health_of(marketplace).metrics
    h = _evaluate_day(seller_id, marketplace, facts, on, now, mc, None)
    metric = h.metrics.get(name)
    if metric is None:
        return None
    message_orders: dict[str, str | None] = {}
    if name == "contact_response":
        message_orders = repo.orders_of(
            session, seller_id, marketplace.code, "message", [m.message_id for m in facts.messages]
        )
    details = drilldown.NO_DETAILS
    if name in _DETAILED:
        # the rows of these metrics are the numerator's ids
        details = drilldown.Details(
            *repo.defect_reasons(session, seller_id, marketplace.code, metric.ids)
        )
    rows = drilldown.defects(
        name,
        on,
        marketplace.tz,
        orders=facts.orders,
        messages=facts.messages,
        returns=facts.returns,
        surveys=facts.surveys,
        config=mc,
        as_of=now,
        details=details,
        message_orders=message_orders,
    )
    return MetricDrillDown(metric, on, tuple(rows))


#: the metrics whose defects have a reason code of their own (cancellation, claim reasons)
_DETAILED = frozenset(
    {"order_defect_rate_mfn", "order_defect_rate_afn", "pre_fulfillment_cancel_rate"}
)


# --------------------------------------------------------------------------- coverage (ADR 0033)


def coverage_for(
    session: Session, h: StoreHealth, marketplace: Marketplace
) -> coverage.StoreCoverage:
    """Which sources feed each metric of ``h`` and whether they are present for its window; a
    store whose deciding metric lacks one is "incomplete data" (``data_status``)."""
    config = health_of(marketplace)
    return coverage.store_coverage(
        session,
        h,
        marketplace.tz,
        rating_window_days=config.ahr.window_days,
        config=config.coverage,
    )


def store_coverage(
    session: Session, *, seller_id: str, marketplace: Marketplace, day: date | None, now: datetime
) -> tuple[StoreHealth, coverage.StoreCoverage]:
    """The store's health on ``day`` (default today) with its coverage."""
    h = store_health(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    return h, coverage_for(session, h, marketplace)
