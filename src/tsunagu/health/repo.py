"""The health slice's SQL (the daily rollups have theirs in :mod:`rollup_repo`). Never commits.

Reads of the projection that the health engine needs, turned into the pure metric facts, one
store at a time: the orders placed from local day D−200 to the end of D (the longest window,
180 days, plus the lags), their claims, chargebacks and returns, the buyer messages of the last
40 days, the survey answers of those orders and every violation of the store. Then the stored
alerts and imported Amazon reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, func, or_, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from tsunagu.core.db import read_instant
from tsunagu.events.models import Event, ImportRun
from tsunagu.events.repo import batched
from tsunagu.health import rollups
from tsunagu.health.metrics import (
    CaseFacts,
    MessageFacts,
    OrderFacts,
    ReturnFacts,
    SurveyFacts,
    end_of_day,
    local_date,
    start_of_day,
)
from tsunagu.health.models import HealthAlert, HealthSnapshot
from tsunagu.health.rules import Severity, Violation
from tsunagu.orders.models import Message, Order, OrderCase
from tsunagu.sellers.models import Store
from tsunagu.violations.models import Violation as ViolationRow

#: How far back orders are read: 180 days of sales credit plus the metric lags, with room.
ORDER_DAYS = rollups.ORDER_DAYS
#: How far back messages are read (the contact-response window is 30 days).
MESSAGE_DAYS = 40
_SEVERITIES: frozenset[str] = frozenset({"low", "medium", "high", "critical"})
#: up to this many orders, their claims and chargebacks are looked up by order id
_CASE_LOOKUP_LIMIT = 2000


@dataclass(frozen=True)
class StoreFacts:
    orders: tuple[OrderFacts, ...]
    messages: tuple[MessageFacts, ...]
    returns: tuple[ReturnFacts, ...]
    surveys: tuple[SurveyFacts, ...]
    violations: tuple[Violation, ...]


def load_store_facts(
    session: Session,
    seller_id: str,
    marketplace: str,
    day: date,
    zone: ZoneInfo,
    *,
    since: date | None = None,
) -> StoreFacts:
    """The facts needed to evaluate ``day`` — or every day from ``since`` to ``day`` (history)."""
    first = day if since is None else min(since, day)
    end = end_of_day(day, zone)
    start = start_of_day(first - timedelta(days=ORDER_DAYS), zone)
    rows = order_rows(
        session,
        Order.seller_id == seller_id,
        Order.marketplace == marketplace,
        Order.purchased_at >= start,
        Order.purchased_at < end,
    )
    wanted = {o.order_id for o in rows}
    returns = return_facts(
        case
        for case in session.execute(
            select(OrderCase)
            .where(
                OrderCase.seller_id == seller_id,
                OrderCase.marketplace == marketplace,
                OrderCase.kind == "return",
            )
            .order_by(OrderCase.case_id)
        ).scalars()
        if case.order_id in wanted
    )
    message_start = start_of_day(first - timedelta(days=MESSAGE_DAYS), zone)
    messages = message_facts(
        session.execute(
            select(Message).where(
                Message.seller_id == seller_id,
                Message.marketplace == marketplace,
                Message.received_at >= message_start,
                Message.received_at < end,
            )
        ).scalars()
    )
    return StoreFacts(
        order_facts(session, seller_id, marketplace, rows),
        messages,
        returns,
        surveys_of(rows),
        load_violations(session, seller_id, marketplace, zone),
    )


class OrderRow(NamedTuple):
    """The columns of ``orders`` the metrics read, instants already aware UTC."""

    order_id: str
    channel: str
    purchased_at: datetime
    latest_ship_date: datetime | None
    latest_delivery_date: datetime | None
    shipped_at: datetime | None
    ship_time_known: bool | None
    tracking_id: str | None
    first_scan_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    is_business: bool
    invoice_uploaded_at: datetime | None
    feedback_rating: int | None
    feedback_removed: bool
    feedback_at: datetime | None
    cs_answered_at: datetime | None
    cs_satisfied: bool | None


class CaseRow(NamedTuple):
    kind: str
    case_id: str
    order_id: str
    outcome: str | None
    opened_at: datetime | None
    decided_at: datetime | None


_ORDER_COLUMNS = [getattr(Order, name) for name in OrderRow._fields]
#: a claim or chargeback as :class:`CaseRow` reads it
CASE_COLUMNS = (
    OrderCase.kind,
    OrderCase.case_id,
    OrderCase.order_id,
    OrderCase.outcome,
    OrderCase.opened_at,
    OrderCase.decided_at,
)
_INSTANTS = frozenset(
    i for i, name in enumerate(OrderRow._fields) if name.endswith(("_at", "_date"))
)
_BOOLEANS = frozenset(
    i for i, name in enumerate(OrderRow._fields) if name.startswith(("is_", "feedback_removed"))
)
_MAYBE_BOOLEANS = frozenset(
    i for i, name in enumerate(OrderRow._fields) if name in ("ship_time_known", "cs_satisfied")
)


#: the order columns whose local day selects an order in some metric
SELECTING = ("purchased_at", "latest_delivery_date", "shipped_at", "cs_answered_at")
_SELECTING = tuple(OrderRow._fields.index(name) for name in SELECTING)


def _order_row(values: Sequence[Any]) -> OrderRow:
    row = list(values)
    for i in _INSTANTS:
        row[i] = read_instant(row[i])
    for i in _BOOLEANS:
        row[i] = bool(row[i])
    for i in _MAYBE_BOOLEANS:
        if row[i] is not None:
            row[i] = bool(row[i])
    return OrderRow(*row)


def order_rows(session: Session, *where: ColumnElement[bool] | TextClause) -> list[OrderRow]:
    """Orders matching ``where``, read as plain values: the columns are fetched without
    SQLAlchemy's per-value type processing (the costly part of reading many orders) and the
    instants parsed once here, on SQLite from their stored text."""
    raw = [type_coerce(column, NullType()) for column in _ORDER_COLUMNS]
    return [_order_row(values) for values in session.execute(select(*raw).where(*where))]


def order_rows_by_store(
    session: Session,
    *where: ColumnElement[bool] | TextClause,
    keep: Callable[[tuple[str, str], Sequence[datetime | None]], bool] | None = None,
) -> dict[tuple[str, str], list[OrderRow]]:
    """:func:`order_rows` of several stores at once, by ``(seller, marketplace)``. ``keep``
    sees each row's store and :data:`SELECTING` instants first; a row it refuses is not read
    further."""
    raw = [type_coerce(column, NullType()) for column in _ORDER_COLUMNS]
    found: dict[tuple[str, str], list[OrderRow]] = defaultdict(list)
    for values in session.execute(select(Order.seller_id, Order.marketplace, *raw).where(*where)):
        key = (values[0], values[1])
        if keep is None or keep(key, [read_instant(values[2 + i]) for i in _SELECTING]):
            found[key].append(_order_row(values[2:]))
    return found


def order_facts(
    session: Session, seller_id: str, marketplace: str, rows: Sequence[OrderRow]
) -> tuple[OrderFacts, ...]:
    """The orders as metric facts, with their claims and chargebacks."""
    wanted = {o.order_id for o in rows}
    query = select(*CASE_COLUMNS).where(
        OrderCase.seller_id == seller_id,
        OrderCase.marketplace == marketplace,
        OrderCase.kind.in_(("claim", "chargeback")),
    )
    found: list[CaseRow] = []
    if len(wanted) <= _CASE_LOOKUP_LIMIT:
        ids = sorted(wanted)
        for part in range(0, len(ids), 500):
            part_query = query.where(OrderCase.order_id.in_(ids[part : part + 500]))
            found += [CaseRow(*r) for r in session.execute(part_query)]
    else:  # many orders: one pass over the store's cases beats many lookups
        found = [CaseRow(*r) for r in session.execute(query)]
    return orders_with_cases(rows, found)


def orders_with_cases(rows: Sequence[OrderRow], found: Iterable[CaseRow]) -> tuple[OrderFacts, ...]:
    """The order rows as metric facts, each with its claims and chargebacks among ``found``."""
    claims: dict[str, list[CaseFacts]] = defaultdict(list)
    chargebacks: dict[str, list[CaseFacts]] = defaultdict(list)
    wanted = {o.order_id for o in rows}
    for kind, case_id, order_id, outcome, opened_at, decided_at in sorted(
        found, key=lambda c: (c.kind, c.case_id, c.order_id)
    ):
        if order_id in wanted:
            facts = CaseFacts(case_id, outcome, opened_at, decided_at)
            (claims if kind == "claim" else chargebacks)[order_id].append(facts)
    no_cases: tuple[CaseFacts, ...] = ()
    return tuple(
        OrderFacts(
            o.order_id,
            o.channel,
            o.purchased_at,
            o.latest_ship_date,
            o.latest_delivery_date,
            o.shipped_at,
            o.ship_time_known,
            o.tracking_id,
            o.first_scan_at,
            o.delivered_at,
            o.cancelled_at,
            o.cancelled_by,
            o.is_business,
            o.invoice_uploaded_at,
            o.feedback_rating,
            o.feedback_removed,
            tuple(claims[o.order_id]) if o.order_id in claims else no_cases,
            tuple(chargebacks[o.order_id]) if o.order_id in chargebacks else no_cases,
            o.feedback_at,
        )
        for o in rows
    )


def surveys_of(rows: Iterable[OrderRow]) -> tuple[SurveyFacts, ...]:
    return tuple(
        SurveyFacts(o.order_id, o.cs_answered_at, o.cs_satisfied)
        for o in rows
        if o.cs_answered_at is not None and o.cs_satisfied is not None
    )


def return_facts(cases: Iterable[OrderCase]) -> tuple[ReturnFacts, ...]:
    """Return requests as metric facts; a request without its time cannot be placed."""
    return tuple(
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


def message_facts(rows: Iterable[Message]) -> tuple[MessageFacts, ...]:
    return tuple(
        MessageFacts(m.message_id, m.received_at, m.answered_at, m.no_response_needed_at)
        for m in rows
        if m.received_at is not None
    )


def load_violations(
    session: Session, seller_id: str, marketplace: str, zone: ZoneInfo
) -> tuple[Violation, ...]:
    return tuple(
        Violation(
            violation_id=v.violation_id,
            policy=v.policy or "unknown",
            severity=_severity(v.severity),
            opened_on=local_date(v.opened_at, zone),
            resolved_on=local_date(v.resolved_at, zone) if v.resolved_at is not None else None,
        )
        for v in session.execute(
            select(ViolationRow).where(
                ViolationRow.seller_id == seller_id, ViolationRow.marketplace == marketplace
            )
        ).scalars()
        if v.opened_at is not None and v.severity in _SEVERITIES
    )


def _severity(value: str | None) -> Severity:
    if value == "critical":
        return "critical"
    if value == "high":
        return "high"
    if value == "medium":
        return "medium"
    return "low"


def orders_of(
    session: Session, seller_id: str, marketplace: str, kind: str, ids: Sequence[str]
) -> dict[str, str | None]:
    """The order each message (``kind`` ``message``) or return (any other kind) id belongs to;
    ids not found are left out."""
    orders: dict[str, str | None] = {}
    for chunk in batched(list(ids)):
        if kind == "message":
            stmt = select(Message.message_id, Message.order_id).where(
                Message.seller_id == seller_id,
                Message.marketplace == marketplace,
                Message.message_id.in_(chunk),
            )
        else:
            stmt = select(OrderCase.case_id, OrderCase.order_id).where(
                OrderCase.seller_id == seller_id,
                OrderCase.marketplace == marketplace,
                OrderCase.kind == "return",
                OrderCase.case_id.in_(chunk),
            )
        orders.update(dict(session.execute(stmt).all()))
    return orders


def defect_reasons(
    session: Session, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """For a metric's drill-down: the cancellation reason of each of ``order_ids`` that has one,
    and the reason of each of their claims and chargebacks, by case id."""
    cancel: dict[str, str] = {}
    cases: dict[str, str] = {}
    for chunk in batched(list(order_ids)):
        cancel.update(
            (order_id, reason or "")
            for order_id, reason in session.execute(
                select(Order.order_id, Order.cancel_reason).where(
                    Order.seller_id == seller_id,
                    Order.marketplace == marketplace,
                    Order.order_id.in_(chunk),
                    Order.cancel_reason.is_not(None),
                )
            )
        )
        cases.update(
            (case_id, reason or "")
            for case_id, reason in session.execute(
                select(OrderCase.case_id, OrderCase.reason).where(
                    OrderCase.seller_id == seller_id,
                    OrderCase.marketplace == marketplace,
                    OrderCase.kind.in_(("claim", "chargeback")),
                    OrderCase.order_id.in_(chunk),
                    OrderCase.reason.is_not(None),
                )
            )
        )
    return cancel, cases


# --------------------------------------------------------------------------- alerts


def lock_store(session: Session, store_id: str) -> None:
    """Holds the store's row until the transaction ends (PostgreSQL; SQLite transactions
    already take the write lock), so one check of a store runs at a time."""
    session.execute(select(Store.id).where(Store.id == store_id).with_for_update())


def alerts_open_after(
    session: Session, seller_id: str, marketplace: str, day: str
) -> list[HealthAlert]:
    """The store's active alerts and those cleared after ``day``, oldest first."""
    return list(
        session.execute(
            select(HealthAlert)
            .where(
                HealthAlert.seller_id == seller_id,
                HealthAlert.marketplace == marketplace,
                or_(HealthAlert.cleared_on.is_(None), HealthAlert.cleared_on > day),
            )
            .order_by(HealthAlert.raised_on, HealthAlert.id)
        ).scalars()
    )


def alerts(
    session: Session,
    seller_id: str,
    *,
    marketplace: str | None = None,
    active_only: bool = False,
    after: tuple[str, str] | None = None,
    limit: int | None = None,
) -> list[HealthAlert]:
    """The seller's alerts, newest first, after the (raised_on, id) ``after``."""
    stmt = select(HealthAlert).where(HealthAlert.seller_id == seller_id)
    if marketplace is not None:
        stmt = stmt.where(HealthAlert.marketplace == marketplace)
    if active_only:
        stmt = stmt.where(HealthAlert.cleared_on.is_(None))
    if after is not None:
        day, alert_id = after
        stmt = stmt.where(
            or_(
                HealthAlert.raised_on < day,
                (HealthAlert.raised_on == day) & (HealthAlert.id < alert_id),
            )
        )
    stmt = stmt.order_by(HealthAlert.raised_on.desc(), HealthAlert.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars())


# --------------------------------------------------------------------------- snapshots


def snapshot_by_sha(
    session: Session, seller_id: str, marketplace: str, sha256: str
) -> HealthSnapshot | None:
    return session.scalars(
        select(HealthSnapshot).where(
            HealthSnapshot.seller_id == seller_id,
            HealthSnapshot.marketplace == marketplace,
            HealthSnapshot.file_sha256 == sha256,
        )
    ).first()


def latest_snapshot(
    session: Session, seller_id: str, marketplace: str, on_or_before: date | None = None
) -> HealthSnapshot | None:
    """The store's snapshot with the latest report date (on or before ``on_or_before``); of
    several for one date, the one imported last."""
    query = select(HealthSnapshot).where(
        HealthSnapshot.seller_id == seller_id, HealthSnapshot.marketplace == marketplace
    )
    if on_or_before is not None:
        query = query.where(HealthSnapshot.report_date <= on_or_before.isoformat())
    query = query.order_by(
        HealthSnapshot.report_date.desc(),
        HealthSnapshot.imported_at.desc(),
        HealthSnapshot.id.desc(),
    )
    return session.scalars(query.limit(1)).first()


# --------------------------------------------------------------------------- coverage (ADR 0033)


def latest_event_instants(
    session: Session, seller_id: str, marketplace: str, *, start: datetime, end: datetime
) -> list[tuple[str, str, datetime]]:
    """``(type, source, latest instant)`` of the store's events with their instant from
    ``start`` up to ``end``, one row per event type and source."""
    rows = session.execute(
        select(Event.type, Event.source, func.max(Event.at))
        .where(
            Event.seller_id == seller_id,
            Event.marketplace == marketplace,
            Event.at >= start,
            Event.at < end,
        )
        .group_by(Event.type, Event.source)
    ).all()
    found: list[tuple[str, str, datetime]] = []
    for event_type, source, at in rows:
        instant = read_instant(at)
        if instant is not None:
            found.append((event_type, source, instant))
    return found


def latest_finished_imports(
    session: Session, seller_id: str, marketplace: str, statuses: Sequence[str]
) -> list[tuple[str, datetime]]:
    """``(kind, latest finish)`` of the store's import runs that ended in one of ``statuses``."""
    rows = session.execute(
        select(ImportRun.kind, func.max(ImportRun.finished_at))
        .where(
            ImportRun.seller_id == seller_id,
            ImportRun.marketplace == marketplace,
            ImportRun.status.in_(list(statuses)),
            ImportRun.finished_at.is_not(None),
        )
        .group_by(ImportRun.kind)
    ).all()
    found: list[tuple[str, datetime]] = []
    for kind, finished in rows:
        instant = read_instant(finished)
        if instant is not None:
            found.append((kind, instant))
    return found
