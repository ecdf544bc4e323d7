"""Account-health recompute speed, against a bare SQL reference over the same rows.

    python -m benchmarks.health [--sellers 1000] [--orders 1000000] [--seed 1] [--db PATH]
                                [--seconds 10] [--rate 200] [--json]

Builds (once; the database file is cached, keyed by the parameters and the migrations' text)
``--sellers`` sellers with a JP and a US store and ``--orders`` orders spread over the 205 days
before a fixed instant ``NOW``, with feedback, claims, chargebacks, cancellations, late shipments
and deliveries, written as seller events through tsunagu's own import pipeline
(``events.ingest``: event log and order projection). Then measures, in one run on that database:

* tsunagu: every store through ``health.service.store_health`` (:func:`tsunagu_full`); every
  store's daily rollups built from nothing, then today's health read from them (ADR 0011);
* incremental: 1,000 new events for recent orders of random stores, then 1,000 for one store (a
  seller's daily import), each stored through the import pipeline and absorbed by refreshing the
  touched stores' rollups (timed apart); the touched stores are then checked against the full
  path;
* reference: the same order-metric counts (ODR per channel, late shipment 10/30, pre-fulfilment
  cancel, valid tracking, on-time delivery, fulfilled orders) by one SQL statement with
  ``GROUP BY seller_id, marketplace`` on the SQLite file (``sqlite3``), and by DuckDB over the same
  rows handed to it as Arrow tables (the read-out of SQLite is timed on its own);
* an open-loop load of ``--rate`` requests/s for ``--seconds`` seconds on a local server,
  interleaving ``/healthz`` and ``/v1/sellers/{id}/health/{mp}``.

Every store's counts from tsunagu must equal the reference's: mismatches are printed and the exit
status is 1. Times are only reported. Targets (issue 13): today's health from the stored rollups
≤ 1.5× the bare SQLite query, rollups built from nothing ≤ 1× the full recompute (which is
reported); 1,000 events absorbed ≥ 100× faster than a full recompute; at 200 requests/s the health
route's p99 within 3× the p99 of ``/healthz``, no request failed. ``--json`` prints the results as
JSON (``python -m benchmarks`` reads it). Each run works on a copy of the cached database (new
events never change the cache), deleted at the end.

The local days of every window are turned into UTC bounds in Python, per marketplace
(``metrics.window_span``: Los Angeles has DST, so no fixed offset is right), and passed to the SQL
as parameters in the stored text form of instants, so the SQL compares instants only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from benchmarks.rss import own_peak_mb, peak_mb_of, reset_own_peak
from tsunagu.core.db import raw_instant
from tsunagu.health.config import health_of
from tsunagu.health.metrics import Window, cutoff, local_date, window_span
from tsunagu.marketplaces.registry import Marketplace, Registry, load_registry

#: The fixed evaluation instant: 05:00 on the 21st in Tokyo, 12:00 on the 20th in Los Angeles,
#: so the two marketplaces evaluate different local days, and the ODR window spans the end of DST.
NOW = datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
MARKETS = ("JP", "US")
SPAN_DAYS = 205
CURRENCY = {"JP": "JPY", "US": "USD"}
CLAIM_OUTCOMES = (
    "denied",
    "withdrawn",
    "seller_refunded",
    "granted_seller_funded",
    "granted_amazon_funded",
    "overturned",
)
#: (numerator, denominator) pairs and one plain count, in the order the checks print them.
COUNT_NAMES = (
    "odr_mfn_num",
    "odr_mfn_den",
    "odr_afn_num",
    "odr_afn_den",
    "lsr10_num",
    "lsr10_den",
    "lsr30_num",
    "lsr30_den",
    "cancel_num",
    "cancel_den",
    "vtr_num",
    "vtr_den",
    "otd_num",
    "otd_den",
    "fulfilled",
)
Counts = tuple[int, ...]
StoreKey = tuple[str, str]


# --------------------------------------------------------------------------- data


def seller_id(n: int) -> str:
    """Deterministic ids shaped like tsunagu's (prefix + 26 characters)."""
    return f"sel_bench{n:021d}"


def store_order_counts(sellers: int, orders: int) -> list[tuple[int, str, int]]:
    """(seller number, marketplace, orders) for every store; the orders split evenly."""
    stores = [(s, mp) for s in range(sellers) for mp in MARKETS]
    base, extra = divmod(orders, len(stores))
    return [(s, mp, base + (1 if i < extra else 0)) for i, (s, mp) in enumerate(stores)]


def _iso(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds")


def store_events(
    s: int, mp: str, count: int, seed: int, now: datetime
) -> Iterator[dict[str, object]]:
    """The events of one store's orders; nothing at or after ``now`` has happened yet.

    Rates are per order and deliberately high, so every metric has numerators to check:
    ~30% AFN, ~4% cancelled (buyer, seller, system, unknown), ~12% of MFN orders shipped after
    their ship-by date and ~2% never shipped, tracking ids empty, unknown or never scanned,
    deliveries late, 1–2-star feedback (some removed), claims and chargebacks with every outcome.
    """
    rng = random.Random(f"health-bench:{seed}:{s}:{mp}")
    seller = seller_id(s)
    day = 86400.0

    def at(base: datetime, lo_days: float, hi_days: float) -> datetime:
        return base + timedelta(seconds=int(rng.uniform(lo_days * day, hi_days * day)))

    for n in range(count):
        order_id = f"{mp}-{s:05d}-{n:07d}"
        placed = now - timedelta(seconds=rng.randrange(1, int(SPAN_DAYS * day)))
        channel = "AFN" if rng.random() < 0.3 else "MFN"
        events: list[tuple[datetime, str, dict[str, object]]] = []
        placed_fields: dict[str, object] = {
            "order_id": order_id,
            "channel": channel,
            "currency": CURRENCY[mp],
            "items": [{"sku": f"SKU-{rng.randrange(200):03d}", "quantity": 1, "price": 1500}],
        }
        lsd = ldd = None
        if channel == "MFN":
            lsd = placed + timedelta(days=2)
            ldd = placed + timedelta(days=6)
            placed_fields["latest_ship_date"] = _iso(lsd)
            placed_fields["latest_delivery_date"] = _iso(ldd)
        events.append((placed, "order_placed", placed_fields))

        roll = rng.random()
        if roll < 0.04:  # cancelled; a few after shipment (a refund, not a cancellation)
            by = rng.choices(["buyer", "seller", "system", "unknown"], [40, 35, 15, 10])[0]
            when = at(placed, 0.05, 3)
            events.append((when, "order_cancelled", {"order_id": order_id, "by": by}))
            if rng.random() < 0.1:
                events.append((at(placed, 0.01, 0.05), "order_shipped", {"order_id": order_id}))
        elif channel == "AFN":
            shipped = at(placed, 0.1, 1)
            events.append((shipped, "order_shipped", {"order_id": order_id, "carrier": "AMZL"}))
            events.append((at(shipped, 1, 3), "order_delivered", {"order_id": order_id}))
        elif rng.random() >= 0.02:  # MFN, shipped (2% never ship)
            shipped = at(placed, 0.1, 2.3)
            ship: dict[str, object] = {"order_id": order_id, "carrier": "Yamato"}
            kind = rng.random()
            if kind < 0.03:
                ship["tracking_id"] = ""
            elif kind >= 0.05:  # else: no tracking_id field at all (unknown)
                ship["tracking_id"] = f"TRK{rng.randrange(10**10):010d}"
            if rng.random() < 0.005:
                ship["ship_time_known"] = False
            events.append((shipped, "order_shipped", ship))
            if ship.get("tracking_id") and rng.random() < 0.95:
                events.append((at(shipped, 0.1, 0.6), "tracking_scanned", {"order_id": order_id}))
            if rng.random() < 0.97:
                events.append((at(shipped, 1, 5.2), "order_delivered", {"order_id": order_id}))
        if rng.random() < 0.05:
            rating = rng.choice([1, 2, 2, 3, 4, 5, 5])
            posted = at(placed, 3, 25)
            events.append((posted, "feedback_posted", {"order_id": order_id, "rating": rating}))
            if rating <= 2 and rng.random() < 0.2:
                events.append((at(posted, 1, 10), "feedback_removed", {"order_id": order_id}))
        if rng.random() < 0.012:
            claim = f"C-{order_id}"
            filed = at(placed, 8, 45)
            events.append(
                (
                    filed,
                    "claim_filed",
                    {"order_id": order_id, "claim_id": claim, "reason": "not_received"},
                )
            )
            if rng.random() < 0.7:
                outcome = rng.choice(CLAIM_OUTCOMES)
                events.append(
                    (
                        at(filed, 2, 20),
                        "claim_decided",
                        {"order_id": order_id, "claim_id": claim, "outcome": outcome},
                    )
                )
        if rng.random() < 0.004:
            cb = f"CB-{order_id}"
            filed = at(placed, 10, 50)
            events.append((filed, "chargeback_filed", {"order_id": order_id, "chargeback_id": cb}))
            if rng.random() < 0.6:
                outcome = rng.choice(["seller_won", "seller_lost"])
                events.append(
                    (
                        at(filed, 5, 25),
                        "chargeback_decided",
                        {"order_id": order_id, "chargeback_id": cb, "outcome": outcome},
                    )
                )
        for k, (when, kind_, fields) in enumerate(events):
            if when >= now:
                continue
            yield {
                "event_id": f"{order_id}-{k}",
                "type": kind_,
                "seller": seller,
                "marketplace": mp,
                "at": _iso(when),
                **fields,
            }


def all_events(sellers: int, orders: int, seed: int, now: datetime) -> Iterator[dict[str, object]]:
    for s, mp, count in store_order_counts(sellers, orders):
        yield from store_events(s, mp, count, seed, now)


def build(db_path: Path, *, sellers: int, orders: int, seed: int, now: datetime) -> int:
    """A fresh database with the sellers and their events, imported the normal way."""
    from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work, upgrade
    from tsunagu.events import ingest
    from tsunagu.sellers.service import create_seller

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    registry = load_registry(None)
    with unit_of_work(factory) as session:
        for s in range(sellers):
            create_seller(
                session,
                name=f"bench seller {s}",
                marketplaces=list(MARKETS),
                registry=registry,
                now=now,
                seller_id=seller_id(s),
            )

    report = ingest.run(
        factory,
        lambda: enumerate(all_events(sellers, orders, seed, now), start=1),
        registry=registry,
        now=now,
        source_label="benchmark",
    )
    engine.dispose()
    if report.rejected:
        raise SystemExit(
            f"the generator made {report.rejected} invalid events: {report.errors[:3]}"
        )
    return int(report.stored)


def default_db(sellers: int, orders: int, seed: int) -> Path:
    folder = os.environ.get("TSUNAGU_BENCH_DIR")
    if folder is None:
        scratch = Path("/root/scratch")
        folder = str(scratch if scratch.is_dir() else Path.home() / ".cache" / "tsunagu-bench")
    return Path(folder) / f"health-s{sellers}-o{orders}-seed{seed}.db"


def schema_fingerprint() -> str:
    """A digest of every migration's text: a new migration, or one edited while it is being
    written, makes the cached database stale."""
    import hashlib

    import tsunagu

    digest = hashlib.sha256()
    for path in sorted((Path(tsunagu.__file__).parent / "migrations" / "versions").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_db(
    db_path: Path, *, sellers: int, orders: int, seed: int, now: datetime
) -> tuple[float | None, int]:
    """Build unless a finished build with the same parameters and schema is there; (build
    seconds, events)."""
    marker = Path(f"{db_path}.done")
    key = {
        "sellers": sellers,
        "orders": orders,
        "seed": seed,
        "now": now.isoformat(),
        "schema": schema_fingerprint(),
    }
    if db_path.exists() and marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("key") == key:
            return None, int(saved["events"])
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    stored = build(db_path, sellers=sellers, orders=orders, seed=seed, now=now)
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({"key": key, "events": stored, "build_seconds": seconds}))
    return seconds, stored


# --------------------------------------------------------------------------- tsunagu


def tsunagu_full(
    session_factory: sessionmaker[Session],
    stores: Sequence[tuple[str, Marketplace]],
    now: datetime,
) -> dict[StoreKey, Counts]:
    """Every store through the full path: load the store's facts, evaluate every metric and the
    AHR (``health.service.store_health``), one store at a time."""
    from tsunagu.health.service import store_health

    found: dict[StoreKey, Counts] = {}
    with session_factory() as session:
        for sid, market in stores:
            health = store_health(session, seller_id=sid, marketplace=market, day=None, now=now)
            found[(sid, market.code)] = _counts(health)
    return found


def _counts(health: Any) -> Counts:
    m = health.metrics
    pairs = [m[name] for name in _METRIC_NAMES]
    return (*[v for r in pairs for v in (r.numerator, r.denominator)], health.fulfilled_orders)


_METRIC_NAMES = (
    "order_defect_rate_mfn",
    "order_defect_rate_afn",
    "late_shipment_rate_10",
    "late_shipment_rate_30",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
    "on_time_delivery_rate",
)


def tsunagu_build_rollups(
    writer: sessionmaker[Session],
    stores: Sequence[tuple[str, Marketplace]],
    now: datetime,
) -> dict[StoreKey, Counts]:
    """Every store's daily rollups built from nothing (``incremental.refresh_store`` on a store
    without rollups), one transaction per store, and today's counts from them."""
    from tsunagu.core.db import unit_of_work
    from tsunagu.health import incremental

    found: dict[StoreKey, Counts] = {}
    for sid, market in stores:
        with unit_of_work(writer) as session:
            health = incremental.refresh_store(session, seller_id=sid, marketplace=market, now=now)
        found[(sid, market.code)] = _counts(health)
    return found


def tsunagu_from_rollups(
    reader: sessionmaker[Session],
    stores: Sequence[tuple[str, Marketplace]],
    now: datetime,
) -> dict[StoreKey, Counts]:
    """Every store's health today read from its stored rollups (``store_health_now``), as the
    API's health route does."""
    from tsunagu.health import incremental

    found: dict[StoreKey, Counts] = {}
    with reader() as session:
        for sid, market in stores:
            health = incremental.store_health_now(
                session, seller_id=sid, marketplace=market, now=now
            )
            found[(sid, market.code)] = _counts(health)
    return found


def new_events(
    db_path: Path, count: int, seed: int, now: datetime, *, one_store: bool = False
) -> list[dict[str, object]]:
    """``count`` events as a day of business brings them, for random recent orders: ship
    confirmations for unshipped orders, feedback (some negative) and claims for shipped ones.
    Spread over random stores, or (``one_store``) all for the store with the most recent orders,
    as one seller's daily import is. Ids are new in every run's working copy."""
    rng = random.Random(seed)
    since = _text(now - timedelta(days=30))
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(
            "SELECT seller_id, marketplace, order_id, shipped_at IS NOT NULL FROM orders "
            "WHERE purchased_at >= ? AND cancelled_at IS NULL ORDER BY seller_id, marketplace, "
            "order_id",
            (since,),
        ).fetchall()
    finally:
        conn.close()
    if one_store:
        per_store: dict[StoreKey, int] = {}
        for sid, market, *_ in rows:
            per_store[(sid, market)] = per_store.get((sid, market), 0) + 1
        busiest = max(per_store, key=lambda k: (per_store[k], k))
        rows = [r for r in rows if (r[0], r[1]) == busiest]
    picked = rng.sample(rows, min(count, len(rows)))
    label = "one" if one_store else "spread"
    events: list[dict[str, object]] = []
    for n in range(count):
        sid, market, order_id, shipped = picked[n % len(picked)]
        at = _iso(now - timedelta(minutes=rng.randint(1, 600)))
        base: dict[str, object] = {
            "event_id": f"bench-new-{label}-{n}",
            "seller": sid,
            "marketplace": market,
            "order_id": order_id,
            "at": at,
        }
        if not shipped and n < len(picked):
            events.append({**base, "type": "order_shipped", "tracking_id": f"NEW{n}"})
        elif rng.random() < 0.8:
            events.append({**base, "type": "feedback_posted", "rating": rng.choice([1, 2, 4, 5])})
        else:
            events.append({**base, "type": "claim_filed", "claim_id": f"NEW-{label}-{n}"})
    return events


def store_new_events(
    writer: sessionmaker[Session],
    registry: Registry,
    events: Sequence[Mapping[str, object]],
    now: datetime,
) -> int:
    """New events through the import pipeline: event log, projection and dirty marks."""
    from tsunagu.events import ingest

    report = ingest.run(
        writer,
        lambda: enumerate(events, start=1),
        registry=registry,
        now=now,
        source_label="benchmark",
    )
    return report.stored


def absorb(writer: sessionmaker[Session], registry: Registry, now: datetime) -> int:
    """The incremental health update: today's rollups of the stores with dirty marks, in
    batches (``health.refresh.refresh_all`` without its second stage, timed apart below)."""
    from tsunagu.health import refresh

    return len(refresh.refresh_all(writer, registry, now, history=False))


def keep_history(writer: sessionmaker[Session], registry: Registry, now: datetime) -> int:
    """The refresh's second stage: every store's history chains carried on to yesterday and its
    summary of today written (``health.refresh.keep_history_all``)."""
    from tsunagu.health import refresh

    return len(refresh.keep_history_all(writer, registry, now))


def refresh_every_store(
    writer: sessionmaker[Session],
    registry: Registry,
    stores: Sequence[tuple[str, Marketplace]],
    now: datetime,
) -> None:
    """Every store's rollups brought to ``now`` (the same refresh as the build step), then the
    second stage, as a running worker keeps them: the load test reads what a server would."""
    tsunagu_build_rollups(writer, stores, now)
    keep_history(writer, registry, now)


def working_copy(db_path: Path) -> Path:
    """A copy of the cached database for this run, so new events never change the cache."""
    import shutil

    work = db_path.with_name(db_path.stem + ".run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db_path, work)
    conn = sqlite3.connect(work)
    try:  # every run builds the rollups from nothing
        conn.execute("DELETE FROM health_rollups")
        conn.execute("DELETE FROM health_rollup_state")
        conn.commit()
    finally:
        conn.close()
    return work


# --------------------------------------------------------------------------- reference

BOUND_COLUMNS = (
    "marketplace",
    "cut",
    "odr_s",
    "odr_e",
    "lsr10_s",
    "lsr10_e",
    "lsr30_s",
    "lsr30_e",
    "can_s",
    "can_e",
    "vtr_s",
    "vtr_e",
    "otd_s",
    "otd_e",
    "ful_s",
    "ful_e",
)

#: One statement: window bounds per marketplace as a VALUES list, the counted claims and
#: chargebacks per order, then every count per store. Instants are compared as stored (text in
#: SQLite's fixed ``YYYY-MM-DD HH:MM:SS.ffffff`` form, which sorts like the instants).
REFERENCE_SQL = """
WITH b({bound_columns}) AS (VALUES {bound_rows}),
cases AS (
  SELECT c.seller_id, c.marketplace, c.order_id,
    MAX(CASE WHEN c.kind = 'claim' AND ((c.decided_at IS NOT NULL AND c.decided_at >= b.cut)
          OR c.outcome IS NULL
          OR c.outcome NOT IN ('denied', 'withdrawn', 'granted_amazon_funded', 'overturned'))
        THEN 1 ELSE 0 END) AS claim,
    MAX(CASE WHEN c.kind = 'chargeback' AND ((c.decided_at IS NOT NULL AND c.decided_at >= b.cut)
          OR c.outcome IS NULL OR c.outcome <> 'seller_won')
        THEN 1 ELSE 0 END) AS chargeback
  FROM order_cases c JOIN b ON b.marketplace = c.marketplace
  WHERE c.kind IN ('claim', 'chargeback') AND (c.opened_at IS NULL OR c.opened_at < b.cut)
  GROUP BY c.seller_id, c.marketplace, c.order_id
),
x AS (
  SELECT o.seller_id, o.marketplace, o.channel, o.purchased_at AS p,
    o.latest_ship_date AS lsd, o.latest_delivery_date AS ldd, o.shipped_at, o.delivered_at,
    o.tracking_id, o.cancelled_by,
    b.cut, b.odr_s, b.odr_e, b.lsr10_s, b.lsr10_e, b.lsr30_s, b.lsr30_e, b.can_s, b.can_e,
    b.vtr_s, b.vtr_e, b.otd_s, b.otd_e, b.ful_s, b.ful_e,
    CASE WHEN o.shipped_at IS NOT NULL AND o.shipped_at < b.cut THEN 1 ELSE 0 END AS shipped,
    CASE WHEN o.cancelled_at IS NOT NULL AND o.cancelled_at < b.cut THEN 1 ELSE 0 END
      AS cancelled,
    CASE WHEN o.delivered_at IS NOT NULL AND o.delivered_at < b.cut THEN 1 ELSE 0 END
      AS delivered,
    CASE WHEN o.tracking_id <> '' AND ((o.first_scan_at IS NOT NULL AND o.first_scan_at < b.cut)
          OR (o.delivered_at IS NOT NULL AND o.delivered_at < b.cut)) THEN 1 ELSE 0 END AS valid,
    CASE WHEN (o.feedback_rating = 1 OR o.feedback_rating = 2)
          AND (o.feedback_at IS NULL OR o.feedback_at < b.cut) AND o.feedback_removed = 0
          THEN 1 ELSE 0 END
      + COALESCE(c.claim, 0) + COALESCE(c.chargeback, 0) AS defects,
    CASE WHEN o.latest_ship_date IS NOT NULL
          AND NOT (o.shipped_at IS NOT NULL AND COALESCE(o.ship_time_known, 1) = 0)
          THEN 1 ELSE 0 END AS lsr_measurable
  FROM orders o JOIN b ON b.marketplace = o.marketplace
  LEFT JOIN cases c
    ON c.seller_id = o.seller_id AND c.marketplace = o.marketplace AND c.order_id = o.order_id
  WHERE o.purchased_at < b.ful_e
)
SELECT seller_id, marketplace,
  SUM(CASE WHEN channel = 'MFN' AND p >= odr_s AND p < odr_e AND defects > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= odr_s AND p < odr_e THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'AFN' AND p >= odr_s AND p < odr_e AND defects > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'AFN' AND p >= odr_s AND p < odr_e THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= lsr10_s AND p < lsr10_e AND cancelled = 0
        AND lsr_measurable = 1
        AND ((shipped = 1 AND shipped_at > lsd) OR (shipped = 0 AND lsd < cut))
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= lsr10_s AND p < lsr10_e AND cancelled = 0
        AND lsr_measurable = 1 AND (shipped = 1 OR lsd < cut) THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= lsr30_s AND p < lsr30_e AND cancelled = 0
        AND lsr_measurable = 1
        AND ((shipped = 1 AND shipped_at > lsd) OR (shipped = 0 AND lsd < cut))
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= lsr30_s AND p < lsr30_e AND cancelled = 0
        AND lsr_measurable = 1 AND (shipped = 1 OR lsd < cut) THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= can_s AND p < can_e AND cancelled = 1
        AND cancelled_by IN ('seller', 'system') THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p >= can_s AND p < can_e
        AND (cancelled = 0 OR cancelled_by IN ('seller', 'system', 'buyer')) THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p < cut AND shipped = 1 AND ldd >= vtr_s AND ldd < vtr_e
        AND tracking_id IS NOT NULL AND valid = 1 THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p < cut AND shipped = 1 AND ldd >= vtr_s AND ldd < vtr_e
        AND tracking_id IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p < cut AND shipped = 1 AND ldd >= otd_s AND ldd < otd_e
        AND tracking_id IS NOT NULL AND valid = 1 AND delivered = 1 AND delivered_at <= ldd
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel = 'MFN' AND p < cut AND shipped = 1 AND ldd >= otd_s AND ldd < otd_e
        AND tracking_id IS NOT NULL AND valid = 1 AND (delivered = 1 OR ldd < cut)
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN channel IN ('MFN', 'AFN') AND p >= ful_s AND p < ful_e AND shipped = 1
        AND cancelled = 0 THEN 1 ELSE 0 END)
FROM x
GROUP BY seller_id, marketplace
"""


def reference_bounds(markets: Sequence[Marketplace], now: datetime) -> list[tuple[str, ...]]:
    """Per marketplace: the cut-off and the UTC bounds of every window, evaluated on the local
    date of ``now``, as stored text. Windows come from the marketplace's health configuration."""
    rows: list[tuple[str, ...]] = []
    for market in markets:
        zone = market.tz
        day = local_date(now, zone)
        mc = health_of(market).metrics

        def span(window: Window, day: Any = day, zone: Any = zone) -> tuple[str, str]:
            s = window_span(day, zone, window)
            return _text(s.start), _text(s.end)

        rows.append(
            (
                market.code,
                _text(cutoff(day, zone, now)),
                *span(mc.odr_window),
                *span(mc.late_shipment_short_window),
                *span(mc.late_shipment_long_window),
                *span(mc.cancel_window),
                *span(mc.valid_tracking_window),
                *span(mc.on_time_delivery_window),
                *span(Window(mc.fulfilled_window_days, 0)),
            )
        )
    return rows


def _text(instant: datetime) -> str:
    return str(raw_instant(instant, "sqlite"))


def reference_query(markets: Sequence[Marketplace], now: datetime) -> tuple[str, list[str]]:
    bounds = reference_bounds(markets, now)
    row = "(" + ", ".join("?" * len(BOUND_COLUMNS)) + ")"
    sql = REFERENCE_SQL.format(
        bound_columns=", ".join(BOUND_COLUMNS), bound_rows=", ".join([row] * len(bounds))
    )
    return sql, [value for bound in bounds for value in bound]


def _as_counts(rows: Sequence[Sequence[Any]]) -> dict[StoreKey, Counts]:
    return {(str(r[0]), str(r[1])): tuple(int(v or 0) for v in r[2:]) for r in rows}


def reference_sqlite(
    db_path: Path, markets: Sequence[Marketplace], now: datetime
) -> dict[StoreKey, Counts]:
    """The bare query on the SQLite file, stdlib ``sqlite3``."""
    sql, params = reference_query(markets, now)
    conn = sqlite3.connect(db_path)
    try:
        return _as_counts(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


ORDER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seller_id", "str"),
    ("marketplace", "str"),
    ("order_id", "str"),
    ("channel", "str"),
    ("purchased_at", "str"),
    ("latest_ship_date", "str"),
    ("latest_delivery_date", "str"),
    ("shipped_at", "str"),
    ("ship_time_known", "int"),
    ("tracking_id", "str"),
    ("first_scan_at", "str"),
    ("delivered_at", "str"),
    ("cancelled_at", "str"),
    ("cancelled_by", "str"),
    ("feedback_rating", "int"),
    ("feedback_at", "str"),
    ("feedback_removed", "int"),
)
CASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("seller_id", "str"),
    ("marketplace", "str"),
    ("kind", "str"),
    ("order_id", "str"),
    ("opened_at", "str"),
    ("outcome", "str"),
    ("decided_at", "str"),
)


def to_arrow(db_path: Path) -> dict[str, Any]:
    """The rows the reference reads, out of SQLite into pyarrow tables (column by column)."""
    import pyarrow as pa

    types = {"str": pa.string(), "int": pa.int64()}
    conn = sqlite3.connect(db_path)
    try:
        tables = {}
        for table, columns in (("orders", ORDER_COLUMNS), ("order_cases", CASE_COLUMNS)):
            names = [name for name, _ in columns]
            rows = conn.execute(f"SELECT {', '.join(names)} FROM {table}").fetchall()
            data = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            schema = pa.schema([(name, types[kind]) for name, kind in columns])
            tables[table] = pa.table(
                [
                    pa.array(col, type=types[kind])
                    for col, (_, kind) in zip(data, columns, strict=True)
                ],
                schema=schema,
            )
        return tables
    finally:
        conn.close()


def reference_duckdb(
    tables: Mapping[str, Any], markets: Sequence[Marketplace], now: datetime
) -> dict[StoreKey, Counts]:
    """The same statement in DuckDB over the Arrow tables (no copy into DuckDB storage)."""
    import duckdb

    sql, params = reference_query(markets, now)
    conn = duckdb.connect()
    try:
        for name, table in tables.items():
            conn.register(name, table)
        return _as_counts(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def compare(
    ours: Mapping[StoreKey, Counts], reference: Mapping[StoreKey, Counts], label: str
) -> list[str]:
    """One line per store whose counts differ (a store missing on one side counts as zeros)."""
    zero = (0,) * len(COUNT_NAMES)
    problems = []
    for key in sorted(set(ours) | set(reference)):
        a, b = ours.get(key, zero), reference.get(key, zero)
        if a != b:
            diffs = ", ".join(
                f"{name} {x} != {y}" for name, x, y in zip(COUNT_NAMES, a, b, strict=True) if x != y
            )
            problems.append(f"{label} {key[0]} {key[1]}: tsunagu vs reference: {diffs}")
    return problems


# --------------------------------------------------------------------------- load test


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db_path: Path, port: int, log: Any) -> subprocess.Popen[bytes]:
    """``tsunagu.slices:create_app`` under uvicorn, one process; its output goes to ``log``."""
    env = dict(os.environ, TSUNAGU_DATABASE_URL=f"sqlite:///{db_path}")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tsunagu.slices:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()  # SIGTERM: uvicorn shuts down gracefully
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))  # nearest rank
    return ordered[index]


class _Connections:
    """Keep-alive HTTP/1.1 GETs over raw asyncio streams, a connection per request in flight.

    Much lighter than a full HTTP client, so the load generator keeps its schedule on a small
    machine while sharing the CPU with the server (the report shows how late it sent)."""

    def __init__(self, host: str, port: int, token: str = "") -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        reused = bool(self.idle)
        if reused:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}\r\n".encode())
            first = await reader.readline()
            if not first and reused:
                # the server closed this idle keep-alive connection (its idle timeout): any
                # HTTP client retries such a request once on a new connection
                writer.close()
                return await self.get(path)
            status = int(first.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            await reader.readexactly(length)
        except BaseException:  # includes the cancellation of a timed-out request
            writer.close()
            raise
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _load(
    port: int, paths: Sequence[tuple[str, str]], rate: float, seconds: float, token: str
) -> dict[str, dict[str, Any]]:
    """Open loop: request i is sent at start + i/rate whatever happened to the others; latency
    runs from that scheduled time, so a slow server cannot slow the load down (no coordinated
    omission). Each request gives up after 10 s; the whole run 15 s after the last send."""
    latencies: dict[str, list[float]] = {route: [] for route, _ in paths[:2]}
    sent: dict[str, int] = dict.fromkeys(latencies, 0)
    failed: dict[str, int] = dict.fromkeys(latencies, 0)
    lags: list[float] = []
    conns = _Connections("127.0.0.1", port, token)
    for _ in range(20):  # warm the server and a few connections
        await conns.get("/healthz")
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    total = int(rate * seconds)

    async def one(route: str, path: str, scheduled: float) -> None:
        lags.append(loop.time() - scheduled)  # how late the client itself sent it
        try:
            ok = await asyncio.wait_for(conns.get(path), timeout=10) == 200
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
            ok = False
        if ok:
            latencies[route].append(loop.time() - scheduled)
        else:
            failed[route] += 1

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        route, path = paths[i % len(paths)]
        sent[route] += 1
        tasks.append(asyncio.create_task(one(route, path, scheduled)))
    _done, pending = await asyncio.wait(tasks, timeout=15)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    conns.close()
    results = {}
    for route, values in latencies.items():
        # a request that failed or never came back counts as infinitely slow, so a saturated
        # server cannot look fast by answering only the lucky requests
        every = values + [math.inf] * (sent[route] - len(values))
        results[route] = {
            "sent": sent[route],
            "ok": len(values),
            "errors": failed[route],  # not a 200, or no answer within 10 s
            "unfinished": sent[route] - len(values) - failed[route],
            "p50_ms": _percentile(every, 0.50) * 1000,
            "p90_ms": _percentile(every, 0.90) * 1000,
            "p99_ms": _percentile(every, 0.99) * 1000,
            "client_send_lag_p99_ms": _percentile(lags, 0.99) * 1000,
        }
    return results


def load_test(
    db_path: Path,
    stores: Sequence[tuple[str, Marketplace]],
    *,
    rate: float,
    seconds: float,
    now: datetime,
    seed: int,
) -> tuple[dict[str, dict[str, Any]], float | None]:
    """Serve the database on a free local port and run the open-loop client against it; the
    results per route and the server's peak RSS in MB (None where it cannot be read).

    The health requests ask for today's health, as a dashboard does: the server evaluates at its
    own clock from the daily rollups (:func:`refresh_every_store` brings them to that clock
    first)."""
    rng = random.Random(seed)
    ensure_operator(db_path, now)
    port = free_port()
    log_path = Path(f"{db_path}.server.log")
    log = log_path.open("wb")
    proc = start_server(db_path, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc)
        token = _sign_in(base)
        paths: list[tuple[str, str]] = []
        for _ in range(int(rate * seconds) // 2 + 1):
            sid, market = rng.choice(list(stores))
            paths.append(("/healthz", "/healthz"))
            paths.append(
                ("/v1/sellers/{id}/health/{mp}", f"/v1/sellers/{sid}/health/{market.code}")
            )
        return asyncio.run(_load(port, paths, rate, seconds, token)), peak_mb_of(proc.pid)
    finally:
        stop_server(proc)
        log.close()


#: The benchmark reads as a platform operator (every seller, read-only), signed in like any
#: API client: every health request carries its bearer token through the one access check.
BENCH_EMAIL = "bench-operator@tsunagu.test"
BENCH_PASSWORD = "bench-operator-passphrase"


def ensure_operator(db_path: Path, now: datetime) -> None:
    from sqlalchemy import select

    from tsunagu.access.service import set_operator
    from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
    from tsunagu.identity.models import Principal
    from tsunagu.identity.rules import CHEAP_HASH, IdentitySettings
    from tsunagu.identity.service import create_principal

    factory = make_sessionmaker(make_engine(f"sqlite:///{db_path}"))
    with unit_of_work(factory) as session:
        found = session.scalars(select(Principal.id).where(Principal.email == BENCH_EMAIL)).first()
        if found is None:
            found = create_principal(
                session,
                email=BENCH_EMAIL,
                display_name="Benchmark operator",
                password=BENCH_PASSWORD,
                now=now,
                settings=IdentitySettings(hash=CHEAP_HASH),
            ).id
        set_operator(session, principal_id=found, operator=True, now=now, actor="benchmark")


def _sign_in(base: str) -> str:
    import httpx

    r = httpx.post(
        f"{base}/v1/auth/sign-in",
        json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD},
        timeout=30,
    )
    r.raise_for_status()
    return str(r.json()["token"])


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with status {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


# --------------------------------------------------------------------------- main


@dataclass
class Step:
    """One timed line of the results table. ``key`` names it for ``python -m benchmarks``;
    ``peak_rss_mb`` is this process's peak RSS during the step (:func:`timed` resets the peak
    where Linux allows; elsewhere it is the peak since start), made right after the step."""

    key: str
    name: str
    seconds: float
    note: str = ""
    peak_rss_mb: float = field(default_factory=own_peak_mb)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and its seconds; the process's peak RSS starts again here (see :class:`Step`)."""
    reset_own_peak()
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, help="database file (default: cached by parameters)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load test duration")
    parser.add_argument("--rate", type=float, default=200.0, help="load test requests/s")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    db_path: Path = args.db or default_db(args.sellers, args.orders, args.seed)
    now = NOW
    from tsunagu.core.runtime import tune_gc_for_batch_work

    tune_gc_for_batch_work()  # what the `tsunagu` command does at start-up
    build_seconds, events = ensure_db(
        db_path, sellers=args.sellers, orders=args.orders, seed=args.seed, now=now
    )
    registry: Registry = load_registry(None)
    markets = [registry.require(code) for code in MARKETS]
    stores = [(seller_id(s), m) for s in range(args.sellers) for m in markets]
    work, copy_seconds = timed(lambda: working_copy(db_path))
    print(f"working copy of the database: {copy_seconds:.1f} s", file=sys.stderr)
    try:
        problems = measure(args, db_path, work, build_seconds, events, registry, stores)
    finally:  # the copy is as large as the cache: never leave it behind
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
    if problems:
        sys.exit(1)


def measure(
    args: argparse.Namespace,
    db_path: Path,
    work: Path,
    build_seconds: float | None,
    events: int,
    registry: Registry,
    stores: Sequence[tuple[str, Marketplace]],
) -> list[str]:
    """Every step on the working copy, then the report; the mismatches found."""
    from tsunagu.core.db import make_engine, make_sessionmaker

    now = NOW
    markets = [registry.require(code) for code in MARKETS]
    url = f"sqlite:///{work}"
    factory = make_sessionmaker(make_engine(url, read_only=True))
    writer = make_sessionmaker(make_engine(url))

    # Every timed step is one entry here; the first is the baseline the others are compared to.
    steps: list[Step] = []
    problems: list[str] = []
    incremental: list[dict[str, Any]] = []

    sqlite_counts, seconds = timed(lambda: reference_sqlite(work, markets, now))
    steps.append(Step("sqlite", "reference: one SQL GROUP BY on SQLite (sqlite3)", seconds))
    ours, seconds = timed(lambda: tsunagu_full(factory, stores, now))
    steps.append(Step("full", "tsunagu full recompute: store_health for every store", seconds))
    problems += compare(ours, sqlite_counts, "sqlite")
    if _has_duckdb():
        tables, seconds = timed(lambda: to_arrow(work))
        steps.append(
            Step("duckdb_input", "DuckDB input: SQLite rows -> pyarrow tables", seconds, "transfer")
        )
        duck_counts, seconds = timed(lambda: reference_duckdb(tables, markets, now))
        steps.append(Step("duckdb", "reference: the same SQL in DuckDB over Arrow", seconds))
        problems += compare(ours, duck_counts, "duckdb")
        del tables
    else:
        print(
            "duckdb/pyarrow not installed (pip install -e '.[bench]'): DuckDB skipped",
            file=sys.stderr,
        )
    built, seconds = timed(lambda: tsunagu_build_rollups(writer, stores, now))
    steps.append(
        Step("rollups_built", "tsunagu rollups built from nothing for every store", seconds)
    )
    problems += compare(built, sqlite_counts, "sqlite (rollups built)")
    _, seconds = timed(lambda: keep_history(writer, registry, now))
    steps.append(
        Step(
            "history_built",
            "tsunagu history chains and store summaries built from nothing (second stage)",
            seconds,
        )
    )
    read, seconds = timed(lambda: tsunagu_from_rollups(factory, stores, now))
    steps.append(
        Step("rollups_read", "tsunagu today from the stored rollups, every store", seconds)
    )
    problems += compare(read, sqlite_counts, "sqlite (rollups read)")

    for one_store in (False, True):
        fresh = new_events(work, 1000, args.seed, now, one_store=one_store)
        where = "one store" if one_store else "random stores"
        tag = "one" if one_store else "spread"
        stored, seconds = timed(
            lambda fresh=fresh: store_new_events(writer, registry, fresh, now)  # type: ignore[misc]
        )
        steps.append(
            Step(f"store_{tag}", f"1,000 new events for {where}: stored (import pipeline)", seconds)
        )
        if stored != len(fresh):
            problems.append(f"new events for {where}: {stored} of {len(fresh)} stored")
        refreshed, seconds = timed(lambda: absorb(writer, registry, now))
        steps.append(
            Step(
                f"absorb_{tag}",
                f"tsunagu incremental: absorbed into {refreshed:,} stores' rollups",
                seconds,
            )
        )
        kept, seconds = timed(lambda: keep_history(writer, registry, now))
        steps.append(
            Step(
                f"history_{tag}",
                f"tsunagu history chains and summaries caught up for {kept:,} stores",
                seconds,
            )
        )
        incremental.append(
            {"events": len(fresh), "where": where, "stored": stored, "stores": refreshed}
        )
        touched = sorted(
            {(str(e["seller"]), registry.require(str(e["marketplace"]))) for e in fresh},
            key=lambda t: (t[0], t[1].code),
        )
        problems += compare(
            tsunagu_from_rollups(factory, touched, now),
            tsunagu_full(factory, touched, now),
            f"rollups vs full path after the new events for {where}",
        )

    load: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {
        "incremental": incremental,
        "server_peak_rss_mb": None,
        "server_log": f"{work}.server.log",
    }
    if args.seconds > 0:
        _, seconds = timed(lambda: refresh_every_store(writer, registry, stores, datetime.now(UTC)))
        print(f"rollups brought to the server's clock: {seconds:.1f} s", file=sys.stderr)
        try:
            load, extra["server_peak_rss_mb"] = load_test(
                work, stores, rate=args.rate, seconds=args.seconds, now=now, seed=args.seed
            )
        except (Exception, SystemExit) as exc:  # the table shows why, the other rows stand
            extra["load_error"] = f"{type(exc).__name__}: {exc}"
            print(f"load test failed: {extra['load_error']}", file=sys.stderr)
    report(args, db_path, build_seconds, events, steps, load, problems, ours, extra)
    return problems


def _ms(value: float) -> str:
    return "timeout" if math.isinf(value) else f"{value:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b or math.isinf(b):
        return "n/a"
    return "inf" if math.isinf(a) else f"{a / b:.1f}"


def report(
    args: argparse.Namespace,
    db_path: Path,
    build_seconds: float | None,
    events: int,
    steps: Sequence[Step],
    load: Mapping[str, Mapping[str, Any]],
    problems: Sequence[str],
    ours: Mapping[StoreKey, Counts],
    extra: Mapping[str, Any],
) -> None:
    full = next(s for s in steps if s.name.startswith("tsunagu full"))
    sqlite_ref = steps[0]
    duck = next((s for s in steps if "DuckDB over" in s.name), None)
    totals = [sum(c[i] for c in ours.values()) for i in range(len(COUNT_NAMES))]
    health_p99 = load.get("/v1/sellers/{id}/health/{mp}", {}).get("p99_ms")
    healthz_p99 = load.get("/healthz", {}).get("p99_ms")
    if args.json:
        print(
            json.dumps(
                {
                    "sellers": args.sellers,
                    "orders": args.orders,
                    "events": events,
                    "db": str(db_path),
                    "build_seconds": build_seconds,
                    "steps": [s.__dict__ for s in steps],
                    "ratio_full_to_sqlite": full.seconds / sqlite_ref.seconds,
                    "ratio_full_to_duckdb": full.seconds / duck.seconds if duck else None,
                    "ratio_full_to_absorb": [
                        full.seconds / x.seconds
                        for x in steps
                        if x.name.startswith("tsunagu incremental")
                    ],
                    "load": {  # null: a percentile that fell on a failed request
                        route: {
                            k: None if isinstance(v, float) and math.isinf(v) else v
                            for k, v in r.items()
                        }
                        for route, r in load.items()
                    },
                    "p99_ratio": (
                        health_p99 / healthz_p99
                        if health_p99 and healthz_p99 and math.isfinite(health_p99 / healthz_p99)
                        else None
                    ),
                    "totals": dict(zip(COUNT_NAMES, totals, strict=True)),
                    "mismatches": list(problems),
                    "rate": args.rate,
                    "seconds": args.seconds,
                    **extra,
                },
                indent=2,
            )
        )
        return
    built = f"built in {build_seconds:.1f} s" if build_seconds is not None else "cached, no build"
    print(
        f"Account health: {args.sellers:,} sellers x {len(MARKETS)} marketplaces, "
        f"{args.orders:,} orders ({events:,} events; {built}), SQLite {db_path}, "
        f"{os.cpu_count()} cores, evaluated at {NOW.isoformat()}"
    )
    print()
    print("| step | seconds | tsunagu full ÷ step |")
    print("|---|---:|---:|")
    for s in steps:
        ratio = f"{full.seconds / s.seconds:.2f}" if s is not full else ""
        print(f"| {s.name} | {s.seconds:.3f} | {ratio} |")
    print()
    ratio_sqlite = full.seconds / sqlite_ref.seconds
    line = f"ratio tsunagu full / SQLite: {ratio_sqlite:.2f} (target ≤ 1.5)"
    if duck is not None:
        line += f"; tsunagu full / DuckDB query: {full.seconds / duck.seconds:.2f}"
    print(line)
    build = next((s for s in steps if s.name.startswith("tsunagu rollups built")), None)
    if build is not None:
        print(f"ratio tsunagu rollups built / SQLite: {build.seconds / sqlite_ref.seconds:.2f}")
    stored_steps = [s for s in steps if s.name.startswith("1,000 new events")]
    absorbed = [s for s in steps if s.name.startswith("tsunagu incremental")]
    for stored_step, inc in zip(stored_steps, absorbed, strict=False):
        where = stored_step.name.split(":")[0].removeprefix("1,000 new events for ")
        print(
            f"incremental ({where}): full recompute / absorb = {full.seconds / inc.seconds:.1f}×, "
            f"full recompute / (store + absorb) = "
            f"{full.seconds / (inc.seconds + stored_step.seconds):.1f}× (target ≥ 100)"
        )
    print(
        "checked counts (sum over stores): "
        + ", ".join(f"{n} {v:,}" for n, v in zip(COUNT_NAMES, totals, strict=True))
    )
    if load:
        print()
        print(
            f"Open-loop load: {args.rate:.0f} requests/s for {args.seconds:.0f} s, half to each "
            "route, one uvicorn process on localhost; latency from the scheduled send time, "
            f"a failed or unanswered request counts as a timeout (server log: {extra['server_log']})"
        )
        print()
        print("| route | sent | ok | errors | unfinished | p50 ms | p90 ms | p99 ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for route, r in load.items():
            print(
                f"| {route} | {r['sent']:,} | {r['ok']:,} | {r['errors']:,} | "
                f"{r['unfinished']:,} | "
                f"{_ms(r['p50_ms'])} | {_ms(r['p90_ms'])} | {_ms(r['p99_ms'])} |"
            )
        if health_p99 and healthz_p99:
            print()
            ratio = _ratio(health_p99, healthz_p99)
            print(f"p99 ratio health / healthz: {ratio} (target ≤ 3)")
        lag = next(iter(load.values()))["client_send_lag_p99_ms"]
        print(f"client send lag p99: {lag:.1f} ms (the client kept its schedule if small)")
        if extra.get("server_peak_rss_mb") is not None:
            print(f"server peak RSS: {extra['server_peak_rss_mb']:.0f} MB")
        if any(r["errors"] or r["unfinished"] for r in load.values()):
            print(
                "WARNING: requests failed or went unanswered (counted as infinitely slow in "
                "the percentiles): the server could not keep up with the offered load"
            )
    if extra.get("load_error"):
        print()
        print(f"load test not run to the end: {extra['load_error']}")
    print()
    if problems:
        print(f"MISMATCHES ({len(problems)} stores):")
        for p in problems[:50]:
            print("  " + p)
    else:
        print(f"counts check: tsunagu equals the reference for all {len(ours):,} stores")


if __name__ == "__main__":
    main()
