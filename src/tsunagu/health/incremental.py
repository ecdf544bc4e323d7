"""Today's health from the daily rollups: only dirty or expired days are computed again.

``store_health_now`` gives the same :class:`StoreHealth` as ``service.store_health`` for today
(without the ids behind the numerators; ``health explain`` reads those from the full path). It
writes nothing, so it serves read-only API requests: days marked dirty since the last refresh are
computed in memory. ``refresh_store`` does the same and stores the result (the first call builds
every day); ``refresh.py`` refreshes many stores at once. The history of past days comes from
the kept chains (``history.py``), carried on by ``refresh.keep_history``. Nothing here commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson
from sqlalchemy.orm import Session

from tsunagu.health import repo, rollup_repo
from tsunagu.health.config import health_of
from tsunagu.health.history import Chain, DayRecords, extend, series
from tsunagu.health.metrics import DAY, Window, cutoff, local_date, start_of_day, window_span
from tsunagu.health.models import HealthRollupState
from tsunagu.health.rollups import (
    ORDER_DAYS,
    Tallies,
    combine,
    day_tallies,
    first_day_needed,
    results,
)
from tsunagu.health.rules import StoreHealth
from tsunagu.health.service import (
    HISTORY_MAX_DAYS,
    Basis,
    StoreForecast,
    StoreWhatIf,
    assemble,
    basis,
    check_history_range,
    forecast_of,
    missed_metrics,
    seller_health,
    store_health,
    what_if_of,
)
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
        rollup_repo.invalidate_chains(
            session, {(seller_id, code): Kept.of(built).holding(marks.days)}
        )
        rollup_repo.drop_summaries(session, [(seller_id, code)])
        rollup_repo.clear_marks(session, marks.ids)
        return {d: t for d, (t, _) in fresh.items() if need <= d <= today}

    marks = rollup_repo.dirty_marks(session, seller_id, code, zone)
    kept = Kept.of(built)
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
        rollup_repo.invalidate_chains(session, {(seller_id, code): kept.holding(marks.days)})
        rollup_repo.drop_summaries(session, [(seller_id, code)])
        rollup_repo.clear_marks(session, marks.ids)
    per_day = {d: row.tallies for d, row in stored.items() if need <= d <= today}
    for d, (tallies, _) in fresh.items():
        if need <= d <= today:
            per_day[d] = tallies
    return per_day


def store_health_now(
    session: Session, *, seller_id: str, marketplace: Marketplace, now: datetime
) -> StoreHealth:
    """The store's health today: from its stored summary while that holds, else from the day
    rows, else (never built) by the full path."""
    require_store(session, seller_id, marketplace.code)
    zone, config = marketplace.tz, health_of(marketplace)
    kept = rollup_repo.summary(session, seller_id, marketplace.code, now)
    if kept is not None and kept.day == local_date(now, zone):
        metrics, fulfilled = results(kept.day, zone, kept.totals, config.metrics)
        violations = repo.load_violations(session, seller_id, marketplace.code, zone)
        return assemble(
            seller_id, marketplace, kept.day, now, metrics, fulfilled, violations, config.ahr
        )
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


# --------------------------------------------------------------------------- history

#: The history chains are kept for the windows of this many evaluation days up to yesterday, so
#: any history of the last year is read from them (``/history`` takes up to 366 days).
HISTORY_KEPT_DAYS = HISTORY_MAX_DAYS


def history_start(today: date, marketplace: Marketplace) -> date:
    """The first selecting day whose chain is kept."""
    first_evaluated = today - timedelta(days=HISTORY_KEPT_DAYS)
    return first_day_needed(first_evaluated, health_of(marketplace).metrics)


def computed_chains(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    last: date,
    fresh: set[date],
    stale: dict[date, Chain],
) -> dict[date, Chain]:
    """New chains for the ``fresh`` days and ``stale`` chains carried on, up to evaluation day
    ``last``, from one read of those days' records."""
    days = fresh | stale.keys()
    if not days:
        return {}
    zone = marketplace.tz
    floor = start_of_day(min(days) - timedelta(days=ORDER_DAYS), zone)
    records = rollup_repo.load_records(
        session, seller_id, marketplace.code, zone, floor=floor, days=days
    )
    empty = DayRecords()
    chains = {d: extend(d, records.get(d, empty), zone, last) for d in fresh}
    for d, chain in stale.items():
        chains[d] = extend(d, records.get(d, empty), zone, last, chain)
    return chains


@dataclass(frozen=True)
class Kept:
    """The selecting days whose chains are kept: ``first`` to ``last`` (none when ``None``)."""

    first: date | None = None
    last: date | None = None

    @classmethod
    def of(cls, built: HealthRollupState | None) -> Kept:
        if built is None or built.history_from is None or built.history_through is None:
            return cls()
        return cls(
            date.fromisoformat(built.history_from), date.fromisoformat(built.history_through)
        )

    def holding(self, days: Collection[date]) -> set[date]:
        """The kept ones among ``days``."""
        if self.first is None or self.last is None:
            return set()
        return {d for d in days if self.first <= d <= self.last}

    def missing(self, first: date, last: date) -> set[date]:
        """The days from ``first`` to ``last`` outside the kept ones."""
        every = (first + timedelta(days=n) for n in range((last - first).days + 1))
        if self.first is None or self.last is None:
            return set(every)
        return {d for d in every if d < self.first or d > self.last}


def _chains_for(
    session: Session,
    seller_id: str,
    marketplace: Marketplace,
    first: date,
    last: date,
) -> dict[date, Chain]:
    """Every chain the evaluation days ``first`` to ``last`` (before today) need: the kept ones,
    with the days marked dirty since, never built or not carried far enough computed in memory.
    Writes nothing."""
    code = marketplace.code
    start = first_day_needed(first, health_of(marketplace).metrics)
    kept = rollup_repo.read_chains(session, seller_id, code, start, last)
    built = rollup_repo.state(session, seller_id, code)
    dirty = rollup_repo.dirty_marks(session, seller_id, code, marketplace.tz).days
    fresh = {d for d in dirty if start <= d <= last}
    fresh |= Kept.of(built).missing(start, last)
    stale = {d: c for d, c in kept.items() if d not in fresh and not c.covers(last)}
    chains = {d: c for d, c in kept.items() if d not in fresh}
    chains.update(computed_chains(session, seller_id, marketplace, last, fresh, stale))
    return chains


def store_history(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    start: date,
    end: date,
    now: datetime,
) -> list[StoreHealth]:
    """The store's health on every day from ``start`` to ``end``, each evaluated at the earlier
    of ``now`` and the end of that day, as ``service.store_history`` gives it (without the ids):
    past days from the kept chains, today from the rollups."""
    check_history_range(start, end)
    require_store(session, seller_id, marketplace.code)
    zone, config = marketplace.tz, health_of(marketplace)
    today = local_date(now, zone)
    result: list[StoreHealth] = []
    last_past = min(end, today - DAY)
    if start <= last_past:
        chains = _chains_for(session, seller_id, marketplace, start, last_past)
        violations = repo.load_violations(session, seller_id, marketplace.code, zone)
        for day, metrics, fulfilled in series(start, last_past, zone, chains, config.metrics):
            result.append(
                assemble(
                    seller_id, marketplace, day, now, metrics, fulfilled, violations, config.ahr
                )
            )
    for n in range(max((end - max(start, today)).days + 1, 0)):
        day = max(start, today) + timedelta(days=n)
        result.append(
            store_health_on(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
        )
    return result


# --------------------------------------------------------------------------- forecast


def basis_now(
    session: Session, *, seller_id: str, marketplace: Marketplace, day: date | None, now: datetime
) -> Basis:
    """What the forecast and the what-if start from on ``day``: today's from the rollups (the
    fulfilled orders counted per purchase day), another day's, or a store never built, by the
    full path."""
    zone, config = marketplace.tz, health_of(marketplace)
    today = local_date(now, zone)
    per_day = None
    if day is None or day == today:
        require_store(session, seller_id, marketplace.code)
        per_day = current_tallies(session, seller_id, marketplace, now, persist=False)
    if per_day is None:
        return basis(session, seller_id, marketplace, day, now, None, None)
    metrics, _ = combine(today, zone, per_day, config.metrics)
    span = window_span(today, zone, Window(config.metrics.fulfilled_window_days, 0))
    dates = [
        d
        for d in sorted(per_day)
        if span.first <= d <= span.last
        for _ in range(per_day[d].get("fulfilled", (0,))[0])
    ]
    missed = missed_metrics(metrics) if config.ahr.profile == "metrics" else []
    violations = repo.load_violations(session, seller_id, marketplace.code, zone)
    return Basis(today, cutoff(today, zone, now), dates, violations, missed, config.ahr)


def store_forecast(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    day: date | None,
    now: datetime,
    days: int,
) -> StoreForecast:
    """``service.store_forecast``, today's from the rollups. Writes nothing."""
    b = basis_now(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    return forecast_of(seller_id, marketplace, b, days)


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
) -> StoreWhatIf:
    """``service.store_what_if``, today's from the rollups. Writes nothing."""
    b = basis_now(session, seller_id=seller_id, marketplace=marketplace, day=day, now=now)
    return what_if_of(seller_id, marketplace, b, resolve, add_orders, forecast_days)


# --------------------------------------------------------------------------- the page's points

#: How many past days the store page draws; the refresh's second stage keeps them computed.
KEPT_POINTS_DAYS = 179

#: One day of the store page's chart: the day, the score, the band and each metric's rate.
Point = tuple[date, int, str, dict[str, float | None]]


def point_of(h: StoreHealth) -> Point:
    return (h.day, h.rating.score, h.rating.band, {k: m.rate for k, m in h.metrics.items()})


def points_key(session: Session, seller_id: str, marketplace: Marketplace) -> str:
    """What the kept points depend on besides the chains: the store's violations (read live,
    they mark no day dirty) and the health settings."""
    violations = repo.load_violations(session, seller_id, marketplace.code, marketplace.tz)
    text = repr((violations, health_of(marketplace)))
    return hashlib.sha256(text.encode()).hexdigest()


def history_points(
    session: Session, *, seller_id: str, marketplace: Marketplace, days: int, now: datetime
) -> list[Point]:
    """Today and the ``days`` − 1 days before it, as the store page draws them: the past days
    as the second stage kept them when they still hold (else from the chains), today live."""
    today = local_date(now, marketplace.tz)
    yesterday = today - DAY
    first = today - timedelta(days=days - 1)
    kept = None
    if days - 1 <= KEPT_POINTS_DAYS:
        key = points_key(session, seller_id, marketplace)
        kept = rollup_repo.points(session, seller_id, marketplace.code, yesterday, key)
    if kept is None:
        found = store_history(
            session, seller_id=seller_id, marketplace=marketplace, start=first, end=today, now=now
        )
        return [point_of(h) for h in found]
    past = [
        (date.fromisoformat(d), score, band, rates)
        for d, score, band, rates in kept
        if date.fromisoformat(d) >= first
    ]
    now_health = store_health_now(session, seller_id=seller_id, marketplace=marketplace, now=now)
    return [*past, point_of(now_health)]


def kept_points(
    session: Session, seller_id: str, marketplace: Marketplace, now: datetime
) -> tuple[date, str, bytes]:
    """The past days the second stage keeps: up to yesterday, their key and their encoding."""
    today = local_date(now, marketplace.tz)
    yesterday = today - DAY
    found = store_history(
        session,
        seller_id=seller_id,
        marketplace=marketplace,
        start=today - timedelta(days=KEPT_POINTS_DAYS),
        end=yesterday,
        now=now,
    )
    encoded = orjson.dumps([(d.isoformat(), s, b, r) for d, s, b, r in map(point_of, found)])
    return yesterday, points_key(session, seller_id, marketplace), encoded
