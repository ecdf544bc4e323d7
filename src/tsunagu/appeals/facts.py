"""What a store's own records say about each issue of a deactivation: the facts a Plan-of-Action
draft is written from (:mod:`tsunagu.appeals.drafts`, ADR 0028).

Reads the projections (``orders``, ``order_items``, ``order_cases``, ``violations``) for the
evidence ids of each issue, as the health and enforcement slices do; writes nothing. The
queries are the appeals slice's reads of other slices' tables, kept here beside the code that
turns them into facts.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.appeals.drafts import CauseFacts, Facts, IssueFacts, Tally
from tsunagu.core.errors import NotFound
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    LOW_ACCOUNT_HEALTH,
    ORDER_DEFECT_RATE,
    POLICY_VIOLATION,
    RELATED_ACCOUNT,
    VALID_TRACKING_RATE,
    Issue,
)
from tsunagu.enforcement.service import Deactivation, get_deactivation
from tsunagu.events.repo import batched
from tsunagu.marketplaces.registry import Registry
from tsunagu.orders.models import Order, OrderCase, OrderItem
from tsunagu.violations.models import Violation

__all__ = ["CauseFacts", "Facts", "IssueFacts", "Tally", "gather"]

#: the most SKUs a draft names as where the orders concentrate
TOP_SKUS = 5
#: the most ids a draft quotes as examples
EXAMPLES = 3
#: feedback ratings that count as negative (Amazon: 1 and 2 stars)
NEGATIVE_FEEDBACK = 2
#: claim outcomes that do not count against the seller
_NOT_COUNTED = ("denied", "withdrawn", "overturned")


def gather(session: Session, *, deactivation: Deactivation, registry: Registry) -> Facts:
    """The facts of every issue of ``deactivation``, in its order."""
    market = registry.require(deactivation.marketplace)
    zone = market.tz
    facts = [
        _issue_facts(session, deactivation, issue, zone, registry) for issue in deactivation.issues
    ]
    return Facts(
        seller_id=deactivation.seller_id,
        marketplace=market.code,
        marketplace_name=market.name,
        day=deactivation.at.astimezone(zone).date(),
        issues=tuple(facts),
    )


def _issue_facts(
    session: Session, d: Deactivation, issue: Issue, zone: ZoneInfo, registry: Registry
) -> IssueFacts:
    value = None if issue.value is None else float(issue.value)
    target = None if issue.target is None else float(issue.target)
    base = IssueFacts(code=issue.code, value=value, target=target)
    if issue.code in (ORDER_DEFECT_RATE, CANCELLATION_RATE, LATE_SHIPMENT_RATE):
        return _order_issue(session, d, issue, zone, base)
    if issue.code == VALID_TRACKING_RATE:
        return _tracking_issue(session, d, issue, zone, base)
    if issue.code in (POLICY_VIOLATION, LOW_ACCOUNT_HEALTH):
        return _violation_issue(session, d, issue, zone, base)
    if issue.code == RELATED_ACCOUNT:
        return _related_issue(session, d, issue, registry, base)
    return base


# -- reads ----------------------------------------------------------------------------------


def _orders(session: Session, seller_id: str, market: str, ids: Sequence[str]) -> list[Order]:
    found: list[Order] = []
    for chunk in batched(sorted(set(ids)), 500):
        found.extend(
            session.scalars(
                select(Order).where(
                    Order.seller_id == seller_id,
                    Order.marketplace == market,
                    Order.order_id.in_(chunk),
                )
            )
        )
    return sorted(found, key=lambda o: o.order_id)


def _skus(session: Session, seller_id: str, market: str, ids: Sequence[str]) -> dict[str, set[str]]:
    by_order: dict[str, set[str]] = defaultdict(set)
    for chunk in batched(sorted(set(ids)), 500):
        rows = session.execute(
            select(OrderItem.order_id, OrderItem.sku).where(
                OrderItem.seller_id == seller_id,
                OrderItem.marketplace == market,
                OrderItem.order_id.in_(chunk),
            )
        )
        for order_id, sku in rows:
            by_order[order_id].add(sku)
    return by_order


def _cases(session: Session, seller_id: str, market: str, ids: Sequence[str]) -> list[OrderCase]:
    found: list[OrderCase] = []
    for chunk in batched(sorted(set(ids)), 500):
        found.extend(
            session.scalars(
                select(OrderCase).where(
                    OrderCase.seller_id == seller_id,
                    OrderCase.marketplace == market,
                    OrderCase.order_id.in_(chunk),
                )
            )
        )
    return found


def _window_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants of the first and after the last local day of a window."""
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(end + timedelta(days=1), time(), zone),
    )


def _count_orders(
    session: Session,
    seller_id: str,
    market: str,
    window: tuple[datetime, datetime],
    channels: Iterable[str],
    *,
    shipped: bool = False,
) -> int:
    column = Order.shipped_at if shipped else Order.purchased_at
    query = select(Order.order_id).where(
        Order.seller_id == seller_id,
        Order.marketplace == market,
        column >= window[0],
        column < window[1],
    )
    wanted = sorted(set(channels))
    if wanted:
        query = query.where(Order.channel.in_(wanted))
    return len(session.scalars(query).all())


# -- one issue -------------------------------------------------------------------------------


def _local(moment: datetime | None, zone: ZoneInfo) -> date | None:
    return None if moment is None else moment.astimezone(zone).date()


def _span(
    issue: Issue, moments: Iterable[datetime | None], zone: ZoneInfo
) -> tuple[date | None, date | None]:
    if issue.window is not None:
        return issue.window
    days = sorted(d for d in (_local(m, zone) for m in moments) if d is not None)
    return (days[0], days[-1]) if days else (None, None)


def concentration(
    skus_by_order: Mapping[str, set[str]], orders: Iterable[str]
) -> tuple[tuple[Tally, ...], int]:
    """The SKUs that two or more of ``orders`` concern (at most :data:`TOP_SKUS`, the most
    frequent first), and how many of the orders concern one of them."""
    ids = list(orders)
    counts = Counter(sku for o in ids for sku in skus_by_order.get(o, ()))
    top = sorted(((n, sku) for sku, n in counts.items() if n >= 2), key=lambda p: (-p[0], p[1]))
    chosen = tuple(Tally(sku, n) for n, sku in top[:TOP_SKUS])
    names = {t.name for t in chosen}
    covered = sum(1 for o in ids if skus_by_order.get(o, set()) & names)
    return chosen, covered


def _tallies(values: Iterable[str | None]) -> tuple[Tally, ...]:
    counts = Counter(v for v in values if v)
    return tuple(Tally(k, n) for k, n in sorted(counts.items(), key=lambda p: (-p[1], p[0])))


def _defect_causes(order: Order, cases: Sequence[OrderCase]) -> list[str]:
    causes = []
    if (
        order.feedback_rating is not None
        and order.feedback_rating <= NEGATIVE_FEEDBACK
        and not order.feedback_removed
    ):
        causes.append("negative_feedback")
    for case in cases:
        if case.kind == "claim" and case.outcome not in _NOT_COUNTED:
            causes.append(case.reason or "other")
        elif case.kind == "chargeback" and case.outcome != "seller_won":
            causes.append("chargeback")
    return sorted(set(causes))


def _undelivered(order: Order) -> bool:
    """Not delivered by the promised date (or no promised date and never delivered)."""
    if order.delivered_at is None:
        return True
    return (
        order.latest_delivery_date is not None and order.delivered_at > order.latest_delivery_date
    )


def _untracked(order: Order) -> bool:
    return not order.tracking_id


def _order_issue(
    session: Session, d: Deactivation, issue: Issue, zone: ZoneInfo, base: IssueFacts
) -> IssueFacts:
    orders = _orders(session, d.seller_id, d.marketplace, issue.evidence)
    if not orders:
        return base
    ids = [o.order_id for o in orders]
    skus = _skus(session, d.seller_id, d.marketplace, ids)
    by_cause: dict[str, list[Order]] = defaultdict(list)
    if issue.code == ORDER_DEFECT_RATE:
        cases: dict[str, list[OrderCase]] = defaultdict(list)
        for case in _cases(session, d.seller_id, d.marketplace, ids):
            cases[case.order_id].append(case)
        for order in orders:
            for cause in _defect_causes(order, cases[order.order_id]) or ["other"]:
                by_cause[cause].append(order)
    elif issue.code == CANCELLATION_RATE:
        for order in orders:
            by_cause[order.cancel_reason or "other"].append(order)
    causes = tuple(
        _cause_facts(cause, found, skus)
        for cause, found in sorted(by_cause.items(), key=lambda p: (-len(p[1]), p[0]))
    )
    shipped = issue.code == LATE_SHIPMENT_RATE
    start, end = _span(issue, (o.shipped_at if shipped else o.purchased_at for o in orders), zone)
    total = 0
    if start is not None and end is not None:
        total = _count_orders(
            session,
            d.seller_id,
            d.marketplace,
            _window_bounds(start, end, zone),
            (o.channel for o in orders),
            shipped=shipped,
        )
    top, covered = concentration(skus, ids)
    late_days = _median_delay(orders, zone) if shipped else None
    return replace(
        base,
        start=start,
        end=end,
        total=max(total, len(orders)),
        affected=len(orders),
        causes=causes,
        skus=top,
        sku_orders=covered,
        services=_tallies(o.ship_service for o in orders) if shipped else (),
        late_days=late_days,
        examples=tuple(ids[:EXAMPLES]),
    )


def _cause_facts(cause: str, orders: Sequence[Order], skus: Mapping[str, set[str]]) -> CauseFacts:
    top, covered = concentration(skus, (o.order_id for o in orders))
    undelivered = [o for o in orders if _undelivered(o)] if cause == "not_received" else []
    return CauseFacts(
        cause=cause,
        count=len(orders),
        skus=top,
        sku_orders=covered,
        undelivered=len(undelivered),
        undelivered_services=_tallies(o.ship_service for o in undelivered),
        untracked=sum(1 for o in orders if _untracked(o)) if cause == "not_received" else 0,
    )


def _median_delay(orders: Sequence[Order], zone: ZoneInfo) -> int | None:
    """The median number of local days between the ship-by date and the shipment."""
    delays = []
    for order in orders:
        if order.shipped_at is None or order.latest_ship_date is None:
            continue
        late = order.shipped_at - order.latest_ship_date
        delays.append(max(1, math.ceil(late.total_seconds() / 86400)))
    return math.ceil(statistics.median(delays)) if delays else None


def _tracking_issue(
    session: Session, d: Deactivation, issue: Issue, zone: ZoneInfo, base: IssueFacts
) -> IssueFacts:
    """The valid tracking rate names no orders (its ids are the well-tracked ones): the shipped
    MFN orders of its window without a tracking id or without a carrier scan are read instead."""
    if issue.window is None:
        return base
    start, end = issue.window
    lower, upper = _window_bounds(start, end, zone)
    shipped = list(
        session.scalars(
            select(Order)
            .where(
                Order.seller_id == d.seller_id,
                Order.marketplace == d.marketplace,
                Order.channel == "MFN",
                Order.shipped_at >= lower,
                Order.shipped_at < upper,
            )
            .order_by(Order.order_id)
        )
    )
    bad = [o for o in shipped if not o.tracking_id or o.first_scan_at is None]
    return replace(
        base,
        start=start,
        end=end,
        total=len(shipped),
        affected=len(bad),
        services=_tallies(o.ship_service or o.carrier for o in bad),
        examples=tuple(o.order_id for o in bad[:EXAMPLES]),
    )


def _violation_issue(
    session: Session, d: Deactivation, issue: Issue, zone: ZoneInfo, base: IssueFacts
) -> IssueFacts:
    query = select(Violation).where(
        Violation.seller_id == d.seller_id, Violation.marketplace == d.marketplace
    )
    if issue.evidence:
        query = query.where(Violation.violation_id.in_(sorted(set(issue.evidence))))
    rows = [
        v
        for v in session.scalars(query.order_by(Violation.violation_id))
        if issue.evidence
        or (
            (v.opened_at is None or v.opened_at <= d.at)
            and (v.resolved_at is None or v.resolved_at > d.at)
        )
    ]
    if not rows:
        return base
    start, end = _span(issue, (v.opened_at for v in rows), zone)
    policies = _tallies(v.policy or "otherPolicyViolations" for v in rows)
    return replace(
        base,
        start=start,
        end=end,
        affected=len(rows),
        causes=tuple(CauseFacts(t.name, t.count) for t in policies),
        asins=tuple(sorted({v.asin for v in rows if v.asin})),
    )


def _related_issue(
    session: Session, d: Deactivation, issue: Issue, registry: Registry, base: IssueFacts
) -> IssueFacts:
    related = issue.related or {}
    market = registry.get(related.get("marketplace", "")) if related.get("marketplace") else None
    codes: tuple[str, ...] = ()
    if d.origin_id is not None:
        try:
            origin = get_deactivation(session, d.origin_id)
        except NotFound:
            origin = None
        if origin is not None:
            codes = tuple(i.code for i in origin.issues if i.code != RELATED_ACCOUNT)
            if market is None:
                market = registry.get(origin.marketplace)
    return replace(
        base,
        related_marketplace=market.name if market is not None else None,
        related_issues=codes,
    )
