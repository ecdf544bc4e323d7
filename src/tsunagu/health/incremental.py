"""Today's health from the daily rollups: only dirty or expired days are computed again.

``store_health_now`` gives the same :class:`StoreHealth` as ``service.store_health`` for today
(without the ids behind the numerators; ``health explain`` reads those from the full path). It
writes nothing, so it serves read-only API requests: days marked dirty since the last refresh are
computed in memory. ``refresh_store`` does the same and stores the result (the first call builds
every day); ``refresh_all`` refreshes every store with dirty marks, one transaction each.
Nothing else here commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.health import repo, rollup_repo
from tsunagu.health.config import health_of
from tsunagu.health.metrics import local_date, start_of_day
from tsunagu.health.rollups import ORDER_DAYS, Tallies, combine, day_tallies, first_day_needed
from tsunagu.health.rules import StoreHealth
from tsunagu.health.service import assemble, seller_health, store_health
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.sellers.service import get_seller, require_store


def _recompute(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    days: set[date] | None,
) -> dict[date, tuple[Tallies, datetime | None]]:
    zone = marketplace.tz
    floor = start_of_day(local_date(now, zone) - timedelta(days=ORDER_DAYS), zone)
    facts = rollup_repo.load_days(
        session, seller_id, marketplace.code, zone, floor=floor, days=days
    )
    return day_tallies(
        zone, facts.orders, facts.messages, facts.returns, facts.surveys, now, days=days
    )


def current_tallies(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    *,
    persist: bool,
    result: bool = True,
) -> dict[date, Tallies] | None:
    """The tallies of every day today's windows need, as of ``now``. Without ``persist``,
    ``None`` when the store has never been built (the caller takes the full path). Without
    ``result`` (a refresh nobody reads) the stored tallies are not even decoded."""
    code, zone = marketplace.code, marketplace.tz
    today = local_date(now, zone)
    need = first_day_needed(today, health_of(marketplace).metrics)
    built = rollup_repo.state(session, seller_id, code)
    if built is None or date.fromisoformat(built.built_from) > need:
        if not persist:
            return None
        marks = rollup_repo.dirty_marks(session, seller_id, code, zone)  # before reading any record
        fresh = _recompute(session, seller_id, marketplace, now, None)
        rollup_repo.drop_all(session, seller_id, code)
        rollup_repo.write_days(
            session, seller_id, code, {d: v for d, v in fresh.items() if d >= need}, now
        )
        rollup_repo.set_state(session, seller_id, code, need, now)
        rollup_repo.clear_marks(session, marks.ids)
        return {d: t for d, (t, _) in fresh.items() if need <= d <= today}

    marks = rollup_repo.dirty_marks(session, seller_id, code, zone)
    start = date.fromisoformat(built.built_from)
    stored = rollup_repo.read_days(session, seller_id, code, start, tallies=result)
    redo = {d for d in marks.days if d >= start}
    redo |= {d for d, row in stored.items() if not row.holds_at(now)}
    if not persist:
        redo = {d for d in redo if need <= d <= today}
    fresh = _recompute(session, seller_id, marketplace, now, redo) if redo else {}
    if persist:
        rollup_repo.write_days(session, seller_id, code, fresh, now)
        rollup_repo.drop_before(session, seller_id, code, need)
        rollup_repo.set_state(session, seller_id, code, need, now)
        rollup_repo.clear_marks(session, marks.ids)
    per_day = {d: row.tallies for d, row in stored.items() if need <= d <= today}
    for d, (tallies, _) in fresh.items():
        if need <= d <= today:
            per_day[d] = tallies
    return per_day


def store_health_now(
    session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime
) -> StoreHealth:
    """The store's health today, from the rollups when they exist (else the full path)."""
    require_store(session, seller_id, marketplace.code)
    per_day = current_tallies(session, seller_id, marketplace, now, persist=False)
    if per_day is None:
        return store_health(
            session, seller_id=seller_id, marketplace=marketplace, day=None, now=now
        )
    return _health(session, seller_id, marketplace, now, per_day)


def seller_health_now(
    session: Session, *, seller_id: str, registry: Registry, now: datetime
) -> list[StoreHealth]:
    """Today's health of every store of the seller, by marketplace code."""
    seller = get_seller(session, seller_id)
    return [
        store_health_now(session, seller_id=seller_id, marketplace=registry.require(code), now=now)
        for code in sorted(store.marketplace for store in seller.stores)
    ]


def store_health_on(
    session: Session, *, seller_id: str, marketplace: Marketplace, day: date | None, now: datetime
) -> StoreHealth:
    """The store's health on ``day``: today's (``None``, or today in the store's zone) from the
    rollups, any other day's by the full path."""
    if day is None or day == local_date(now, marketplace.tz):
        return store_health_now(session, seller_id=seller_id, marketplace=marketplace, now=now)
    return store_health(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)


def seller_health_on(
    session: Session, *, seller_id: str, registry: Registry, day: date | None, now: datetime
) -> list[StoreHealth]:
    """Every store's health on ``day``, by marketplace code: from the rollups when no day is
    given, else by the full path."""
    if day is None:
        return seller_health_now(session, seller_id=seller_id, registry=registry, now=now)
    return seller_health(session, seller_id=seller_id, registry=registry, day=day, now=now)


def refresh_store(
    session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime
) -> StoreHealth:
    """Brings the store's stored rollups up to ``now`` and returns today's health."""
    require_store(session, seller_id, marketplace.code)
    per_day = current_tallies(session, seller_id, marketplace, now, persist=True)
    assert per_day is not None
    return _health(session, seller_id, marketplace, now, per_day)


def refresh_all(
    factory: sessionmaker[Session], registry: Registry, now: datetime
) -> list[tuple[str, str]]:
    """Refreshes every dirty store, one transaction per store, so a long refresh never holds
    the writer lock for long. Used after imports, by the worker and by ``health refresh``."""
    with factory() as session:
        stores = rollup_repo.dirty_stores(session)
    done = []
    for seller_id, code in stores:
        marketplace = registry.get(code)
        if marketplace is None:
            continue
        with unit_of_work(factory) as session:
            current_tallies(session, seller_id, marketplace, now, persist=True, result=False)
        done.append((seller_id, code))
    return done


def _health(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    per_day: dict[date, Tallies],
) -> StoreHealth:
    zone, config = marketplace.tz, health_of(marketplace)
    today = local_date(now, zone)
    metrics, fulfilled = combine(today, zone, per_day, config.metrics)
    violations = repo.load_violations(session, seller_id, marketplace.code, zone)
    return assemble(seller_id, marketplace, today, now, metrics, fulfilled, violations, config.ahr)
