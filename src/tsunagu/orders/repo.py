"""Writes and reads of the order projection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, placeholders, raw_instant, sparse_insert
from tsunagu.events.repo import batched
from tsunagu.orders.models import Message, Order, OrderCase, OrderItem
from tsunagu.orders.rules import MessageState, OrderState

ORDER_COLUMNS = (
    "seller_id",
    "marketplace",
    "order_id",
    "channel",
    "status",
    "purchased_at",
    "latest_ship_date",
    "latest_delivery_date",
    "currency",
    "items_total",
    "tax_total",
    "points",
    "is_business",
    "ship_service",
    "shipped_at",
    "ship_time_known",
    "carrier",
    "tracking_id",
    "first_scan_at",
    "delivered_at",
    "cancelled_at",
    "cancelled_by",
    "cancel_reason",
    "feedback_rating",
    "feedback_at",
    "feedback_removed",
    "refunded_total",
    "refund_count",
    "invoice_uploaded_at",
    "cs_satisfied",
    "cs_answered_at",
    "claim_count",
    "chargeback_count",
    "return_count",
    "event_count",
    "last_event_at",
)
_KEY = ("seller_id", "marketplace", "order_id")
#: the columns a new order mostly leaves NULL, not bound when they are (``sparse_insert``)
_ORDER_NULLABLE = tuple(c.name for c in Order.__table__.columns if c.nullable)


def _order_row(seller_id: str, marketplace: str, s: OrderState, d: str) -> tuple[object, ...]:
    t = _instant_writer(d)
    flag = _flag_writer(d)
    kinds = [case.kind for case in s.cases.values()]
    return (
        seller_id,
        marketplace,
        s.order_id,
        s.channel,
        s.status,
        t(s.purchased_at),
        t(s.latest_ship_date),
        t(s.latest_delivery_date),
        s.currency,
        s.items_total,
        s.tax_total,
        s.points,
        flag(s.is_business),
        s.ship_service,
        t(s.shipped_at),
        flag(s.ship_time_known),
        s.carrier,
        s.tracking_id,
        t(s.first_scan_at),
        t(s.delivered_at),
        t(s.cancelled_at),
        s.cancelled_by,
        s.cancel_reason,
        s.feedback_rating,
        t(s.feedback_at),
        flag(s.feedback_removed),
        s.refunded_total,
        s.refund_count,
        t(s.invoice_uploaded_at),
        flag(s.cs_satisfied),
        t(s.cs_answered_at),
        kinds.count("claim") if kinds else 0,
        kinds.count("chargeback") if kinds else 0,
        kinds.count("return") if kinds else 0,
        s.event_count,
        t(s.last_event_at),
    )


def _instant_writer(dialect: str) -> Callable[[datetime | None], object]:
    """The hot path of projection writes: one function call per instant, nothing more."""
    if dialect != "sqlite":
        return _same

    def sqlite_text(value: datetime | None) -> object:
        return None if value is None else raw_instant(value, "sqlite")

    return sqlite_text


def _flag_writer(dialect: str) -> Callable[[bool | None], object]:
    """Booleans as 0 and 1 on SQLite: its driver binds a ``bool`` (like ``None``) about twenty
    times slower than an ``int``, and stores the same number."""
    return _same if dialect != "sqlite" else _sqlite_flag


def _same(value: object) -> object:
    return value


def _sqlite_flag(value: bool | None) -> object:
    return None if value is None else int(value)


def _delete_children(
    session: Session, table: str, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> None:
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    for part in batched(list(order_ids)):
        conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE seller_id = {mark} AND marketplace = {mark} "
            f"AND order_id IN ({placeholders(conn.dialect.name, len(part))})",
            (seller_id, marketplace, *part),
        )


_ITEM_COLUMNS = (
    "seller_id",
    "marketplace",
    "order_id",
    "line_no",
    "sku",
    "quantity",
    "price",
    "tax",
    "category",
)
_CASE_COLUMNS = (
    "seller_id",
    "marketplace",
    "kind",
    "case_id",
    "order_id",
    "reason",
    "opened_at",
    "outcome",
    "decided_at",
    "buyer_satisfied",
)


def write_orders(
    session: Session,
    seller_id: str,
    marketplace: str,
    states: Sequence[OrderState],
    *,
    replace: Sequence[str],
) -> None:
    """Upsert order rows; child rows of orders in ``replace`` (seen before) are rewritten."""
    d = session.get_bind().dialect.name
    placed = [s for s in states if s.placed]
    if replace:
        _delete_children(session, "order_items", seller_id, marketplace, replace)
        _delete_children(session, "order_cases", seller_id, marketplace, replace)
    sparse_insert(
        session,
        "orders",
        ORDER_COLUMNS,
        [_order_row(seller_id, marketplace, s, d) for s in placed],
        nullable=_ORDER_NULLABLE,
        conflict=_KEY,
        update=ORDER_COLUMNS[3:],
    )
    sparse_insert(
        session,
        "order_items",
        _ITEM_COLUMNS,
        _item_rows(seller_id, marketplace, placed),
        nullable=("tax", "category"),
    )
    bulk_insert(
        session, "order_cases", _CASE_COLUMNS, _case_rows(seller_id, marketplace, placed, d)
    )


def _item_rows(
    seller_id: str, marketplace: str, placed: Sequence[OrderState]
) -> list[tuple[object, ...]]:
    return [
        (
            seller_id,
            marketplace,
            s.order_id,
            n,
            it["sku"],
            it["quantity"],
            it["price"],
            it.get("tax"),
            it.get("category"),
        )
        for s in placed
        for n, it in enumerate(s.items, start=1)
    ]


def _case_rows(
    seller_id: str, marketplace: str, placed: Sequence[OrderState], d: str
) -> list[tuple[object, ...]]:
    return [
        (
            seller_id,
            marketplace,
            c.kind,
            c.case_id,
            s.order_id,
            c.reason,
            raw_instant(c.opened_at, d),
            c.outcome,
            raw_instant(c.decided_at, d),
            c.buyer_satisfied,
        )
        for s in placed
        for c in s.cases.values()
    ]


def write_messages(
    session: Session, seller_id: str, marketplace: str, states: Sequence[MessageState]
) -> None:
    d = session.get_bind().dialect.name
    cols = (
        "seller_id",
        "marketplace",
        "message_id",
        "order_id",
        "customer_id",
        "language",
        "received_at",
        "answered_at",
        "no_response_needed_at",
    )
    bulk_insert(
        session,
        "messages",
        cols,
        [
            (
                seller_id,
                marketplace,
                m.message_id,
                m.order_id,
                m.customer_id,
                m.language,
                raw_instant(m.received_at, d),
                raw_instant(m.answered_at, d),
                raw_instant(m.no_response_needed_at, d),
            )
            for m in states
        ],
        conflict=cols[:3],
        update=cols[3:],
    )


def get_order(session: Session, seller_id: str, marketplace: str, order_id: str) -> Order | None:
    return session.get(Order, (seller_id, marketplace, order_id))


def list_orders(
    session: Session,
    seller_id: str,
    *,
    marketplace: str | None,
    statuses: Sequence[str],
    after: tuple[datetime, str, str] | None,
    limit: int,
) -> list[Order]:
    """Newest first; the cursor is the (purchased_at, marketplace, order_id) of the last row."""
    stmt = select(Order).where(Order.seller_id == seller_id)
    if marketplace:
        stmt = stmt.where(Order.marketplace == marketplace)
    if statuses:
        stmt = stmt.where(Order.status.in_(statuses))
    if after is not None:
        at, mp, oid = after
        stmt = stmt.where(
            (Order.purchased_at < at)
            | ((Order.purchased_at == at) & (Order.marketplace < mp))
            | ((Order.purchased_at == at) & (Order.marketplace == mp) & (Order.order_id < oid))
        )
    stmt = stmt.order_by(
        Order.purchased_at.desc(), Order.marketplace.desc(), Order.order_id.desc()
    ).limit(limit)
    return list(session.execute(stmt).scalars())


def order_children(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> tuple[list[OrderItem], list[OrderCase], list[Message]]:
    """The order's item lines (by line number), its cases and its buyer messages."""
    items = session.execute(
        select(OrderItem)
        .where(
            OrderItem.seller_id == seller_id,
            OrderItem.marketplace == marketplace,
            OrderItem.order_id == order_id,
        )
        .order_by(OrderItem.line_no)
    ).scalars()
    cases = session.execute(
        select(OrderCase).where(
            OrderCase.seller_id == seller_id,
            OrderCase.marketplace == marketplace,
            OrderCase.order_id == order_id,
        )
    ).scalars()
    messages = session.execute(
        select(Message).where(
            Message.seller_id == seller_id,
            Message.marketplace == marketplace,
            Message.order_id == order_id,
        )
    ).scalars()
    return list(items), list(cases), list(messages)
