"""Incremental health (daily rollups + dirty marks) equals the full recompute, on both databases.

Issue 4, point 9: a day's new events update health without rescanning history, and the two paths
must give identical results. Hypothesis builds random event histories, feeds them in steps through
the real ingest pipeline while the clock moves on, refreshes the stored rollups at random points,
and after every step compares ``store_health_now`` (rollups) with ``store_health`` (full path).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller, placed
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.health import incremental, rollup_repo, service
from tsunagu.health import refresh as refresh_module
from tsunagu.health.models import HealthDirtyMark, HealthRollup
from tsunagu.health.rules import StoreHealth

BASE = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
_sellers = count(1)


def ts(hours: float, base: datetime = BASE) -> str:
    return format_instant(base + timedelta(hours=hours))


def ingest_all(db: Db, events: list[dict[str, Any]], now: datetime) -> None:
    ingest_events(db, events, now=now, chunk_size=7)


def comparable(h: StoreHealth) -> tuple[Any, ...]:
    metrics = {k: dataclasses.replace(v, ids=()) for k, v in h.metrics.items()}
    return (h.day, h.evaluated_at, h.fulfilled_orders, metrics, h.rating, h.open_violations)


def both(db: Db, seller: str, code: str, now: datetime) -> tuple[StoreHealth, StoreHealth]:
    mp = db.registry.require(code)
    with db.session() as session:
        fast = incremental.store_health_now(session, seller_id=seller, marketplace=mp, now=now)
        full = service.store_health(session, seller_id=seller, marketplace=mp, day=None, now=now)
    return fast, full


@st.composite
def histories(draw: st.DrawFn) -> dict[str, Any]:
    """Orders placed in step 0; later events, messages and violations spread over the steps."""
    n_orders = draw(st.integers(1, 6))
    orders = []
    for i in range(n_orders):
        bought = draw(st.integers(0, 40 * 24))
        orders.append(
            {
                "id": f"o{i}",
                "bought": bought,
                "channel": draw(st.sampled_from(["MFN", "MFN", "AFN"])),
                "ship_by": draw(st.none() | st.integers(1, 72)),
                "deliver_by": draw(st.none() | st.integers(24, 240)),
                "business": draw(st.booleans()),
            }
        )
    steps = draw(st.integers(1, 4))
    kinds = st.sampled_from(
        [
            "ship",
            "ship_empty",
            "scan",
            "deliver",
            "cancel",
            "feedback",
            "remove_feedback",
            "claim",
            "decide_claim",
            "chargeback",
            "return",
            "resolve_return",
            "invoice",
            "survey",
            "message",
            "answer",
            "no_response",
            "violation",
            "resolve_violation",
        ]
    )
    later = draw(
        st.lists(
            st.tuples(
                st.integers(0, steps - 1),
                kinds,
                st.integers(0, n_orders - 1),
                st.integers(0, 400),  # hours after the purchase
                st.integers(0, 5),  # variant
            ),
            max_size=25,
        )
    )
    advances = draw(st.lists(st.integers(0, 60 * 24), min_size=steps, max_size=steps))
    refresh = draw(st.lists(st.booleans(), min_size=steps, max_size=steps))
    start = draw(st.integers(0, 50 * 24))
    return {
        "orders": orders,
        "later": later,
        "steps": steps,
        "advances": advances,
        "refresh": refresh,
        "start": start,
    }


def build_events(
    seller: str, code: str, h: dict[str, Any], base: datetime = BASE
) -> list[list[dict[str, Any]]]:
    ids = count(1)

    def ts(hours: float) -> str:
        return format_instant(base + timedelta(hours=hours))

    def ev(type_: str, hours: float, **fields: Any) -> dict[str, Any]:
        return event(
            type_, seller, marketplace=code, when=ts(hours), event_id=f"e{next(ids)}", **fields
        )

    steps: list[list[dict[str, Any]]] = [[] for _ in range(h["steps"])]
    for o in h["orders"]:
        extra: dict[str, Any] = {"is_business": o["business"]}
        if o["ship_by"] is not None:
            extra["latest_ship_date"] = ts(o["bought"] + o["ship_by"])
        if o["deliver_by"] is not None:
            extra["latest_delivery_date"] = ts(o["bought"] + o["deliver_by"])
        steps[0].append(
            placed(
                seller,
                o["id"],
                marketplace=code,
                when=ts(o["bought"]),
                channel=o["channel"],
                event_id=f"p-{o['id']}",
                **extra,
            )
        )
    for step, kind, index, after, variant in h["later"]:
        o = h["orders"][index]
        oid, t = o["id"], o["bought"] + after
        out = steps[step]
        if kind == "ship":
            out.append(ev("order_shipped", t, order_id=oid, tracking_id=f"T{variant}"))
        elif kind == "ship_empty":
            out.append(ev("order_shipped", t, order_id=oid, tracking_id=""))
        elif kind == "scan":
            out.append(ev("tracking_scanned", t, order_id=oid))
        elif kind == "deliver":
            out.append(ev("order_delivered", t, order_id=oid))
        elif kind == "cancel":
            by = ["buyer", "seller", "system", "unknown", "seller", "buyer"][variant]
            out.append(ev("order_cancelled", t, order_id=oid, by=by))
        elif kind == "feedback":
            out.append(ev("feedback_posted", t, order_id=oid, rating=1 + variant % 5))
        elif kind == "remove_feedback":
            out.append(ev("feedback_removed", t, order_id=oid))
        elif kind == "claim":
            out.append(ev("claim_filed", t, order_id=oid, claim_id=f"c{variant % 2}"))
        elif kind == "decide_claim":
            outcome = ["denied", "granted_seller_funded", "withdrawn", "overturned"][variant % 4]
            out.append(
                ev("claim_decided", t, order_id=oid, claim_id=f"c{variant % 2}", outcome=outcome)
            )
        elif kind == "chargeback":
            out.append(ev("chargeback_filed", t, order_id=oid, chargeback_id="cb"))
        elif kind == "return":
            out.append(ev("return_requested", t, order_id=oid, return_id=f"r{oid}"))
        elif kind == "resolve_return":
            outcome = ["refunded", "rejected_invalid", "authorized"][variant % 3]
            out.append(
                ev(
                    "return_resolved",
                    t,
                    order_id=oid,
                    return_id=f"r{oid}",
                    outcome=outcome,
                    buyer_satisfied=variant % 2 == 0,
                )
            )
        elif kind == "invoice":
            out.append(ev("invoice_uploaded", t, order_id=oid))
        elif kind == "survey":
            out.append(ev("cs_survey_answered", t, order_id=oid, satisfied=variant % 2 == 0))
        elif kind == "message":
            out.append(ev("message_received", t, message_id=f"m{variant}"))
        elif kind == "answer":
            out.append(ev("message_answered", t, message_id=f"m{variant}"))
        elif kind == "no_response":
            out.append(ev("message_no_response_needed", t, message_id=f"m{variant}"))
        elif kind == "violation":
            severity = ["low", "medium", "high", "low", "critical", "medium"][variant]
            out.append(
                ev(
                    "violation_opened",
                    t,
                    violation_id=f"v{variant % 3}",
                    policy=f"policy-{variant % 2}",
                    severity=severity,
                )
            )
        elif kind == "resolve_violation":
            out.append(ev("violation_resolved", t, violation_id=f"v{variant % 3}"))
    return steps


def _answers_need_their_message(steps: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """A message answer needs its message: drop answers whose message never arrives earlier."""
    seen: set[str] = set()
    kept_steps = []
    for events in steps:
        kept = []
        received = {e["message_id"] for e in events if e["type"] == "message_received"}
        for e in events:
            if e["type"] in ("message_answered", "message_no_response_needed") and (
                e["message_id"] not in seen | received
            ):
                continue
            if e["type"] == "violation_resolved":
                opened = {x["violation_id"] for x in events if x["type"] == "violation_opened"}
                if e["violation_id"] not in seen | opened:
                    continue
            kept.append(e)
        seen |= received
        seen |= {e["violation_id"] for e in events if e["type"] == "violation_opened"}
        kept_steps.append(kept)
    return kept_steps


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(h=histories(), code=st.sampled_from(["JP", "US"]))
def test_incremental_equals_full_recompute(db: Db, h: dict[str, Any], code: str) -> None:
    seller = make_seller(db, name=f"Incremental {next(_sellers)}", marketplaces=(code,))
    mp = db.registry.require(code)
    steps = _answers_need_their_message(build_events(seller, code, h))
    now = BASE + timedelta(hours=h["start"])
    for events, advance, refresh in zip(steps, h["advances"], h["refresh"], strict=True):
        if events:
            ingest_all(db, events, now)
        now += timedelta(hours=advance)
        if refresh:
            with unit_of_work(db.factory) as session:
                stored = incremental.refresh_store(
                    session, seller_id=seller, marketplace=mp, now=now
                )
            fast, full = both(db, seller, code, now)
            assert comparable(stored) == comparable(full)
        fast, full = both(db, seller, code, now)
        assert comparable(fast) == comparable(full)


def test_events_mark_days_dirty_and_a_refresh_consumes_the_marks(db: Db) -> None:
    seller = make_seller(db, name="Dirty marks", marketplaces=("JP",))
    mp = db.registry.require("JP")
    now = BASE + timedelta(days=30)
    ingest_all(db, [placed(seller, "o1", when=ts(24), event_id="p1")], now)
    with db.session() as session:
        marks = session.query(HealthDirtyMark).filter_by(seller_id=seller).all()
        assert {m.at_minute for m in marks} == {"2026-03-02T00:00"}
    with unit_of_work(db.factory) as session:
        incremental.refresh_store(session, seller_id=seller, marketplace=mp, now=now)
    with db.session() as session:
        assert session.query(HealthDirtyMark).filter_by(seller_id=seller).count() == 0
        days = [r.day for r in session.query(HealthRollup).filter_by(seller_id=seller)]
        assert days == ["2026-03-02"]
    ingest_all(
        db, [event("order_shipped", seller, order_id="o1", when=ts(30), tracking_id="T")], now
    )
    fast, full = both(db, seller, "JP", now)
    assert fast.fulfilled_orders == full.fulfilled_orders == 1
    assert comparable(fast) == comparable(full)


def test_every_selecting_day_is_marked_when_events_arrive_after_a_refresh(db: Db) -> None:
    """Each metric selects by another day (purchase, promise, shipment, answer, request,
    receipt); events arriving after a refresh must reach every one of them."""
    seller = make_seller(db, name="Selecting days", marketplaces=("US",))
    mp = db.registry.require("US")
    now = BASE + timedelta(days=50)
    ingest_all(
        db,
        [
            placed(
                seller,
                "b1",
                marketplace="US",
                when=ts(0),
                event_id="p-b1",
                is_business=True,
                latest_ship_date=ts(48),
                latest_delivery_date=ts(24 * 9),
            )
        ],
        now,
    )
    with unit_of_work(db.factory) as session:
        incremental.refresh_store(session, seller_id=seller, marketplace=mp, now=now)

    def later(type_: str, hours: float, **fields: Any) -> dict[str, Any]:
        return event(type_, seller, marketplace="US", when=ts(hours), **fields)

    arrivals = [
        [later("order_shipped", 24 * 3, order_id="b1", tracking_id="1Z")],
        [later("tracking_scanned", 24 * 4, order_id="b1")],
        [later("cs_survey_answered", 24 * 20, order_id="b1", satisfied=False)],
        [later("return_requested", 24 * 30, order_id="b1", return_id="r1")],
        [later("message_received", 24 * 40, message_id="m1")],
    ]
    for events in arrivals:
        ingest_all(db, events, now)
        fast, full = both(db, seller, "US", now)
        assert comparable(fast) == comparable(full), events[0]["type"]
        with unit_of_work(db.factory) as session:
            incremental.refresh_store(session, seller_id=seller, marketplace=mp, now=now)
    fast, full = both(db, seller, "US", now)
    cs = fast.metrics["customer_service_dissatisfaction_rate"]
    assert (cs.numerator, cs.denominator) == (1, 1)
    assert fast.metrics["return_dissatisfaction_rate"].denominator == 1
    assert fast.metrics["invoice_defect_rate"].window[1] < now.date()


def test_an_import_leaves_the_rollups_current_and_refresh_has_nothing_left(tmp_path) -> None:
    import json as jsonlib

    from tests.integration.test_cli import tsunagu, write_jsonl

    r = tsunagu(tmp_path, "sellers", "create", "--name", "Rollup Tea", "-m", "JP")
    assert r.returncode == 0, r.stderr
    seller = r.stdout.strip()
    now = datetime.now(UTC)
    rows = [
        placed(seller, f"o{n}", when=format_instant(now - timedelta(days=n + 1)), event_id=f"p{n}")
        for n in range(5)
    ]
    r = tsunagu(tmp_path, "events", "import", str(write_jsonl(tmp_path / "e.jsonl", rows)))
    assert r.returncode == 0, r.stderr
    r = tsunagu(tmp_path, "health", "refresh", "--json")
    assert r.returncode == 0, r.stderr
    assert jsonlib.loads(r.stdout) == {"refreshed": []}  # the import already refreshed
    more = [event("order_shipped", seller, order_id="o1", when=format_instant(now), tracking_id="")]
    import sqlite3

    conn = sqlite3.connect(tmp_path / "tsunagu.db")
    assert conn.execute("SELECT COUNT(*) FROM health_rollup_state").fetchone() == (1,)
    conn.close()
    r = tsunagu(tmp_path, "events", "import", str(write_jsonl(tmp_path / "f.jsonl", more)))
    assert r.returncode == 0, r.stderr
    r = tsunagu(tmp_path, "health", "refresh")
    assert r.returncode == 0, r.stderr
    assert "0 store(s)" in r.stdout


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stores=st.lists(st.tuples(histories(), st.sampled_from(["JP", "US"])), min_size=2, max_size=7)
)
def test_a_batched_refresh_of_many_stores_equals_full_recompute(
    db: Db, monkeypatch: pytest.MonkeyPatch, stores: list[tuple[dict[str, Any], str]]
) -> None:
    """Issue 13, item 2: many stores touched at once, refreshed in batches (three stores per
    transaction here), each store equals its full recompute after every step."""
    monkeypatch.setattr(refresh_module, "BATCH_STORES", 3)
    sellers = [
        (make_seller(db, name=f"Batch {next(_sellers)}", marketplaces=(code,)), code, h)
        for h, code in stores
    ]
    plans = [
        (seller, code, _answers_need_their_message(build_events(seller, code, h)))
        for seller, code, h in sellers
    ]
    steps = max(len(events) for _, _, events in plans)
    first = stores[0][0]
    now = BASE + timedelta(hours=first["start"])
    for step in range(steps):
        batch = [e for _, _, events in plans if step < len(events) for e in events[step]]
        if batch:
            ingest_all(db, batch, now)
        now += timedelta(hours=first["advances"][step % len(first["advances"])])
        refresh_module.refresh_all(db.factory, db.registry, now)
        with db.session() as session:
            assert not session.query(HealthDirtyMark).count()
        for seller, code, _ in plans:
            fast, full = both(db, seller, code, now)
            assert comparable(fast) == comparable(full)


def test_a_store_another_refresh_holds_is_left_to_it(pg_db: Db) -> None:
    """PostgreSQL: a batch skips a store whose state another refresh has locked (SKIP LOCKED),
    leaving its marks for that refresh or the next one, instead of rebuilding it (issue 13)."""
    seller = make_seller(pg_db, name="Held", marketplaces=("JP",))
    mp = pg_db.registry.require("JP")
    now = BASE + timedelta(days=3)
    ingest_all(pg_db, [placed(seller, "h1", marketplace="JP", when=ts(1), event_id="p-h1")], now)
    refresh_module.refresh_all(pg_db.factory, pg_db.registry, now)
    ingest_all(pg_db, [placed(seller, "h2", marketplace="JP", when=ts(30), event_id="p-h2")], now)
    holder = pg_db.factory()
    try:
        assert rollup_repo.locked_states(holder, [(seller, "JP")])  # the other refresh
        with unit_of_work(pg_db.factory) as session:
            assert refresh_module.refresh_batch(session, [(seller, mp)], now) == []
        with pg_db.session() as session:
            assert session.query(HealthDirtyMark).filter_by(seller_id=seller).count() > 0
    finally:
        holder.rollback()
        holder.close()
    assert refresh_module.refresh_all(pg_db.factory, pg_db.registry, now) == [(seller, "JP")]
    fast, full = both(pg_db, seller, "JP", now)
    assert comparable(fast) == comparable(full)
