"""All SQL of the settlement slice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsunagu.events.models import Event
from tsunagu.orders.models import Order, OrderItem
from tsunagu.sellers.models import Store
from tsunagu.settlement.models import (
    SettlementCursor,
    SettlementEntry,
    SettlementHold,
    SettlementReport,
)


def insert_entry(session: Session, values: dict[str, Any]) -> bool:
    """Insert one entry unless its key exists for the store; True when it was inserted."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(SettlementEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["seller_id", "marketplace", "key"])
        .returning(SettlementEntry.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def existing_keys(
    session: Session, seller_id: str, marketplace: str, keys: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        batch = list(keys[start : start + 500])
        found.update(
            session.scalars(
                select(SettlementEntry.key).where(
                    SettlementEntry.seller_id == seller_id,
                    SettlementEntry.marketplace == marketplace,
                    SettlementEntry.key.in_(batch),
                )
            )
        )
    return found


def balance(session: Session, seller_id: str, marketplace: str) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(SettlementEntry.amount), 0)).where(
            SettlementEntry.seller_id == seller_id, SettlementEntry.marketplace == marketplace
        )
    )
    return int(total or 0)


def first_entry_at(session: Session, seller_id: str, marketplace: str) -> datetime | None:
    return session.scalar(
        select(func.min(SettlementEntry.posted_at)).where(
            SettlementEntry.seller_id == seller_id, SettlementEntry.marketplace == marketplace
        )
    )


def last_disbursement(session: Session, seller_id: str, marketplace: str) -> SettlementEntry | None:
    return session.scalars(
        select(SettlementEntry)
        .where(
            SettlementEntry.seller_id == seller_id,
            SettlementEntry.marketplace == marketplace,
            SettlementEntry.kind == "disbursement",
        )
        .order_by(SettlementEntry.id.desc())
        .limit(1)
    ).first()


def list_entries(
    session: Session, seller_id: str, marketplace: str, *, before_id: int | None, limit: int
) -> list[SettlementEntry]:
    """Newest first."""
    stmt = select(SettlementEntry).where(
        SettlementEntry.seller_id == seller_id, SettlementEntry.marketplace == marketplace
    )
    if before_id is not None:
        stmt = stmt.where(SettlementEntry.id < before_id)
    return list(session.scalars(stmt.order_by(SettlementEntry.id.desc()).limit(limit)))


def order_sums(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> dict[tuple[str, str], int]:
    """The order's entries summed by (kind, source)."""
    rows = session.execute(
        select(SettlementEntry.kind, SettlementEntry.source, func.sum(SettlementEntry.amount))
        .where(
            SettlementEntry.seller_id == seller_id,
            SettlementEntry.marketplace == marketplace,
            SettlementEntry.order_id == order_id,
        )
        .group_by(SettlementEntry.kind, SettlementEntry.source)
    ).all()
    return {(kind, source): int(total) for kind, source, total in rows}


def order_entries(
    session: Session, seller_id: str, marketplace: str, order_ids: Iterable[str], source: str
) -> dict[str, list[SettlementEntry]]:
    ids = sorted(set(order_ids))
    found: dict[str, list[SettlementEntry]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for entry in session.scalars(
            select(SettlementEntry)
            .where(
                SettlementEntry.seller_id == seller_id,
                SettlementEntry.marketplace == marketplace,
                SettlementEntry.source == source,
                SettlementEntry.order_id.in_(ids[start : start + 500]),
            )
            .order_by(SettlementEntry.id)
        ):
            assert entry.order_id is not None
            found[entry.order_id].append(entry)
    return found


# -- the event sync ---------------------------------------------------------------------------


def lock_cursor(
    session: Session, seller_id: str, marketplace: str, now: datetime
) -> SettlementCursor:
    """The store's cursor, created at 0 when missing, locked until the transaction ends
    (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers already)."""
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    session.execute(
        module.insert(SettlementCursor)
        .values(seller_id=seller_id, marketplace=marketplace, last_seq=0, synced_at=now)
        .on_conflict_do_nothing(index_elements=["seller_id", "marketplace"])
    )
    stmt = select(SettlementCursor).where(
        SettlementCursor.seller_id == seller_id, SettlementCursor.marketplace == marketplace
    )
    if dialect == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


#: the events that carry money; the sync also reads ``order_placed`` to post what an order's
#: earlier events carried while they waited for it (ADR 0030)
MONEY_TYPES = ("order_shipped", "refund_issued", "claim_decided", "chargeback_decided")
_SYNCED_TYPES = ("order_placed", *MONEY_TYPES)


def events_after(
    session: Session, seller_id: str, marketplace: str, seq: int, limit: int
) -> Sequence[Row[int, str, str, str | None, str, str, datetime]]:
    """The store's events after ``seq`` of the types the sync reads, in order."""
    return session.execute(
        select(
            Event.seq,
            Event.event_id,
            Event.type,
            Event.order_id,
            Event.body,
            Event.source,
            Event.at,
        )
        .where(
            Event.seller_id == seller_id,
            Event.marketplace == marketplace,
            Event.seq > seq,
            Event.type.in_(_SYNCED_TYPES),
        )
        .order_by(Event.seq)
        .limit(limit)
    ).all()


def order_of(session: Session, seller_id: str, marketplace: str, order_id: str) -> Order | None:
    return session.get(Order, (seller_id, marketplace, order_id))


def order_lines(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> list[OrderItem]:
    return list(
        session.scalars(
            select(OrderItem)
            .where(
                OrderItem.seller_id == seller_id,
                OrderItem.marketplace == marketplace,
                OrderItem.order_id == order_id,
            )
            .order_by(OrderItem.line_no)
        )
    )


def stores(session: Session) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Store.seller_id, Store.marketplace).order_by(Store.seller_id, Store.marketplace)
    ).all()
    return [(s, m) for s, m in rows]


# -- holds and reports --------------------------------------------------------------------------


def hold_by_ref(
    session: Session, seller_id: str, marketplace: str, ref: str
) -> SettlementHold | None:
    return session.scalars(
        select(SettlementHold).where(
            SettlementHold.seller_id == seller_id,
            SettlementHold.marketplace == marketplace,
            SettlementHold.ref == ref,
        )
    ).first()


def open_holds(session: Session, seller_id: str, marketplace: str) -> list[SettlementHold]:
    return list(
        session.scalars(
            select(SettlementHold)
            .where(
                SettlementHold.seller_id == seller_id,
                SettlementHold.marketplace == marketplace,
                SettlementHold.released_at.is_(None),
            )
            .order_by(SettlementHold.held_at, SettlementHold.id)
        )
    )


def latest_hold(session: Session, seller_id: str, marketplace: str) -> SettlementHold | None:
    return session.scalars(
        select(SettlementHold)
        .where(SettlementHold.seller_id == seller_id, SettlementHold.marketplace == marketplace)
        .order_by(SettlementHold.held_at.desc(), SettlementHold.id.desc())
        .limit(1)
    ).first()


def report_by_settlement(
    session: Session, seller_id: str, marketplace: str, settlement_id: str
) -> SettlementReport | None:
    return session.scalars(
        select(SettlementReport).where(
            SettlementReport.seller_id == seller_id,
            SettlementReport.marketplace == marketplace,
            SettlementReport.settlement_id == settlement_id,
        )
    ).first()


def list_reports(session: Session, seller_id: str, marketplace: str) -> list[SettlementReport]:
    return list(
        session.scalars(
            select(SettlementReport)
            .where(
                SettlementReport.seller_id == seller_id,
                SettlementReport.marketplace == marketplace,
            )
            .order_by(SettlementReport.period_end.desc(), SettlementReport.id)
        )
    )
