"""Recording health alerts: raised once when a condition starts, cleared when it ends. Never commits.

The conditions come from :mod:`tsunagu.health.alerts`; this module evaluates the store for the day
(the day before too, and the forecast) and keeps at most one active alert per store, kind and
subject, so a condition that persists for weeks is one alert, not one a day (ADR 0010).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.core.ids import new_id
from tsunagu.enforcement import service as enforcement
from tsunagu.health import incremental, repo
from tsunagu.health.alerts import KINDS, AlertInput, Condition, ForecastDay, conditions, still_holds
from tsunagu.health.config import health_of
from tsunagu.health.metrics import local_date
from tsunagu.health.models import HealthAlert
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.models import Store
from tsunagu.sellers.service import get_seller, require_store

log = logging.getLogger("tsunagu.health")


@dataclass(frozen=True)
class AlertCheck:
    """What one check of one store on one day changed."""

    seller_id: str
    marketplace: str
    day: date
    raised: list[HealthAlert] = field(default_factory=list)
    cleared: list[HealthAlert] = field(default_factory=list)
    #: alerts active after the check (raised now or earlier, not cleared)
    active: list[HealthAlert] = field(default_factory=list)


def alert_input(
    session: Session, *, seller_id: str, marketplace: Marketplace, day: date, now: datetime
) -> AlertInput:
    """The store's metrics and rating on ``day``, its band the day before and the forecast."""
    before, today = incremental.store_history(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        start=day - timedelta(days=1),
        end=day,
        now=now,
    )
    ahead = health_of(marketplace).alerts.alert_forecast_days
    forecast: list[ForecastDay] = []
    if ahead > 0:
        found = incremental.store_forecast(
            session, seller_id=seller_id, marketplace=marketplace, day=day, now=now, days=ahead
        )
        forecast = [ForecastDay(d, r.score, r.band) for d, r in found.days]
    status = enforcement.store_status(session, seller_id=seller_id, marketplace=marketplace.code)
    return AlertInput(
        day=day,
        rates={name: m.rate for name, m in today.metrics.items()},
        score=today.rating.score,
        band=today.rating.band,
        previous_band=before.rating.band,
        previous_score=before.rating.score,
        forecast=forecast,
        targets={name: (m.target, m.comparison) for name, m in today.metrics.items()},
        missed=frozenset(
            name for name, m in today.metrics.items() if m.status == "BAD" and m.rate is not None
        ),
        account_status=status.status,
    )


def _details(condition: Condition, inp: AlertInput) -> dict[str, object]:
    details: dict[str, object] = dict(condition.details)
    details.setdefault("score", inp.score)
    details.setdefault("band", inp.band)
    return details


def check_alerts(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
) -> AlertCheck:
    """Evaluate the store on ``day`` (default: today in its zone) and record the change: a new
    condition raises an alert, an active alert whose condition has ended is cleared on ``day``,
    one that still holds is left as it is. Running it again for the same day changes nothing.

    Alerts raised on a later day than ``day`` are left alone, so checking a past day never clears
    what a later check found.
    """
    store = require_store(session, seller_id, marketplace.code)
    # one check at a time per store (PostgreSQL; SQLite transactions already take the write lock)
    repo.lock_store(session, store.id)
    on = day if day is not None else local_date(now, marketplace.tz)
    inp = alert_input(session, seller_id=seller_id, marketplace=marketplace, day=on, now=now)
    current = conditions(inp, health_of(marketplace).alerts)
    iso = on.isoformat()
    result = AlertCheck(seller_id, marketplace.code, on)
    #: (kind, subject) already covered by an alert: never raised twice
    covered: set[tuple[str, str]] = set()
    for alert in repo.alerts_open_after(session, seller_id, marketplace.code, iso):
        key = (alert.kind, alert.subject)
        if alert.cleared_on is not None:
            # cleared by a check of a later day: it covers this day if raised by then
            if alert.raised_on <= iso:
                covered.add(key)
        elif alert.raised_on > iso or still_holds(
            alert.kind, alert.subject, inp, current, alert.level
        ):
            covered.add(key)
            result.active.append(alert)
        else:
            alert.cleared_on = iso
            result.cleared.append(alert)
    for key, condition in sorted(current.items(), key=lambda kv: _order(kv[0])):
        if key in covered:
            continue
        alert = HealthAlert(
            id=new_id("alr"),
            seller_id=seller_id,
            marketplace=marketplace.code,
            kind=condition.kind,
            subject=condition.subject,
            raised_on=iso,
            raised_at=now,
            cleared_on=None,
            details=_details(condition, inp),
            level=condition.level,
        )
        session.add(alert)
        covered.add(key)
        result.raised.append(alert)
        result.active.append(alert)
    session.flush()
    return result


_KIND_ORDER: dict[str, int] = {kind: n for n, kind in enumerate(KINDS)}


def _order(key: tuple[str, str]) -> tuple[int, str]:
    kind, subject = key
    return (_KIND_ORDER.get(kind, len(_KIND_ORDER)), subject)


def check_seller(
    session: Session, *, seller_id: str, registry: Registry, day: date | None, now: datetime
) -> list[AlertCheck]:
    """:func:`check_alerts` for every store of the seller, by marketplace code."""
    seller = get_seller(session, seller_id)
    return [
        check_alerts(
            session, seller_id=seller_id, marketplace=registry.require(code), day=day, now=now
        )
        for code in sorted(store.marketplace for store in seller.stores)
    ]


def check_stores(
    session: Session,
    *,
    seller_id: str,
    registry: Registry,
    marketplace: Marketplace | None,
    day: date | None,
    now: datetime,
) -> list[AlertCheck]:
    """:func:`check_alerts` for the store in ``marketplace``, or for every store of the seller
    when it is ``None``."""
    if marketplace is not None:
        return [
            check_alerts(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
        ]
    return check_seller(session, seller_id=seller_id, registry=registry, day=day, now=now)


def check_everything(
    factory: sessionmaker[Session],
    registry: Registry,
    now: datetime,
    *,
    stores: Iterable[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Check every store (or only ``stores``, (seller id, marketplace code) pairs) for today in
    its own zone, one transaction per store: what an import (for the stores it refreshed) and
    the demo run (issue 16). Stores of a marketplace no longer configured are skipped. Counts:
    stores checked, alerts raised, alerts cleared."""
    if stores is None:
        with factory() as session:
            stores = [
                (seller_id, code)
                for seller_id, code in session.execute(
                    select(Store.seller_id, Store.marketplace).order_by(
                        Store.seller_id, Store.marketplace
                    )
                )
            ]
    counts = {"stores": 0, "raised": 0, "cleared": 0}
    for seller_id, code in stores:
        marketplace = registry.get(code)
        if marketplace is None:
            continue
        try:
            with unit_of_work(factory) as session:
                found = check_alerts(
                    session, seller_id=seller_id, marketplace=marketplace, day=None, now=now
                )
        except TsunaguError as exc:  # one store's problem never undoes what called the check
            log.warning("alert check of %s %s failed: %s", seller_id, code, exc.code)
            continue
        counts["stores"] += 1
        counts["raised"] += len(found.raised)
        counts["cleared"] += len(found.cleared)
    return counts


def list_alerts(
    session: Session,
    *,
    seller_id: str,
    marketplace: str | None = None,
    active_only: bool = False,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[HealthAlert]:
    """The seller's alerts, newest first; an unknown seller is ``seller_not_found``.

    ``after`` is the (raised_on, id) of the last alert of the previous page; ``limit`` caps
    the rows (a caller that pages asks for one more to know whether another page exists)."""
    get_seller(session, seller_id)
    return repo.alerts(
        session,
        seller_id,
        marketplace=marketplace,
        active_only=active_only,
        after=after,
        limit=limit,
    )
