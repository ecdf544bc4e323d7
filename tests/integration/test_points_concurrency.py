"""The points ledger under concurrency, at the service layer, on SQLite and PostgreSQL.

- LED-01: fifty redemptions at once against one balance succeed exactly floor(balance ÷ amount)
  times, each seeing the one before it, and the balance ends at the remainder.
- LED-03: one key sent ten times (at once and one after another) spends once and gets one reply;
  the same key with another request is ``idempotency_mismatch``; a claim still in flight is
  ``idempotency_in_flight`` once the wait runs out, and a claim whose lease ran out is taken over.
- LED-07: UPDATE and DELETE on ledger entries fail in the database itself.
- LED-04 and concurrent settling: settles racing each other, or an operator's post or void,
  resolve every grant once.

SQLite serialises writers (``BEGIN IMMEDIATE``); PostgreSQL relies on row locks, the conditional
UPDATE and unique keys. ``TSUNAGU_LED01_REPEATS`` (default 3) repeats the LED-01 race per backend;
nightly runs set it to 20.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import Db
from tests.factories import event, ingest_events, make_seller
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.customers.service import ensure_customer
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.points import jobs, repo, service, sync
from tsunagu.points.models import PointsEntry, PointsGrant, PointsRedemption
from tsunagu.points.redemptions import Clock, Redeemed, RedemptionRequest, redeem
from tsunagu.settlement.models import SettlementEntry

T = TypeVar("T")
T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
#: every redemption happens at this instant (the balance was earned at T0, so it has not lapsed)
NOW = T0 + timedelta(hours=1)
CUSTOMER = "cust-1"
REPEATS = int(os.environ.get("TSUNAGU_LED01_REPEATS", "3"))


def fixed_clock() -> Clock:
    """The real wait (sleep, monotonic) at a fixed instant."""
    return Clock(now=lambda: NOW)


def fund(db: Db, points: int) -> Marketplace:
    jp = db.registry.require("JP")
    with unit_of_work(db.factory) as session:
        service.earn(
            session,
            marketplace=jp,
            customer=CUSTOMER,
            points=points,
            source="card",
            key="fund",
            now=T0,
        )
    return jp


def available(db: Db) -> int:
    with db.factory() as session:
        return service.balance(
            session, marketplace=db.registry.require("JP"), customer=CUSTOMER
        ).available


def entries(db: Db, kind: str) -> list[PointsEntry]:
    with db.factory() as session:
        return list(
            session.scalars(
                select(PointsEntry).where(PointsEntry.kind == kind).order_by(PointsEntry.id)
            )
        )


def reconciled(db: Db) -> bool:
    with db.factory() as session:
        found = service.reconcile(session)
    assert found.ok, found
    return True


def outcome(call: Callable[[], T]) -> T | TsunaguError:
    try:
        return call()
    except TsunaguError as error:
        return error


def at_once(n: int, call: Callable[[int], T]) -> list[T]:
    """``call(0)`` … ``call(n - 1)`` from ``n`` threads released together."""
    start = threading.Barrier(n)

    def one(i: int) -> T:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


# -- LED-01 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(REPEATS))
def test_fifty_redemptions_at_once_never_overdraw(db: Db, round_: int) -> None:
    """LED-01: 1,000 points, 50 redemptions of 30 at once: 33 succeed, 17 are
    ``insufficient_points``, nothing else is raised, 10 points are left."""
    jp = fund(db, 1000)

    def spend(n: int) -> Redeemed | TsunaguError:
        request = RedemptionRequest(jp, CUSTOMER, f"O-{n}", 30, f"k-{round_}-{n}")
        return outcome(lambda: redeem(db.factory, request, clock=fixed_clock()))

    replies = at_once(50, spend)
    done = [r for r in replies if isinstance(r, Redeemed)]
    refused = [r for r in replies if isinstance(r, TsunaguError)]
    assert len(done) == 1000 // 30 == 33
    assert [(r.code, r.status) for r in refused] == [("insufficient_points", 422)] * 17
    # each spend saw the balance the one before it left: no two read the same balance
    assert sorted(r.body["available"] for r in done) == list(range(10, 1000, 30))
    assert available(db) == 10
    assert len(entries(db, "redeem")) == 33
    assert reconciled(db)


# -- LED-03 ---------------------------------------------------------------------------------------


def test_one_key_ten_times_at_once_spends_once_and_answers_alike(db: Db) -> None:
    """LED-03 (concurrent): ten copies of one request at once. With the default 2 s wait every
    copy gets the first one's reply (none is told ``idempotency_in_flight``); one spend."""
    jp = fund(db, 1000)
    request = RedemptionRequest(jp, CUSTOMER, "O-1", 30, "one-key")
    replies = at_once(10, lambda _: redeem(db.factory, request, clock=fixed_clock()))
    assert {(r.status, repr(sorted(r.body.items()))) for r in replies} == {
        (201, repr(sorted(replies[0].body.items())))
    }
    assert sorted(r.replayed for r in replies) == [False] + [True] * 9
    assert replies[0].body["available"] == 970
    assert len(entries(db, "redeem")) == 1
    assert available(db) == 970
    assert reconciled(db)


def test_one_key_ten_times_in_a_row_spends_once(db: Db) -> None:
    """LED-03 (serial), a refusal included: a stored refusal is replayed as it was."""
    jp = fund(db, 100)
    spend = RedemptionRequest(jp, CUSTOMER, "O-1", 60, "spend")
    replies = [redeem(db.factory, spend, clock=fixed_clock()) for _ in range(10)]
    assert [r.replayed for r in replies] == [False] + [True] * 9
    assert all((r.status, r.body) == (201, replies[0].body) for r in replies)
    too_much = RedemptionRequest(jp, CUSTOMER, "O-2", 60, "too-much")
    refusals = []
    for _ in range(10):
        with pytest.raises(TsunaguError) as refused:
            redeem(db.factory, too_much, clock=fixed_clock())
        refusals.append((refused.value.code, refused.value.status, refused.value.details))
    assert refusals == [("insufficient_points", 422, {"available": 40, "wanted": 60})] * 10
    assert len(entries(db, "redeem")) == 1
    assert available(db) == 40


@pytest.mark.parametrize(
    "change",
    [{"points": 31}, {"order_id": "O-2"}, {"lines": (("book", 5000),)}],
    ids=["points", "order", "lines"],
)
def test_one_key_with_another_request_is_a_mismatch(db: Db, change: dict[str, Any]) -> None:
    """LED-03: the same key with a different body → 422 ``idempotency_mismatch``, no spend."""
    jp = fund(db, 1000)
    request = RedemptionRequest(jp, CUSTOMER, "O-1", 30, "k-1")
    redeem(db.factory, request, clock=fixed_clock())
    with pytest.raises(TsunaguError) as refused:
        redeem(db.factory, replace(request, **change), clock=fixed_clock())
    assert (refused.value.code, refused.value.status) == ("idempotency_mismatch", 422)
    assert available(db) == 970
    assert len(entries(db, "redeem")) == 1


def claim(db: Db, request: RedemptionRequest, claimed_at: datetime) -> str:
    """A claim as a request that died (or is still working) left it: in flight, no reply."""
    with unit_of_work(db.factory) as session:
        customer = ensure_customer(session, marketplace="JP", external_id=CUSTOMER, now=T0)
        assert repo.claim_redemption(
            session,
            {
                "id": "red-first",
                "marketplace": "JP",
                "key": request.key,
                "request_hash": request.fingerprint(),
                "customer_id": customer.id,
                "order_id": request.order_id,
                "points": request.points,
                "state": "in_flight",
                "claimed_at": claimed_at,
            },
        )
    return "red-first"


def no_wait() -> Clock:
    """The injected clock: each reading of the monotonic clock is 100 s after the last, so the
    repeat's wait has run out as soon as it looks."""
    ticks = itertools.count(0, 100)
    return Clock(now=lambda: NOW, sleep=lambda _: None, monotonic=lambda: next(ticks))


def test_a_claim_whose_lease_ran_out_is_taken_over(db: Db) -> None:
    """LED-03: a request that died after claiming its key (60 s lease) does not block the key:
    the repeat takes the claim over, spends once, and later repeats replay its reply."""
    jp = fund(db, 1000)
    request = RedemptionRequest(jp, CUSTOMER, "O-1", 30, "k-dead")
    claimed = claim(db, request, NOW - timedelta(hours=1))
    first = redeem(db.factory, request, clock=no_wait())
    assert (first.status, first.replayed) == (201, False)
    assert first.body["redemption_id"] == claimed
    again = redeem(db.factory, request, clock=no_wait())
    assert (again.body, again.replayed) == (first.body, True)
    assert available(db) == 970
    assert len(entries(db, "redeem")) == 1


@pytest.mark.parametrize("age", [timedelta(0), timedelta(seconds=60)], ids=["new", "at-lease"])
def test_a_claim_still_in_flight_answers_409_when_the_wait_runs_out(db: Db, age: timedelta) -> None:
    """LED-03: while the first request holds the key (its lease not yet over), a repeat whose
    wait ran out is ``idempotency_in_flight`` (409), spends nothing and leaves the claim."""
    jp = fund(db, 1000)
    request = RedemptionRequest(jp, CUSTOMER, "O-1", 30, "k-busy")
    claim(db, request, NOW - age)
    with pytest.raises(TsunaguError) as refused:
        redeem(db.factory, request, clock=no_wait())
    assert (refused.value.code, refused.value.status) == ("idempotency_in_flight", 409)
    assert available(db) == 1000
    assert entries(db, "redeem") == []
    with db.factory() as session:
        states = session.scalars(select(PointsRedemption.state)).all()
    assert states == ["in_flight"]


def test_a_repeat_that_waits_gets_the_first_reply_once_it_is_stored(db: Db) -> None:
    """LED-03: the repeat waits (the injected clock's sleep is where the first request
    finishes) and then replays the stored reply instead of spending again."""
    jp = fund(db, 1000)
    request = RedemptionRequest(jp, CUSTOMER, "O-1", 30, "k-slow")
    claimed = claim(db, request, NOW)
    stored = {"redemption_id": claimed, "points": 30, "available": 970}
    naps: list[float] = []

    def first_request_finishes(seconds: float) -> None:
        naps.append(seconds)
        with unit_of_work(db.factory) as session:
            repo.finish_redemption(session, claimed, 201, orjson.dumps(stored).decode(), NOW)

    reply = redeem(db.factory, request, clock=Clock(now=lambda: NOW, sleep=first_request_finishes))
    assert len(naps) == 1
    assert (reply.status, reply.body, reply.replayed) == (201, stored, True)
    assert entries(db, "redeem") == []


# -- LED-07 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE points_entries SET amount = amount + 1", "DELETE FROM points_entries"],
    ids=["update", "delete"],
)
def test_ledger_entries_cannot_be_changed_or_deleted(db: Db, statement: str) -> None:
    """LED-07: the database refuses to UPDATE or DELETE an entry; a correction is a new one."""
    fund(db, 1000)
    before = [(e.id, e.kind, e.amount) for e in entries(db, "grant_pending") + entries(db, "post")]
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    after = [(e.id, e.kind, e.amount) for e in entries(db, "grant_pending") + entries(db, "post")]
    assert after == before
    assert reconciled(db)


# -- settling at the same time (LED-04, LED-09) ---------------------------------------------------


def store_with_orders(db: Db, orders: list[tuple[str, str, int, bool]]) -> None:
    """A JP store at 10 % and its orders: (order id, customer, price, shipped at T0)."""
    seller = make_seller(db, marketplaces=("JP",))
    with unit_of_work(db.factory) as session:
        service.set_rate(
            session,
            seller_id=seller,
            marketplace=db.registry.require("JP"),
            rate=10,
            sku=None,
            actor="test",
            now=T0,
        )
    events = []
    for order_id, customer, price, shipped in orders:
        events.append(
            event(
                "order_placed",
                seller,
                when=T0.isoformat(),
                order_id=order_id,
                channel="MFN",
                currency="JPY",
                customer_id=customer,
                items=[{"sku": "TEA", "quantity": 1, "price": price}],
            )
        )
        if shipped:
            events.append(event("order_shipped", seller, when=T0.isoformat(), order_id=order_id))
    ingest_events(db, events, now=T0)


def settle_at(db: Db, as_of: datetime) -> dict[str, Any]:
    with unit_of_work(db.factory) as session:
        return jobs.settle(session, registry=db.registry, as_of=as_of)


def grant_of(db: Db, order_id: str) -> str:
    with db.factory() as session:
        return session.scalars(select(PointsGrant.id).where(PointsGrant.order_id == order_id)).one()


def test_settles_at_the_same_time_post_each_grant_once(db: Db) -> None:
    """Four ``points.settle`` runs for one instant at once (a retried job racing the first):
    every grant is posted once, the store charged once per grant, the ledger balances."""
    store_with_orders(db, [(f"O-{n}", f"c-{n % 3}", 1000 * (n + 1), True) for n in range(12)])
    runs = at_once(4, lambda _: settle_at(db, T0 + timedelta(days=2)))
    assert sum(r["posted"] for r in runs) == 12
    posts = entries(db, "post")
    assert len(posts) == len({e.grant_id for e in posts}) == 12
    assert sum(e.amount for e in posts) == sum(100 * (n + 1) for n in range(12))
    with db.factory() as session:
        charged = session.scalar(
            select(func.count())
            .select_from(SettlementEntry)
            .where(SettlementEntry.key.like("points_cost:%"))
        )
        states = set(session.scalars(select(PointsGrant.state)))
    assert charged == 12
    assert states == {"posted"}
    assert reconciled(db)


def racing_a_settle(db: Db, hold: Callable[[Any], object], settle_as_of: datetime) -> Any:
    """Run ``hold`` in a transaction left open, start a settle, let it run into a lock that
    ``hold`` holds (PostgreSQL shows it waiting), then commit ``hold``; the settle's outcome,
    a result or the exception it raised. The interleaving is forced, not hoped for."""
    holder = db.factory()
    hold(holder)
    result: list[Any] = []

    def settle() -> None:
        try:
            with unit_of_work(db.factory) as session:
                result.append(jobs.settle(session, registry=db.registry, as_of=settle_as_of))
        except Exception as error:  # reported below, not swallowed
            result.append(error)

    thread = threading.Thread(target=settle)
    thread.start()
    with db.engine.connect() as probe:
        for _ in range(3000):  # until the settle waits on a lock (or 30 s: then go on anyway)
            waiting = probe.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            probe.rollback()
            if waiting:
                break
            time.sleep(0.01)
    holder.commit()
    holder.close()
    thread.join()
    return result[0]


@pytest.mark.pg
def test_a_grant_voided_while_a_settle_runs_is_not_posted(pg_db: Db) -> None:
    """LED-04 on PostgreSQL: an operator voids a due grant while ``points.settle`` runs. The
    settle read the grant as pending before the void committed; it must not post it after.
    (SQLite cannot interleave them: its writers queue at ``BEGIN IMMEDIATE``.)"""
    db = pg_db
    # c-0's second order is not shipped: its pending points stay on the balance, so a wrong
    # post of the voided grant would not even trip the CHECK (pending >= 0)
    store_with_orders(db, [("O-1", "c-0", 1000, True), ("O-2", "c-0", 5000, False)])
    settle_at(db, T0)
    grant_id = grant_of(db, "O-1")

    def void(session: Any) -> None:
        sync.void_now(session, grant_id=grant_id, reason="operator", at=T0 + timedelta(hours=2))

    outcome_ = racing_a_settle(db, void, T0 + timedelta(days=2))
    with db.factory() as session:
        kinds = session.scalars(
            select(PointsEntry.kind)
            .where(PointsEntry.grant_id == grant_id)
            .order_by(PointsEntry.id)
        ).all()
        state = session.scalar(select(PointsGrant.state).where(PointsGrant.id == grant_id))
        balance = service.balance(session, marketplace=db.registry.require("JP"), customer="c-0")
    assert not isinstance(outcome_, Exception), outcome_
    assert kinds == ["grant_pending", "void"]
    assert state == "voided"
    assert (balance.pending, balance.available) == (500, 0)
    assert reconciled(db)


@pytest.mark.pg
def test_a_grant_posted_by_hand_while_a_settle_runs_is_posted_once(pg_db: Db) -> None:
    """LED-04 on PostgreSQL: an operator posts a due grant while ``points.settle`` runs: one
    post entry, one charge to the store (every write is keyed)."""
    db = pg_db
    store_with_orders(db, [("O-1", "c-0", 1000, True)])
    settle_at(db, T0)
    grant_id = grant_of(db, "O-1")
    jp = db.registry.require("JP")

    def post(session: Any) -> None:
        sync.post_now(session, grant_id=grant_id, marketplace=jp, at=T0 + timedelta(hours=2))

    outcome_ = racing_a_settle(db, post, T0 + timedelta(days=2))
    assert not isinstance(outcome_, Exception), outcome_
    assert [e.grant_id for e in entries(db, "post")] == [grant_id]
    with db.factory() as session:
        charged = session.scalar(
            select(func.count())
            .select_from(SettlementEntry)
            .where(SettlementEntry.key.like("points_cost:%"))
        )
        balance = service.balance(session, marketplace=jp, customer="c-0")
    assert charged == 1
    assert (balance.pending, balance.available) == (0, 100)
    assert reconciled(db)
