"""SQL of the event log. Lookups are batched so imports issue one query per chunk, not per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import Row, select, text
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant, read_instant
from tsunagu.events.models import Event
from tsunagu.events.rules import Candidate
from tsunagu.orders.rules import StoredEvent

IN_BATCH = 900  # stays below every backend's bound-parameter limit


def batched(items: Sequence[str], size: int = IN_BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_list(session: Session, count: int) -> str:
    mark = "?" if session.get_bind().dialect.name == "sqlite" else "%s"
    return ", ".join([mark] * count)


def existing_hashes(session: Session, seller_id: str, event_ids: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    conn = session.connection()
    for part in batched(list(event_ids)):
        sql = "SELECT event_id, body_hash FROM events WHERE seller_id = {p} AND event_id IN ({ids})"
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        rows = conn.exec_driver_sql(
            sql.format(p=mark, ids=_in_list(session, len(part))), (seller_id, *part)
        )
        found.update(rows.all())  # all at once: iterating fetches row by row
    return found


def existing_orders(
    session: Session, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    for part in batched(list(order_ids)):
        rows = conn.exec_driver_sql(
            f"SELECT order_id FROM orders WHERE seller_id = {mark} AND marketplace = {mark} "
            f"AND order_id IN ({_in_list(session, len(part))})",
            (seller_id, marketplace, *part),
        )
        found.update(rows.scalars().all())
    return found


def orders_with_events(
    session: Session, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> set[str]:
    """The given orders that some stored event names (placed or waiting for its order)."""
    found: set[str] = set()
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    for part in batched(list(order_ids)):
        rows = conn.exec_driver_sql(
            f"SELECT DISTINCT order_id FROM events WHERE seller_id = {mark} "
            f"AND marketplace = {mark} AND order_id IN ({_in_list(session, len(part))})",
            (seller_id, marketplace, *part),
        )
        found.update(rows.scalars().all())
    return found


def prior_events(
    session: Session, seller_id: str, marketplace: str, column: str, keys: Sequence[str]
) -> dict[str, list[StoredEvent]]:
    """All stored events of the given orders (``column='order_id'``) or messages/violations."""
    assert column in ("order_id", "ref_id")
    result: dict[str, list[StoredEvent]] = {}
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    for part in batched(list(keys)):
        rows = conn.exec_driver_sql(
            f"SELECT {column}, type, at, event_id, body FROM events "
            f"WHERE seller_id = {mark} AND marketplace = {mark} "
            f"AND {column} IN ({_in_list(session, len(part))})",
            (seller_id, marketplace, *part),
        )
        for key, type_, at, event_id, body in rows.all():
            at_value = read_instant(at)
            assert at_value is not None
            result.setdefault(key, []).append(
                StoredEvent(type_, at_value, event_id, orjson.loads(body))
            )
    return result


def ref_id(candidate: Candidate, body: Mapping[str, object]) -> str | None:
    if candidate.type.startswith("message_"):
        value = body.get("message_id")
    elif candidate.type.startswith("violation_"):
        value = body.get("violation_id")
    else:
        return None
    return value if isinstance(value, str) else None


EVENT_COLUMNS = (
    "seller_id",
    "event_id",
    "type",
    "marketplace",
    "order_id",
    "ref_id",
    "at",
    "body",
    "body_hash",
    "source",
    "received_at",
)


def insert_events(
    session: Session,
    rows: Iterable[tuple[Candidate, str | None]],
    *,
    source: str,
    received_at: datetime,
) -> int:
    """Insert the events; the number written (an ``event_id`` already stored is left alone)."""
    dialect = session.get_bind().dialect.name
    received = raw_instant(received_at, dialect)
    values = [
        (
            c.seller_id,
            c.event_id,
            c.type,
            c.marketplace,
            c.order_id,
            ref,
            raw_instant(c.at, dialect),
            c.body,
            c.body_hash,
            source,
            received,
        )
        for c, ref in rows
    ]
    # in chunk order, one statement: ``seq`` follows the order the events were given in
    return bulk_insert(session, "events", EVENT_COLUMNS, values, conflict=("seller_id", "event_id"))


def lock_sellers(session: Session, seller_ids: Sequence[str]) -> None:
    """Take the event-writing lock of each seller until the transaction ends.

    An ``event_id`` is unique per seller, so writers of one seller's events queue here: what a
    chunk finds stored after this is exactly what other imports committed, and its projection
    folds every event of an order. PostgreSQL locks the seller rows (in id order, so two writers
    never wait on each other crosswise; ``NO KEY UPDATE`` leaves foreign-key checks of other
    tables free); SQLite's ``BEGIN IMMEDIATE`` already serialises all writers.
    """
    conn = session.connection()
    if conn.dialect.name == "sqlite" or not seller_ids:
        return
    conn.exec_driver_sql(
        "SELECT id FROM sellers WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
        (sorted(seller_ids),),
    ).all()


def count_events(session: Session, seller_id: str | None = None) -> int:
    stmt = select(text("count(*)")).select_from(Event)
    if seller_id is not None:
        stmt = stmt.where(Event.seller_id == seller_id)
    return int(session.execute(stmt).scalar_one())


def earlier_events(
    session: Session,
    seller_id: str,
    marketplace: str,
    placed: Mapping[str, int],
    types: Sequence[str],
) -> dict[str, list[Row[int, str, str, str | None, str, str, datetime]]]:
    """For each order in ``placed`` (order id → seq of its ``order_placed``), its events of
    ``types`` stored before that seq, in seq order, as ``(seq, event_id, type, order_id, body,
    source, at)``: what a cursor-driven sync (settlement, points) read while the order was still
    unknown, and must now replay (ADR 0030). One query per batch of orders."""
    result: dict[str, list[Row[int, str, str, str | None, str, str, datetime]]] = {}
    if not placed or not types:
        return result
    for part in batched(sorted(placed)):
        rows = session.execute(
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
                Event.order_id.in_(part),
                Event.type.in_(types),
                Event.seq < max(placed[o] for o in part),
            )
            .order_by(Event.seq)
        ).all()
        for row in rows:
            order_id = row[3]
            if order_id is not None and row[0] < placed[order_id]:
                result.setdefault(order_id, []).append(row)
    return result


def waiting_for_order(session: Session, seller_id: str, marketplace: str) -> int:
    """How many of the store's events name an order tsunagu has not seen yet (ADR 0030)."""
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    row = conn.exec_driver_sql(
        f"SELECT COUNT(*) FROM events e WHERE e.seller_id = {mark} AND e.marketplace = {mark} "
        "AND e.order_id IS NOT NULL AND e.type <> 'order_placed' AND NOT EXISTS ("
        "SELECT 1 FROM orders o WHERE o.seller_id = e.seller_id "
        "AND o.marketplace = e.marketplace AND o.order_id = e.order_id)",
        (seller_id, marketplace),
    ).scalar_one()
    return int(row)
