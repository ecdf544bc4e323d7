"""Storage of the daily health tallies: rows per store and day, dirty marks, targeted reads.

Never commits. Days are local ISO dates; dirty marks are UTC dates (the event writer does not
know the store's time zone), so a mark for UTC day ``u`` makes local days ``u−1 … u+1`` dirty.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from tsunagu.core.db import bulk_insert
from tsunagu.health.metrics import ReturnFacts, start_of_day
from tsunagu.health.models import HealthDirtyDay, HealthRollup, HealthRollupState
from tsunagu.health.repo import StoreFacts, message_facts, order_facts, order_rows, surveys_of
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
    days = sorted({i.astimezone(UTC).date().isoformat() for i in instants if i is not None})
    if days:
        bulk_insert(
            session,
            "health_dirty_days",
            ("seller_id", "marketplace", "utc_day"),
            [(seller_id, marketplace, d) for d in days],
        )


@dataclass(frozen=True)
class DirtyMarks:
    ids: tuple[int, ...]
    days: frozenset[date]  # local days, each UTC day widened by one on both sides


def dirty_marks(session: Session, seller_id: str, marketplace: str) -> DirtyMarks:
    rows = session.execute(
        select(HealthDirtyDay.id, HealthDirtyDay.utc_day).where(
            HealthDirtyDay.seller_id == seller_id, HealthDirtyDay.marketplace == marketplace
        )
    ).all()
    days: set[date] = set()
    for _, utc_day in rows:
        u = date.fromisoformat(utc_day)
        days |= {u - DAY, u, u + DAY}
    return DirtyMarks(tuple(r[0] for r in rows), frozenset(days))


def clear_marks(session: Session, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 500):
        session.execute(
            delete(HealthDirtyDay).where(HealthDirtyDay.id.in_(ids[start : start + 500]))
        )


def dirty_stores(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(HealthDirtyDay.seller_id, HealthDirtyDay.marketplace).distinct()
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
    session: Session, seller_id: str, marketplace: str, first: date
) -> dict[date, StoredDay]:
    rows = session.execute(
        select(
            HealthRollup.day,
            HealthRollup.tallies,
            HealthRollup.computed_at,
            HealthRollup.valid_until,
        ).where(
            HealthRollup.seller_id == seller_id,
            HealthRollup.marketplace == marketplace,
            HealthRollup.day >= first.isoformat(),
        )
    ).all()
    return {
        date.fromisoformat(day): StoredDay(
            {k: tuple(v) for k, v in orjson.loads(blob).items()}, computed, until
        )
        for day, blob, computed, until in rows
    }


def write_days(
    session: Session,
    seller_id: str,
    marketplace: str,
    days: dict[date, tuple[Tallies, datetime | None]],
    now: datetime,
) -> None:
    """Replace the rows of ``days``; a day with no tallies and nothing awaited has no row."""
    keys = [d.isoformat() for d in days]
    for start in range(0, len(keys), 500):
        session.execute(
            delete(HealthRollup).where(
                HealthRollup.seller_id == seller_id,
                HealthRollup.marketplace == marketplace,
                HealthRollup.day.in_(keys[start : start + 500]),
            )
        )
    rows = [
        HealthRollup(
            seller_id=seller_id,
            marketplace=marketplace,
            day=d.isoformat(),
            tallies=orjson.dumps(tallies),
            computed_at=now,
            valid_until=until,
        )
        for d, (tallies, until) in sorted(days.items())
        if tallies or until is not None
    ]
    session.add_all(rows)
    session.flush()


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
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    ranges: Sequence[tuple[datetime, datetime]],
) -> ColumnElement[bool]:
    return or_(*(and_(column >= lo, column < hi) for lo, hi in ranges))


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
    order_filter: list[ColumnElement[bool]] = [
        Order.seller_id == seller_id,
        Order.marketplace == marketplace,
        Order.purchased_at >= floor,
    ]
    message_filter: list[ColumnElement[bool]] = [
        Message.seller_id == seller_id,
        Message.marketplace == marketplace,
        Message.received_at.is_not(None),
    ]
    return_filter: list[ColumnElement[bool]] = [OrderCase.opened_at.is_not(None)]
    if days is not None:
        if not days:
            return StoreFacts((), (), (), (), ())
        ranges = _ranges(days, zone)
        order_filter.append(
            or_(
                _within(Order.purchased_at, ranges),
                _within(Order.latest_delivery_date, ranges),
                _within(Order.shipped_at, ranges),
                _within(Order.cs_answered_at, ranges),
            )
        )
        message_filter.append(_within(Message.received_at, ranges))
        return_filter.append(_within(OrderCase.opened_at, ranges))
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
    returns = tuple(
        ReturnFacts(
            return_id=c.case_id,
            order_id=c.order_id,
            requested_at=c.opened_at,
            resolved_at=c.decided_at,
            outcome=c.outcome,
            buyer_satisfied=c.buyer_satisfied,
        )
        for c in cases
        if c.opened_at is not None
    )
    return StoreFacts(orders, messages, returns, surveys_of(rows), ())
