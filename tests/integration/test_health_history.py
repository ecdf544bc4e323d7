"""The history from stored days equals a single-day full evaluation of every day (issue 13, item 1).

``incremental.store_history`` reads the kept chains of day tallies (health/history.py) and slides
the metric windows over them; ``service.store_health(day=D)`` reads every fact again for D alone.
Hypothesis feeds random event histories through the real ingest pipeline in steps while the clock
moves on (events stamped before the moment they arrive are late events), refreshes the stored
rollups and chains at random points, and compares every day of the history with the full path,
on SQLite and PostgreSQL. Starts are drawn around Los Angeles' DST changes, and examples below pin
the DST days, a violation ageing out, late events after a refresh and a chain carried on across
days without new events.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Db
from tests.factories import event, make_seller, placed
from tests.integration.test_health_incremental import (
    _answers_need_their_message,
    build_events,
    comparable,
    histories,
    ingest_all,
)
from tsunagu.core.db import unit_of_work
from tsunagu.core.timeutil import format_instant
from tsunagu.health import incremental, rollup_repo, service
from tsunagu.health import refresh as refresh_module
from tsunagu.health.metrics import local_date
from tsunagu.health.models import HealthDayHistory

_sellers = count(1)

#: Starts a few days before Los Angeles moves its clocks (8 March and 1 November 2026).
BASES = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 10, 24, 7, tzinfo=UTC))


def full_days(db: Db, seller: str, code: str, first: date, last: date, now: datetime) -> list[Any]:
    mp = db.registry.require(code)
    with db.session() as session:
        return [
            comparable(
                service.store_health(
                    session,
                    seller_id=seller,
                    marketplace=mp,
                    day=first + timedelta(days=n),
                    now=now,
                )
            )
            for n in range((last - first).days + 1)
        ]


def stored_days(
    db: Db, seller: str, code: str, first: date, last: date, now: datetime
) -> list[Any]:
    mp = db.registry.require(code)
    with db.session() as session:
        days = incremental.store_history(
            session, seller_id=seller, marketplace=mp, start=first, end=last, now=now
        )
    return [comparable(h) for h in days]


def refresh(db: Db, seller: str, code: str, now: datetime) -> None:
    """Today's rollups, then the kept chains carried on to yesterday (what a refresh does)."""
    mp = db.registry.require(code)
    with unit_of_work(db.factory) as session:
        incremental.refresh_store(session, seller_id=seller, marketplace=mp, now=now)
    with unit_of_work(db.factory) as session:
        assert refresh_module.keep_history(session, seller, mp, now)
        refresh_module.keep_summary(session, seller, mp, now)


def assert_history_matches(db: Db, seller: str, code: str, now: datetime, days: int = 120) -> None:
    today = local_date(now, db.registry.require(code).tz)
    first = today - timedelta(days=days - 1)
    assert stored_days(db, seller, code, first, today, now) == full_days(
        db, seller, code, first, today, now
    )


def assert_forecast_matches(db: Db, seller: str, code: str, now: datetime) -> None:
    """The store page's points (kept by the second stage while they hold), today's health (from
    the stored summary while it holds), the forecast and the what-if equal the full path's."""
    mp = db.registry.require(code)
    today = local_date(now, mp.tz)
    with db.session() as session:
        drawn = incremental.history_points(
            session, seller_id=seller, marketplace=mp, days=40, now=now
        )
        expected = [
            incremental.point_of(
                service.store_health(session, seller_id=seller, marketplace=mp, day=d, now=now)
            )
            for d in (today - timedelta(days=n) for n in range(39, -1, -1))
        ]
        assert drawn == expected
        assert comparable(
            incremental.store_health_now(session, seller_id=seller, marketplace=mp, now=now)
        ) == comparable(
            service.store_health(session, seller_id=seller, marketplace=mp, day=None, now=now)
        )
        args: dict[str, Any] = {"seller_id": seller, "marketplace": mp, "day": None, "now": now}
        assert incremental.store_forecast(session, days=200, **args) == service.store_forecast(
            session, days=200, **args
        )
        what_if = {"add_orders": 7, "forecast_days": 30, "resolve": ("v1",)}
        violations = {
            v.violation_id
            for v in service.basis(session, seller, mp, None, now, None, None).violations
        }
        if "v1" not in violations:
            what_if["resolve"] = ()
        assert incremental.store_what_if(session, **what_if, **args) == service.store_what_if(
            session, **what_if, **args
        )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(h=histories(), code=st.sampled_from(["JP", "US", "US"]), base=st.sampled_from(BASES))
def test_every_day_of_the_history_equals_a_single_day_evaluation(
    db: Db, h: dict[str, Any], code: str, base: datetime
) -> None:
    seller = make_seller(db, name=f"History {next(_sellers)}", marketplaces=(code,))
    steps = _answers_need_their_message(build_events(seller, code, h, base))
    now = base + timedelta(hours=h["start"])
    for events, advance, again in zip(steps, h["advances"], h["refresh"], strict=True):
        if events:
            ingest_all(db, events, now)
        now += timedelta(hours=advance)
        if again:
            refresh(db, seller, code, now)
        assert_history_matches(db, seller, code, now)
        assert_forecast_matches(db, seller, code, now)


# --------------------------------------------------------------------------- pinned cases


def _events(seller: str, code: str) -> Any:
    ids = count(1)

    def ev(type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return event(
            type_,
            seller,
            marketplace=code,
            when=format_instant(at),
            event_id=f"h{next(ids)}",
            **fields,
        )

    return ev


def _order(seller: str, code: str, oid: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return placed(
        seller,
        oid,
        marketplace=code,
        when=format_instant(at),
        channel="MFN",
        event_id=f"p-{oid}",
        latest_ship_date=format_instant(at + timedelta(days=2)),
        latest_delivery_date=format_instant(at + timedelta(days=6)),
        **extra,
    )


@pytest.mark.parametrize(
    "around", [datetime(2026, 3, 8, 9, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)]
)
def test_the_dst_days_of_los_angeles(db: Db, around: datetime) -> None:
    """Orders and events right at local midnight on both sides of the 23- and 25-hour days."""
    seller = make_seller(db, name=f"DST {around:%m}", marketplaces=("US",))
    ev = _events(seller, "US")
    events: list[dict[str, Any]] = []
    for n, hours in enumerate((-25, -24, -23, -1, 0, 1, 22, 23, 24, 25, 47)):
        at = around + timedelta(hours=hours)
        events.append(_order(seller, "US", f"d{n}", at))
        events.append(
            ev("order_shipped", at + timedelta(hours=47 + n), order_id=f"d{n}", tracking_id="T")
        )
        if n % 3 == 0:
            events.append(ev("claim_filed", at + timedelta(days=9), order_id=f"d{n}", claim_id="c"))
        if n % 4 == 1:
            events.append(
                ev("order_cancelled", at + timedelta(hours=3), order_id=f"d{n}", by="seller")
            )
    now = around + timedelta(days=3)
    ingest_all(db, events, now)
    refresh(db, seller, "US", now)
    for later in (now, now + timedelta(days=5), now + timedelta(days=40)):
        assert_history_matches(db, seller, "US", later, days=60)
    refresh(db, seller, "US", now + timedelta(days=40))
    assert_history_matches(db, seller, "US", now + timedelta(days=41), days=60)


def test_a_violation_ageing_out_and_late_events_after_a_refresh(db: Db) -> None:
    seller = make_seller(db, name="History ageing", marketplaces=("JP",))
    ev = _events(seller, "JP")
    start = datetime(2026, 1, 5, 3, tzinfo=UTC)
    events = [_order(seller, "JP", f"a{n}", start + timedelta(days=n)) for n in range(0, 60, 3)]
    events.append(
        ev(
            "violation_opened",
            start + timedelta(days=2),
            violation_id="v1",
            policy="p",
            severity="high",
        )
    )
    now = start + timedelta(days=70)
    ingest_all(db, events, now)
    refresh(db, seller, "JP", now)
    # late events: stamped weeks before they arrive, after the chains were kept
    late = [
        ev("order_shipped", start + timedelta(days=n, hours=30), order_id=f"a{n}", tracking_id="")
        for n in range(0, 60, 6)
    ]
    late += [
        ev("feedback_posted", start + timedelta(days=n + 10), order_id=f"a{n}", rating=1)
        for n in range(0, 60, 9)
    ]
    ingest_all(db, late, now + timedelta(days=1))
    assert_history_matches(db, seller, "JP", now + timedelta(days=1), days=90)  # marks pending
    refresh(db, seller, "JP", now + timedelta(days=1))
    assert_history_matches(db, seller, "JP", now + timedelta(days=1), days=90)
    # the violation (opened on 7 January) ages out of the 180-day window in July
    aged = start + timedelta(days=185)
    assert_history_matches(db, seller, "JP", aged, days=20)
    refresh(db, seller, "JP", aged)
    assert_history_matches(db, seller, "JP", aged, days=20)


def test_chains_are_kept_and_carried_on_without_new_events(db: Db) -> None:
    """A refresh keeps one row per selecting day; days later, with no event in between, the
    chains are carried on (not rebuilt) and the history still matches."""
    seller = make_seller(db, name="History kept", marketplaces=("JP",))
    ev = _events(seller, "JP")
    start = datetime(2026, 5, 1, 3, tzinfo=UTC)
    events = []
    for n in range(10):
        at = start + timedelta(days=n)
        events.append(_order(seller, "JP", f"k{n}", at))
        events.append(
            ev("order_shipped", at + timedelta(days=1 + n % 3), order_id=f"k{n}", tracking_id="T")
        )
    now = start + timedelta(days=11)
    ingest_all(db, events, now)
    refresh(db, seller, "JP", now)
    with db.session() as session:
        kept = session.query(HealthDayHistory).filter_by(seller_id=seller).count()
    assert kept >= 10
    later = now + timedelta(days=5)
    assert_history_matches(db, seller, "JP", later, days=30)  # carried on in memory
    refresh(db, seller, "JP", later)
    with db.session() as session:
        rows = session.query(HealthDayHistory).filter_by(seller_id=seller).all()
    assert all(r.next_day is None or r.next_day > "2026-05-16" for r in rows)
    assert_history_matches(db, seller, "JP", later, days=30)


def test_a_store_summary_serves_today_until_an_event_or_a_deadline(db: Db) -> None:
    """Today's health is read from one stored row while it holds; a new event (its dirty mark)
    or the first deadline among the days in the windows makes the read fall back to the day rows,
    and the result equals the full path either way."""
    seller = make_seller(db, name="Summary", marketplaces=("JP",))
    mp = db.registry.require("JP")
    start = datetime(2026, 6, 1, 3, tzinfo=UTC)
    orders = [_order(seller, "JP", f"s{n}", start + timedelta(days=n)) for n in range(8)]
    now = start + timedelta(days=8, hours=1)  # 13:00 in Tokyo on 9 June
    deadline = now + timedelta(hours=1)
    orders.append(
        placed(
            seller,
            "s8",
            marketplace="JP",
            when=format_instant(now - timedelta(hours=1)),
            channel="MFN",
            event_id="p-s8",
            latest_ship_date=format_instant(deadline),
        )
    )
    ingest_all(db, orders, now)
    refresh(db, seller, "JP", now)

    def kept(at: datetime) -> rollup_repo.Summary | None:
        with db.session() as session:
            return rollup_repo.summary(session, seller, "JP", at)

    assert kept(now) is not None
    # s8 must ship within the hour: unshipped past due from then on, so the summary stops
    assert kept(deadline) is not None
    assert kept(deadline + timedelta(microseconds=1)) is None
    assert_forecast_matches(db, seller, "JP", deadline + timedelta(minutes=1))
    ev = _events(seller, "JP")
    ingest_all(db, [ev("order_shipped", now, order_id="s7", tracking_id="T")], now)
    assert kept(now) is None  # a dirty mark waits
    assert_forecast_matches(db, seller, "JP", now)
    with unit_of_work(db.factory) as session:
        incremental.refresh_store(session, seller_id=seller, marketplace=mp, now=now)
    assert kept(now) is None  # the refresh consumed the mark and dropped the summary
    refresh(db, seller, "JP", now)
    assert kept(now) is not None
    assert_forecast_matches(db, seller, "JP", now)


def test_the_page_points_are_kept_and_a_violation_or_an_event_sets_them_aside(db: Db) -> None:
    seller = make_seller(db, name="Points", marketplaces=("US",))
    mp = db.registry.require("US")
    ev = _events(seller, "US")
    start = datetime(2026, 2, 1, 18, tzinfo=UTC)
    orders = [_order(seller, "US", f"p{n}", start + timedelta(days=2 * n)) for n in range(30)]
    now = start + timedelta(days=62)
    ingest_all(db, orders, now)
    refresh(db, seller, "US", now)
    yesterday = local_date(now, mp.tz) - timedelta(days=1)

    def kept() -> list[Any] | None:
        with db.session() as session:
            key = incremental.points_key(session, seller, mp)
            return rollup_repo.points(session, seller, "US", yesterday, key)

    assert len(kept() or []) == incremental.KEPT_POINTS_DAYS
    assert_forecast_matches(db, seller, "US", now)
    opened = ev(
        "violation_opened",
        start + timedelta(days=3),
        violation_id="v1",
        policy="p",
        severity="critical",
    )
    ingest_all(db, [opened], now)
    assert kept() is None  # the violations changed: drawn from the chains until kept again
    assert_forecast_matches(db, seller, "US", now)
    refresh(db, seller, "US", now)
    assert kept() is not None
    assert_forecast_matches(db, seller, "US", now)
    ingest_all(db, [ev("order_shipped", now, order_id="p29", tracking_id="T")], now)
    assert kept() is None  # a dirty mark waits
    assert_forecast_matches(db, seller, "US", now)
