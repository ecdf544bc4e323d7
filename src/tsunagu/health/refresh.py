"""Bringing many stores' stored health up to date: the batched refresh and the history keeper.

:func:`refresh_all` takes the stores with dirty marks in batches of :data:`BATCH_STORES`, one
transaction per batch: it reads the batch's states, marks and expired days, the records of every
day to compute again in four set-based queries for the whole batch, computes the days (the
same pure functions as one store's refresh, ``incremental.py``) and writes them back with one
statement per table. Days whose records changed get their history chains marked for computing
again; :func:`keep_history_all` then carries every store's chains on to yesterday, one
transaction per store (after imports, in the worker's loop and in ``tsunagu health refresh``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.health import rollup_repo
from tsunagu.health.config import health_of
from tsunagu.health.incremental import (
    Kept,
    computed_chains,
    current_tallies,
    history_start,
    kept_points,
)
from tsunagu.health.metrics import DAY, end_of_day, local_date, start_of_day
from tsunagu.health.rollups import (
    ORDER_DAYS,
    Tallies,
    day_tallies,
    first_day_needed,
    window_totals,
)
from tsunagu.marketplaces.registry import Marketplace, Registry

#: Stores refreshed in one transaction: large enough that the per-statement cost is shared,
#: small enough that the writer lock is held for well under a second.
BATCH_STORES = 200

StoreKey = rollup_repo.StoreKey


def refresh_all(
    factory: sessionmaker[Session], registry: Registry, now: datetime, *, history: bool = True
) -> list[tuple[str, str]]:
    """Refreshes every store with dirty marks, a batch per transaction, then (unless
    ``history`` is false) carries the history chains on. The stores refreshed, sorted."""
    with factory() as session:
        dirty = rollup_repo.dirty_stores(session)
        expired = rollup_repo.expired_days(session, now) if dirty else {}
    stores = [(s, m) for s, code in dirty if (m := registry.get(code)) is not None]
    done: list[tuple[str, str]] = []
    for start in range(0, len(stores), BATCH_STORES):
        batch = stores[start : start + BATCH_STORES]
        with unit_of_work(factory) as session:
            done += refresh_batch(session, batch, now, expired)
    if history:
        keep_history_all(factory, registry, now)
    return sorted(done)


@dataclass(frozen=True)
class _Plan:
    seller_id: str
    marketplace: Marketplace
    need: date
    first: date  # the first day kept before this refresh
    redo: frozenset[date]
    dirty: frozenset[date]
    kept: Kept

    @property
    def key(self) -> StoreKey:
        return (self.seller_id, self.marketplace.code)


def refresh_batch(
    session: Session,
    stores: Sequence[tuple[str, Marketplace]],
    now: datetime,
    expired: Mapping[StoreKey, set[date]] | None = None,
) -> list[StoreKey]:
    """Brings the stored days of ``stores`` up to ``now`` in this transaction; the stores done
    (a store another refresh holds is left to it). ``expired``: the days that no longer hold,
    read once for several batches (a day expiring meanwhile is computed on read until the next
    refresh)."""
    keys = [(s, m.code) for s, m in stores]
    states = rollup_repo.locked_states(session, keys)
    marks = rollup_repo.marks_of(session, keys)  # before any record is read
    done: list[StoreKey] = []
    firsts: dict[StoreKey, date] = {}
    for seller_id, marketplace in stores:
        key = (seller_id, marketplace.code)
        built = states.get(key)
        if built is None and rollup_repo.state(session, seller_id, marketplace.code) is not None:
            continue  # another refresh holds it (PostgreSQL's SKIP LOCKED) and brings it up
        need = first_day_needed(local_date(now, marketplace.tz), health_of(marketplace).metrics)
        if built is None or date.fromisoformat(built.built_from) > need:
            # never built, or built too long ago: the whole store, as one store's refresh does
            current_tallies(session, seller_id, marketplace, now, persist=True, result=False)
            done.append(key)
        else:
            firsts[key] = date.fromisoformat(built.built_from)
    if expired is None:
        expired = rollup_repo.expired_days(session, now)
    plans = []
    for seller_id, marketplace in stores:
        key = (seller_id, marketplace.code)
        if key not in firsts:
            continue
        found = marks.get(key)
        dirty = found.days(marketplace.tz) if found else frozenset()
        lapsed = {d for d in expired.get(key, ()) if d >= firsts[key]}
        redo = frozenset({d for d in dirty if d >= firsts[key]} | lapsed)
        need = first_day_needed(local_date(now, marketplace.tz), health_of(marketplace).metrics)
        kept = Kept.of(states[key])
        plans.append(_Plan(seller_id, marketplace, need, firsts[key], redo, dirty, kept))
    _refresh_planned(session, plans, now)
    rollup_repo.drop_summaries(session, done + [p.key for p in plans])
    rollup_repo.clear_marks(
        session, [i for p in plans if (m := marks.get(p.key)) is not None for i in m.ids]
    )
    return done + [p.key for p in plans]


def _floor(now: datetime, marketplace: Marketplace) -> datetime:
    """The first purchase instant the full path reads today (``incremental._recompute``)."""
    zone = marketplace.tz
    return start_of_day(local_date(now, zone) - timedelta(days=ORDER_DAYS), zone)


def _refresh_planned(session: Session, plans: Sequence[_Plan], now: datetime) -> None:
    wanted = {
        p.key: rollup_repo.DaysWanted(
            p.marketplace.tz,
            _floor(now, p.marketplace),
            p.redo,
        )
        for p in plans
    }
    facts = rollup_repo.load_days_of_stores(session, wanted)
    fresh: dict[StoreKey, dict[date, tuple[Tallies, datetime | None]]] = {}
    for p in plans:
        f = facts.get(p.key)
        if f is None:
            continue
        fresh[p.key] = day_tallies(
            p.marketplace.tz, f.orders, f.messages, f.returns, f.surveys, now, days=p.redo
        )
    rollup_repo.write_days_of_stores(session, fresh, now)
    rollup_repo.advance_states(
        session, {p.key: p.need for p in plans}, {p.key: p.first for p in plans}, now
    )
    rollup_repo.invalidate_chains(session, {p.key: p.kept.holding(p.dirty) for p in plans})


# --------------------------------------------------------------------------- history


def keep_history(session: Session, seller_id: str, marketplace: Marketplace, now: datetime) -> bool:
    """Carries the store's kept chains on to yesterday: new chains for the days never kept and
    for those marked for computing again, the others carried on where a record's instant has
    passed; chains fallen out of the kept year are dropped. ``False``: the store's rollups were
    never built (or another refresh holds it), nothing done."""
    code = marketplace.code
    built = rollup_repo.locked_states(session, [(seller_id, code)]).get((seller_id, code))
    if built is None:
        return False
    today = local_date(now, marketplace.tz)
    first, last = history_start(today, marketplace), today - DAY
    fresh = Kept.of(built).missing(first, last)
    stale = {
        d: c
        for d, c in rollup_repo.read_chains(
            session, seller_id, code, first, last, stale_on=last
        ).items()
        if d not in fresh
    }
    chains = computed_chains(session, seller_id, marketplace, last, fresh, stale)
    rollup_repo.write_chains(session, [(seller_id, code, d, c) for d, c in chains.items()])
    rollup_repo.drop_chains_before(session, seller_id, code, first)
    built.history_from, built.history_through = first.isoformat(), last.isoformat()
    session.flush()
    return True


def keep_summary(session: Session, seller_id: str, marketplace: Marketplace, now: datetime) -> None:
    """Brings the store's day rows up to ``now`` and stores today's window totals, valid until
    the first day in the windows changes or the day ends."""
    zone, config = marketplace.tz, health_of(marketplace)
    per_day = current_tallies(session, seller_id, marketplace, now, persist=True)
    assert per_day is not None
    today = local_date(now, zone)
    need = first_day_needed(today, config.metrics)
    until = min(
        [end_of_day(today, zone)]
        + [
            row.valid_until
            for d, row in rollup_repo.read_days(
                session, seller_id, marketplace.code, need, tallies=False
            ).items()
            if d <= today and row.valid_until is not None
        ]
    )
    totals = window_totals(today, zone, per_day, config.metrics)
    key = (seller_id, marketplace.code)
    rollup_repo.write_summary(session, key, today, totals, now, until)
    rollup_repo.write_points(session, key, *kept_points(session, seller_id, marketplace, now))


def keep_history_all(
    factory: sessionmaker[Session], registry: Registry, now: datetime
) -> list[tuple[str, str]]:
    """:func:`keep_history` and :func:`keep_summary` for every store whose chains are behind or
    whose summary no longer holds, one transaction each."""
    with factory() as session:
        through = rollup_repo.history_through(session)
        invalidated = rollup_repo.invalidated_history(session)
        unsummed = rollup_repo.summaries_wanted(session, now)
    done = []
    for (seller_id, code), last in sorted(through.items()):
        marketplace = registry.get(code)
        if marketplace is None:
            continue
        yesterday = local_date(now, marketplace.tz) - DAY
        behind = last is None or last < yesterday or (seller_id, code) in invalidated
        if not behind and (seller_id, code) not in unsummed:
            continue
        with unit_of_work(factory) as session:
            if behind and not keep_history(session, seller_id, marketplace, now):
                continue
            keep_summary(session, seller_id, marketplace, now)
            done.append((seller_id, code))
    return done
