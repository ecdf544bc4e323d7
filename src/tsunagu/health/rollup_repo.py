"""Storage of the daily health tallies: rows per store and day, dirty marks, targeted reads.

Never commits. Days are local ISO dates. Dirty marks are UTC instants to the minute (the event
writer does not know the store's time zone); the refresh turns each into its local day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import TextClause, and_, delete, null, select, text, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tsunagu.core.db import bulk_insert, placeholders, raw_instant
from tsunagu.health.history import Chain, DayRecords, records_by_day
from tsunagu.health.metrics import start_of_day
from tsunagu.health.models import (
    HealthDayHistory,
    HealthDirtyMark,
    HealthRollup,
    HealthRollupState,
    HealthStoreSummary,
)
from tsunagu.health.repo import (
    CASE_COLUMNS,
    SELECTING,
    CaseRow,
    StoreFacts,
    message_facts,
    order_facts,
    order_rows,
    order_rows_by_store,
    orders_with_cases,
    return_facts,
    surveys_of,
)
from tsunagu.health.rollups import Tallies
from tsunagu.orders.models import Message, Order, OrderCase
from tsunagu.orders.rules import OrderState

DAY = timedelta(days=1)


# --------------------------------------------------------------------------- dirty marks


def order_instants(state: OrderState) -> Iterator[datetime | None]:
    """The instants whose local days select the order in some metric."""
    yield from (state.purchased_at, state.latest_delivery_date, state.shipped_at)
    yield state.cs_answered_at
    for case in state.cases.values():
        if case.kind == "return":
            yield case.opened_at


def mark_dirty(
    session: Session, seller_id: str, marketplace: str, instants: Iterable[datetime | None]
) -> None:
    minutes = sorted(
        {i.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") for i in instants if i is not None}
    )
    if minutes:
        bulk_insert(
            session,
            "health_dirty_marks",
            ("seller_id", "marketplace", "at_minute"),
            [(seller_id, marketplace, m) for m in minutes],
        )


@dataclass(frozen=True)
class DirtyMarks:
    ids: tuple[int, ...]
    days: frozenset[date]  # local days of the store


def dirty_marks(session: Session, seller_id: str, marketplace: str, zone: ZoneInfo) -> DirtyMarks:
    rows = session.execute(
        select(HealthDirtyMark.id, HealthDirtyMark.at_minute).where(
            HealthDirtyMark.seller_id == seller_id, HealthDirtyMark.marketplace == marketplace
        )
    ).all()
    minutes = {m for _, m in rows}
    days = {datetime.fromisoformat(m).replace(tzinfo=UTC).astimezone(zone).date() for m in minutes}
    return DirtyMarks(tuple(r[0] for r in rows), frozenset(days))


def clear_marks(session: Session, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        session.execute(
            delete(HealthDirtyMark).where(HealthDirtyMark.id.in_(ids[start : start + 500]))
        )


def dirty_stores(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(HealthDirtyMark.seller_id, HealthDirtyMark.marketplace).distinct()
    ).all()
    return sorted((r[0], r[1]) for r in rows)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class StoredDay:
    tallies: Tallies
    computed_at: datetime
    valid_until: datetime | None

    def holds_at(self, now: datetime) -> bool:
        return self.computed_at <= now and (self.valid_until is None or now <= self.valid_until)


def state(session: Session, seller_id: str, marketplace: str) -> HealthRollupState | None:
    return session.get(HealthRollupState, (seller_id, marketplace))


def read_days(
    session: Session, seller_id: str, marketplace: str, first: date, *, tallies: bool = True
) -> dict[date, StoredDay]:
    """The stored days from ``first`` on; without ``tallies`` only their validity is read."""
    blob = HealthRollup.tallies if tallies else null()
    rows = session.execute(
        select(HealthRollup.day, blob, HealthRollup.computed_at, HealthRollup.valid_until).where(
            HealthRollup.seller_id == seller_id,
            HealthRollup.marketplace == marketplace,
            HealthRollup.day >= first.isoformat(),
        )
    ).all()
    return {
        date.fromisoformat(day): StoredDay(
            {k: tuple(v) for k, v in orjson.loads(data).items()} if data else {}, computed, until
        )
        for day, data, computed, until in rows
    }


def write_days(
    session: Session,
    seller_id: str,
    marketplace: str,
    days: dict[date, tuple[Tallies, datetime | None]],
    now: datetime,
) -> None:
    """Replace the rows of ``days``; a day with no tallies and nothing awaited has no row."""
    empty = [d.isoformat() for d, (tallies, until) in days.items() if not tallies and until is None]
    for start in range(0, len(empty), 500):
        session.execute(
            delete(HealthRollup).where(
                HealthRollup.seller_id == seller_id,
                HealthRollup.marketplace == marketplace,
                HealthRollup.day.in_(empty[start : start + 500]),
            )
        )
    dialect = session.get_bind().dialect.name
    computed = raw_instant(now, dialect)
    bulk_insert(
        session,
        "health_rollups",
        ("seller_id", "marketplace", "day", "tallies", "computed_at", "valid_until"),
        [
            (
                seller_id,
                marketplace,
                d.isoformat(),
                orjson.dumps(tallies),
                computed,
                raw_instant(until, dialect),
            )
            for d, (tallies, until) in sorted(days.items())
            if tallies or until is not None
        ],
        conflict=("seller_id", "marketplace", "day"),
        update=("tallies", "computed_at", "valid_until"),
    )


def drop_before(session: Session, seller_id: str, marketplace: str, first: date) -> None:
    session.execute(
        delete(HealthRollup).where(
            HealthRollup.seller_id == seller_id,
            HealthRollup.marketplace == marketplace,
            HealthRollup.day < first.isoformat(),
        )
    )


def drop_all(session: Session, seller_id: str, marketplace: str) -> None:
    drop_before(session, seller_id, marketplace, date.max)


def set_state(
    session: Session, seller_id: str, marketplace: str, built_from: date, now: datetime
) -> None:
    row = state(session, seller_id, marketplace)
    if row is None:
        session.add(
            HealthRollupState(
                seller_id=seller_id,
                marketplace=marketplace,
                built_from=built_from.isoformat(),
                built_at=now,
            )
        )
    else:
        row.built_from = built_from.isoformat()
        row.built_at = now
    session.flush()


# --------------------------------------------------------------------------- targeted reads


def _ranges(days: Collection[date], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Consecutive local days merged into UTC instant ranges (end exclusive)."""
    result: list[tuple[datetime, datetime]] = []
    for d in sorted(days):
        start, end = start_of_day(d, zone), start_of_day(d + DAY, zone)
        if result and result[-1][1] == start:
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def _within(
    columns: Sequence[str], ranges: Sequence[tuple[datetime, datetime]], dialect: str
) -> TextClause:
    """``column`` in one of the ranges, for each column (OR): written as SQL text, because
    building dozens of comparisons as expressions costs more than the query itself."""
    values: dict[str, object] = {}
    for n, (lo, hi) in enumerate(ranges):
        values[f"lo{n}"], values[f"hi{n}"] = raw_instant(lo, dialect), raw_instant(hi, dialect)
    terms = [f"({c} >= :lo{n} AND {c} < :hi{n})" for c in columns for n in range(len(ranges))]
    return text("(" + " OR ".join(terms) + ")").bindparams(**values)


def load_days(
    session: Session,
    seller_id: str,
    marketplace: str,
    zone: ZoneInfo,
    *,
    floor: datetime,
    days: Collection[date] | None,
) -> StoreFacts:
    """The records that any metric selects by one of ``days`` (all days when ``None``), among
    orders placed at or after ``floor`` — the same orders the full path reads. Violations are
    not read here."""
    order_filter: list[ColumnElement[bool] | TextClause] = [
        Order.seller_id == seller_id,
        Order.marketplace == marketplace,
        Order.purchased_at >= floor,
    ]
    message_filter: list[ColumnElement[bool] | TextClause] = [
        Message.seller_id == seller_id,
        Message.marketplace == marketplace,
        Message.received_at.is_not(None),
    ]
    return_filter: list[ColumnElement[bool] | TextClause] = [OrderCase.opened_at.is_not(None)]
    if days is not None:
        if not days:
            return StoreFacts((), (), (), (), ())
        ranges = _ranges(days, zone)
        dialect = session.get_bind().dialect.name
        selecting = ("purchased_at", "latest_delivery_date", "shipped_at", "cs_answered_at")
        order_filter.append(_within([f"orders.{c}" for c in selecting], ranges, dialect))
        message_filter.append(_within(["messages.received_at"], ranges, dialect))
        return_filter.append(_within(["order_cases.opened_at"], ranges, dialect))
    rows = order_rows(session, *order_filter)
    orders = order_facts(session, seller_id, marketplace, rows)
    messages = message_facts(session.execute(select(Message).where(*message_filter)).scalars())
    cases = session.execute(
        select(OrderCase)
        .join(
            Order,
            and_(
                Order.seller_id == OrderCase.seller_id,
                Order.marketplace == OrderCase.marketplace,
                Order.order_id == OrderCase.order_id,
            ),
        )
        .where(
            OrderCase.seller_id == seller_id,
            OrderCase.marketplace == marketplace,
            OrderCase.kind == "return",
            Order.purchased_at >= floor,
            *return_filter,
        )
    ).scalars()
    returns = return_facts(cases)
    return StoreFacts(orders, messages, returns, surveys_of(rows), ())


# --------------------------------------------------------------------------- history chains


def _encode_chain(chain: Chain) -> bytes:
    return orjson.dumps([[d.isoformat(), tallies] for d, tallies in chain.versions])


def _decode_chain(data: bytes, next_day: str | None) -> Chain:
    versions = tuple(
        (date.fromisoformat(d), {k: tuple(v) for k, v in tallies.items()})
        for d, tallies in orjson.loads(data)
    )
    return Chain(versions, None if next_day is None else date.fromisoformat(next_day))


def read_chains(
    session: Session,
    seller_id: str,
    marketplace: str,
    first: date,
    last: date,
    *,
    stale_on: date | None = None,
) -> dict[date, Chain]:
    """The stored history chains of the selecting days ``first`` to ``last``; with
    ``stale_on``, only those not computed as far as that evaluation day."""
    h = HealthDayHistory
    where = [
        h.seller_id == seller_id,
        h.marketplace == marketplace,
        h.day >= first.isoformat(),
        h.day <= last.isoformat(),
    ]
    if stale_on is not None:
        where += [h.next_day.is_not(None), h.next_day <= stale_on.isoformat()]
    rows = session.execute(select(h.day, h.versions, h.next_day).where(*where)).all()
    return {date.fromisoformat(d): _decode_chain(data, nxt) for d, data, nxt in rows}


def write_chains(session: Session, rows: Sequence[tuple[str, str, date, Chain]]) -> None:
    """Store ``(seller, marketplace, day, chain)`` rows in one statement; a chain that never
    holds anything is deleted instead (a day without a row has no records)."""
    empty = [
        (s, m, d.isoformat())
        for s, m, d, chain in rows
        if chain.next_day is None and not any(t for _, t in chain.versions)
    ]
    if empty:
        mark = placeholders(session.get_bind().dialect.name, 1)
        session.connection().exec_driver_sql(
            f"DELETE FROM health_day_history WHERE seller_id = {mark} AND marketplace = {mark} "
            f"AND day = {mark}",
            empty,
        )
    bulk_insert(
        session,
        "health_day_history",
        ("seller_id", "marketplace", "day", "versions", "next_day"),
        [
            (
                s,
                m,
                d.isoformat(),
                _encode_chain(chain),
                chain.next_day and chain.next_day.isoformat(),
            )
            for s, m, d, chain in rows
            if chain.next_day is not None or any(t for _, t in chain.versions)
        ],
        conflict=("seller_id", "marketplace", "day"),
        update=("versions", "next_day"),
    )


def drop_chains_before(session: Session, seller_id: str, marketplace: str, first: date) -> None:
    session.execute(
        delete(HealthDayHistory).where(
            HealthDayHistory.seller_id == seller_id,
            HealthDayHistory.marketplace == marketplace,
            HealthDayHistory.day < first.isoformat(),
        )
    )


def load_records(
    session: Session,
    seller_id: str,
    marketplace: str,
    zone: ZoneInfo,
    *,
    floor: datetime,
    days: Collection[date] | None,
) -> dict[date, DayRecords]:
    """Every record ``days`` (all days when ``None``) can hold, with the purchase day of each
    order involved, among orders bought at or after ``floor``."""
    facts = load_days(session, seller_id, marketplace, zone, floor=floor, days=days)
    purchased = {o.order_id: o.purchased_at for o in facts.orders}
    missing = sorted({r.order_id for r in facts.returns} - purchased.keys())
    for start in range(0, len(missing), 500):
        rows = session.execute(
            select(Order.order_id, Order.purchased_at).where(
                Order.seller_id == seller_id,
                Order.marketplace == marketplace,
                Order.order_id.in_(missing[start : start + 500]),
            )
        )
        for order_id, at in rows:  # a Result has keys(): dict() would take it for a mapping
            purchased[order_id] = at
    local = {i: at.astimezone(zone).date() for i, at in purchased.items()}
    grouped = records_by_day(
        zone, facts.orders, facts.messages, facts.returns, facts.surveys, local
    )
    return grouped if days is None else {d: r for d, r in grouped.items() if d in days}


# --------------------------------------------------------------------------- many stores at once

StoreKey = tuple[str, str]


def locked_states(session: Session, keys: Sequence[StoreKey]) -> dict[StoreKey, HealthRollupState]:
    """The rollup states of ``keys``, locked for this transaction on PostgreSQL (in key order,
    skipping stores another refresh holds: that one brings them up to date). SQLite's writer
    lock already serialises refreshes."""
    found: dict[StoreKey, HealthRollupState] = {}
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        query = (
            select(HealthRollupState)
            .where(tuple_(HealthRollupState.seller_id, HealthRollupState.marketplace).in_(part))
            .order_by(HealthRollupState.seller_id, HealthRollupState.marketplace)
            .with_for_update(skip_locked=True)
        )
        found.update({(r.seller_id, r.marketplace): r for r in session.execute(query).scalars()})
    return found


@dataclass(frozen=True)
class StoreMarks:
    ids: list[int]
    minutes: set[str]

    def days(self, zone: ZoneInfo) -> frozenset[date]:
        return frozenset(
            datetime.fromisoformat(m).replace(tzinfo=UTC).astimezone(zone).date()
            for m in self.minutes
        )


def marks_of(session: Session, keys: Collection[StoreKey]) -> dict[StoreKey, StoreMarks]:
    """The dirty marks of ``keys`` (one read of the table)."""
    wanted = set(keys)
    found: dict[StoreKey, StoreMarks] = {}
    rows = session.execute(
        select(
            HealthDirtyMark.id,
            HealthDirtyMark.seller_id,
            HealthDirtyMark.marketplace,
            HealthDirtyMark.at_minute,
        )
    ).all()
    for mark_id, seller_id, marketplace, minute in rows:
        key = (seller_id, marketplace)
        if key in wanted:
            marks = found.setdefault(key, StoreMarks([], set()))
            marks.ids.append(mark_id)
            marks.minutes.add(minute)
    return found


def expired_days(session: Session, now: datetime) -> dict[StoreKey, set[date]]:
    """Every stored day whose tallies no longer hold at ``now``, by store: one pass over the
    table, which finds few at any moment."""
    at = raw_instant(now, session.get_bind().dialect.name)
    h = HealthRollup
    found: dict[StoreKey, set[date]] = defaultdict(set)
    rows = session.execute(
        select(h.seller_id, h.marketplace, h.day).where(
            text("(valid_until < :at OR computed_at > :at)").bindparams(at=at)
        )
    ).all()
    for seller_id, marketplace, day in rows:
        found[(seller_id, marketplace)].add(date.fromisoformat(day))
    return found


@dataclass(frozen=True)
class DaysWanted:
    """The local days one store needs, among orders bought at or after ``floor``."""

    zone: ZoneInfo
    floor: datetime
    days: frozenset[date]


def load_days_of_stores(
    session: Session, wanted: Mapping[StoreKey, DaysWanted]
) -> dict[StoreKey, StoreFacts]:
    """:func:`load_days` for many stores in four queries: orders, their claims and chargebacks,
    messages and return requests, each over every store's days at once (the union of their UTC
    ranges); records of another store's days are harmless extras (a day only reads its own)."""
    keys = sorted(k for k, w in wanted.items() if w.days)
    if not keys:
        return {}
    dialect = session.get_bind().dialect.name
    ranges = _merged(r for k in keys for r in _ranges(wanted[k].days, wanted[k].zone))
    floor = min(wanted[k].floor for k in keys)
    selecting = SELECTING
    in_keys = tuple_(Order.seller_id, Order.marketplace).in_(keys)
    orders_where = (
        in_keys,
        Order.purchased_at >= floor,
        _within([f"orders.{c}" for c in selecting], ranges, dialect),
    )
    rows = order_rows_by_store(session, *orders_where, keep=lambda k, i: _selected(i, wanted[k]))
    cases: dict[StoreKey, list[CaseRow]] = defaultdict(list)
    join = and_(
        Order.seller_id == OrderCase.seller_id,
        Order.marketplace == OrderCase.marketplace,
        Order.order_id == OrderCase.order_id,
    )
    for row in session.execute(
        select(OrderCase.seller_id, OrderCase.marketplace, *CASE_COLUMNS)
        .join(Order, join)
        .where(*orders_where, OrderCase.kind.in_(("claim", "chargeback")))
    ):
        cases[(row[0], row[1])].append(CaseRow(*row[2:]))
    messages: dict[StoreKey, list[Message]] = defaultdict(list)
    for m in session.execute(
        select(Message).where(
            tuple_(Message.seller_id, Message.marketplace).in_(keys),
            Message.received_at.is_not(None),
            _within(["messages.received_at"], ranges, dialect),
        )
    ).scalars():
        messages[(m.seller_id, m.marketplace)].append(m)
    returns: dict[StoreKey, list[OrderCase]] = defaultdict(list)
    for return_case, bought in session.execute(
        select(OrderCase, Order.purchased_at)
        .join(Order, join)
        .where(
            in_keys,
            Order.purchased_at >= floor,
            OrderCase.kind == "return",
            OrderCase.opened_at.is_not(None),
            _within(["order_cases.opened_at"], ranges, dialect),
        )
    ):
        key = (return_case.seller_id, return_case.marketplace)
        if bought >= wanted[key].floor:
            returns[key].append(return_case)
    return {
        k: StoreFacts(
            orders_with_cases(rows.get(k, []), cases.get(k, [])),
            message_facts(messages.get(k, [])),
            return_facts(returns.get(k, [])),
            surveys_of(rows.get(k, [])),
            (),
        )
        for k in keys
    }


def _selected(instants: Sequence[datetime | None], wanted: DaysWanted) -> bool:
    """Whether an order is within the store's floor and one of its selecting instants (bought
    first) falls on one of the store's own days: the batch query reads every store's rows over
    the union of all their days."""
    if instants[0] is None or instants[0] < wanted.floor:
        return False
    days, zone = wanted.days, wanted.zone
    return any(i is not None and i.astimezone(zone).date() in days for i in instants)


def _merged(ranges: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    result: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if result and lo <= result[-1][1]:
            result[-1] = (result[-1][0], max(hi, result[-1][1]))
        else:
            result.append((lo, hi))
    return result


def write_days_of_stores(
    session: Session,
    days: Mapping[StoreKey, Mapping[date, tuple[Tallies, datetime | None]]],
    now: datetime,
) -> None:
    """:func:`write_days` for many stores: one delete and one upsert statement."""
    dialect = session.get_bind().dialect.name
    empty = [
        (s, m, d.isoformat())
        for (s, m), per_day in days.items()
        for d, (tallies, until) in per_day.items()
        if not tallies and until is None
    ]
    if empty:
        mark = placeholders(dialect, 1)
        session.connection().exec_driver_sql(
            f"DELETE FROM health_rollups WHERE seller_id = {mark} AND marketplace = {mark} "
            f"AND day = {mark}",
            empty,
        )
    computed = raw_instant(now, dialect)
    bulk_insert(
        session,
        "health_rollups",
        ("seller_id", "marketplace", "day", "tallies", "computed_at", "valid_until"),
        [
            (s, m, d.isoformat(), orjson.dumps(tallies), computed, raw_instant(until, dialect))
            for (s, m), per_day in sorted(days.items())
            for d, (tallies, until) in sorted(per_day.items())
            if tallies or until is not None
        ],
        conflict=("seller_id", "marketplace", "day"),
        update=("tallies", "computed_at", "valid_until"),
    )


def advance_states(
    session: Session,
    needs: Mapping[StoreKey, date],
    built: Mapping[StoreKey, date],
    now: datetime,
) -> None:
    """Drops each store's days before its first needed day when that moved since ``built``
    (once a day) and records the refresh (stores whose state exists): one statement per distinct
    first day, one for the states."""
    by_need: dict[date, list[StoreKey]] = defaultdict(list)
    for key, need in needs.items():
        if built[key] < need:
            by_need[need].append(key)
    h = HealthRollup
    for need, keys in by_need.items():
        for start in range(0, len(keys), 500):
            session.execute(
                delete(h).where(
                    tuple_(h.seller_id, h.marketplace).in_(keys[start : start + 500]),
                    h.day < need.isoformat(),
                )
            )
    if not needs:
        return
    dialect = session.get_bind().dialect.name
    mark = placeholders(dialect, 1)
    session.connection().exec_driver_sql(
        f"UPDATE health_rollup_state SET built_from = {mark}, built_at = {mark} "
        f"WHERE seller_id = {mark} AND marketplace = {mark}",
        [(need.isoformat(), raw_instant(now, dialect), s, m) for (s, m), need in needs.items()],
    )


def invalidate_chains(session: Session, days: Mapping[StoreKey, Collection[date]]) -> None:
    """Marks the kept chains of ``days`` as to be computed again from their first day (their
    records changed): one upsert."""
    bulk_insert(
        session,
        "health_day_history",
        ("seller_id", "marketplace", "day", "versions", "next_day"),
        [(s, m, d.isoformat(), b"[]", d.isoformat()) for (s, m), ds in days.items() for d in ds],
        conflict=("seller_id", "marketplace", "day"),
        update=("versions", "next_day"),
    )


def history_through(session: Session) -> dict[StoreKey, date | None]:
    """Every built store and the last evaluation day its chains were carried to."""
    s = HealthRollupState
    return {
        (seller_id, marketplace): None if through is None else date.fromisoformat(through)
        for seller_id, marketplace, through in session.execute(
            select(s.seller_id, s.marketplace, s.history_through)
        )
    }


def invalidated_history(session: Session) -> set[StoreKey]:
    """The stores with a kept chain marked for computing again (or not carried far enough)."""
    h, s = HealthDayHistory, HealthRollupState
    rows = session.execute(
        select(h.seller_id, h.marketplace)
        .distinct()
        .join(s, and_(s.seller_id == h.seller_id, s.marketplace == h.marketplace))
        .where(h.next_day.is_not(None), h.next_day <= s.history_through)
    )
    return set(rows)


# --------------------------------------------------------------------------- store summaries


@dataclass(frozen=True)
class Summary:
    day: date
    totals: dict[str, list[int]]


def summary(session: Session, seller_id: str, marketplace: str, now: datetime) -> Summary | None:
    """The store's stored window totals if they hold at ``now`` and no dirty mark is waiting."""
    s = HealthStoreSummary
    row = session.execute(
        select(s.day, s.totals).where(
            s.seller_id == seller_id,
            s.marketplace == marketplace,
            s.computed_at <= now,
            s.valid_until >= now,
            ~select(HealthDirtyMark.id)
            .where(
                HealthDirtyMark.seller_id == seller_id, HealthDirtyMark.marketplace == marketplace
            )
            .exists(),
        )
    ).first()
    if row is None:
        return None
    return Summary(date.fromisoformat(row[0]), orjson.loads(row[1]))


def write_summary(
    session: Session,
    key: StoreKey,
    day: date,
    totals: Mapping[str, Sequence[int]],
    now: datetime,
    until: datetime,
) -> None:
    dialect = session.get_bind().dialect.name
    bulk_insert(
        session,
        "health_store_summaries",
        ("seller_id", "marketplace", "day", "computed_at", "valid_until", "totals"),
        [
            (
                *key,
                day.isoformat(),
                raw_instant(now, dialect),
                raw_instant(until, dialect),
                orjson.dumps(totals),
            )
        ],
        conflict=("seller_id", "marketplace"),
        update=("day", "computed_at", "valid_until", "totals"),
    )


def summaries_wanted(session: Session, now: datetime) -> set[StoreKey]:
    """Built stores without a summary that holds at ``now``."""
    s, st = HealthStoreSummary, HealthRollupState
    holding = select(s.seller_id, s.marketplace).where(s.computed_at <= now, s.valid_until >= now)
    fresh = set(session.execute(holding).all())
    return {(r[0], r[1]) for r in session.execute(select(st.seller_id, st.marketplace))} - {
        (r[0], r[1]) for r in fresh
    }


def drop_summaries(session: Session, keys: Collection[StoreKey]) -> None:
    s = HealthStoreSummary
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        session.execute(
            delete(s).where(tuple_(s.seller_id, s.marketplace).in_(ordered[start : start + 500]))
        )


def write_points(
    session: Session, key: StoreKey, through: date, fingerprint: str, points: bytes
) -> None:
    """The store page's past days, beside the store's summary (written just before)."""
    s = HealthStoreSummary
    session.execute(
        update(s)
        .where(s.seller_id == key[0], s.marketplace == key[1])
        .values(history_through=through.isoformat(), history_key=fingerprint, history=points)
    )


def points(
    session: Session, seller_id: str, marketplace: str, through: date, fingerprint: str
) -> list[Any] | None:
    """The kept past days if they were computed up to ``through`` with the same violations and
    settings, and no dirty mark waits."""
    s = HealthStoreSummary
    row = session.execute(
        select(s.history).where(
            s.seller_id == seller_id,
            s.marketplace == marketplace,
            s.history_through == through.isoformat(),
            s.history_key == fingerprint,
            ~select(HealthDirtyMark.id)
            .where(
                HealthDirtyMark.seller_id == seller_id, HealthDirtyMark.marketplace == marketplace
            )
            .exists(),
        )
    ).first()
    if row is None or row[0] is None:
        return None
    found: list[Any] = orjson.loads(row[0])
    return found
