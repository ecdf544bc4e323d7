"""Jobs of the orders slice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily, register
from tsunagu.orders.models import Order

#: Days before the job's day that are recounted too: events about orders arrive late.
LOOKBACK_DAYS = 3


def daily_rollup(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Count orders, cancellations and shipments per store per local purchase day.

    Covers the job's day and the ``LOOKBACK_DAYS`` before it, in each marketplace's own time zone,
    so a later health evaluation can read 180 days as 180 rows. Re-running rewrites the same rows.
    """
    as_of = context.as_of
    day = date.fromisoformat(job.key)
    first = day - timedelta(days=LOOKBACK_DAYS)
    zones = {m.code: m.tz for m in context.registry.marketplaces}
    start = datetime.combine(first - timedelta(days=1), time(0), tzinfo=as_of.tzinfo)
    end = datetime.combine(day + timedelta(days=2), time(0), tzinfo=as_of.tzinfo)
    rows = session.execute(
        select(Order.seller_id, Order.marketplace, Order.purchased_at, Order.status).where(
            Order.purchased_at >= start, Order.purchased_at < end
        )
    )
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for seller_id, marketplace, purchased_at, status in rows:
        zone = zones.get(marketplace, UTC)  # a marketplace since removed from the config
        local = purchased_at.astimezone(zone).date()
        if not first <= local <= day:
            continue
        counts[(seller_id, marketplace, local.isoformat(), "orders")] += 1
        if status == "cancelled":
            counts[(seller_id, marketplace, local.isoformat(), "cancelled")] += 1
        if status in ("shipped", "delivered"):
            counts[(seller_id, marketplace, local.isoformat(), "shipped")] += 1
    stores = {key[:3] for key in counts}
    dialect = session.get_bind().dialect.name
    bulk_insert(
        session,
        "daily_order_rollups",
        ("seller_id", "marketplace", "day", "orders", "cancelled", "shipped", "computed_at"),
        [
            (
                s,
                m,
                d,
                counts[(s, m, d, "orders")],
                counts[(s, m, d, "cancelled")],
                counts[(s, m, d, "shipped")],
                raw_instant(as_of, dialect),
            )
            for s, m, d in sorted(stores)
        ],
        conflict=("seller_id", "marketplace", "day"),
        update=("orders", "cancelled", "shipped", "computed_at"),
    )
    return {"days": [first.isoformat(), day.isoformat()], "rows": len(stores)}


DAILY_ROLLUP = register(
    JobKind(
        name="orders.daily_rollup",
        handler=daily_rollup,
        description="Orders, cancellations and shipments per store per local day.",
        period=daily(timedelta(hours=1)),
    )
)
