"""The points ledger against a reference model, step by step (LED-02, LED-04, LED-10).

A Hypothesis ``RuleBasedStateMachine`` drives the real service: orders placed (prices, SKU
rates, an explicit ``points``, deal lines), shipped, cancelled and refunded (by line or whole)
come in as events through the import pipeline; ``jobs.settle`` reads them and posts what is due;
customers redeem (new keys, a few at once from threads, old keys again, which must replay, and
old keys with another request), earn from a card, and lose their balance at expiry
(``jobs.run_expiry``, or lazily at the instant); an operator posts or voids grants by hand.
A plain-Python model of the rules (issue 15, ADR 0029) says what every balance and grant should
be. After every step:

- LED-02: ``service.reconcile`` is ok: all accounts sum to 0, each cached balance equals the
  sum of its entries, none is negative;
- every customer's pending, available and expiry are the model's, and so are each grant's state,
  pending, posted and clawed-back points;
- LED-04: a grant resolves once: a manual post or void of a grant resolved before is refused
  with ``grant_already_posted`` / ``grant_already_voided`` (409) and changes nothing;
- LED-10 (clawback): after refunds totalling R of a line priced P that earned N points,
  ``floor(N × R ÷ P)`` have been taken back in all; what the customer no longer has is recorded
  as shortfall (the model's totals per customer) and the balance never goes below zero.

Every example gets an empty database: a copy of the migrated SQLite template (the one the
``sqlite_db`` fixture copies), or on PostgreSQL the ``pg_db`` fixture's TRUNCATE of every table
(row triggers, such as the ledger's append-only one, do not fire on TRUNCATE).

Examples: ``TSUNAGU_STATEFUL_EXAMPLES`` (default 200) × up to 50 steps on SQLite (about 80 s
on the 2-core machine) and ``TSUNAGU_STATEFUL_PG_EXAMPLES`` (default 25, about 20 s) on
PostgreSQL; nightly runs set them to 2000 and more. A failure is shrunk, stored in Hypothesis'
example database (``.hypothesis/``) and replayed first on the next run; ``print_blob`` prints a
``@reproduce_failure`` line that replays it anywhere, and ``--hypothesis-seed`` replays a run:
the seed-plus-commit replay of TigerBeetle's VOPR.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from tests.conftest import Db, _pg_db
from tests.factories import event, ingest_events, make_seller
from tsunagu.core.db import make_engine, make_sessionmaker, unit_of_work
from tsunagu.core.errors import TsunaguError
from tsunagu.customers.models import Customer
from tsunagu.marketplaces.registry import load_registry
from tsunagu.points import jobs, service, sync
from tsunagu.points.models import PointsEntry, PointsGrant
from tsunagu.points.redemptions import (
    Clock,
    Redeemed,
    RedemptionRequest,
    check_request,
    redeem,
)

T = TypeVar("T")

SQLITE_EXAMPLES = int(os.environ.get("TSUNAGU_STATEFUL_EXAMPLES", "200"))
PG_EXAMPLES = int(os.environ.get("TSUNAGU_STATEFUL_PG_EXAMPLES", "25"))
STEPS = 50

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")
CUSTOMERS = ("c-1", "c-2", "c-3")
STORE_RATE = 10
#: each SKU's rate: its own override, or the store's
RATES = {"TEA": STORE_RATE, "POT": 3, "BAG": 0}
SETTLING = timedelta(hours=24)
#: the model's handler of each event type
SYNCED = {"order_shipped": "shipped", "order_cancelled": "cancelled", "refund_issued": "refunded"}
EXCLUDED = frozenset({"gift_card", "amazon_coins", "fresh_grocery", "digital_content"})


# -- the reference model --------------------------------------------------------------------------


def a_year_after(t: datetime) -> datetime:
    """The same Tokyo date and time a calendar year later (29 February → 28 February)."""
    local = t.astimezone(TOKYO)
    try:
        later = local.replace(year=local.year + 1)
    except ValueError:
        later = local.replace(year=local.year + 1, day=28)
    return later.astimezone(UTC)


def earned(items: list[dict[str, Any]], explicit: int | None) -> list[int]:
    """Each line's points: the order's explicit number split by price (floor, the remainder to
    the first of the largest lines), else floor(price × rate ÷ 100), a deal line nothing."""
    prices = [i["price"] for i in items]
    if explicit is None:
        return [0 if i["no_points"] else i["price"] * RATES[i["sku"]] // 100 for i in items]
    if sum(prices) == 0:
        return [explicit] + [0] * (len(items) - 1)
    shares = [explicit * p // sum(prices) for p in prices]
    shares[prices.index(max(prices))] += explicit - sum(shares)
    return shares


def taken_back(points: int, refunded: int, price: int) -> int:
    """LED-10: floor(points × refunded ÷ price) in all, everything once the price is refunded."""
    return points if price == 0 or refunded >= price else points * refunded // price


@dataclass
class Account:
    pending: int = 0
    available: int = 0
    shortfall: int = 0
    last_acquired: datetime | None = None
    last_order: datetime | None = None

    @property
    def expires_at(self) -> datetime | None:
        later = max((t for t in (self.last_acquired, self.last_order) if t), default=None)
        return a_year_after(later) if later is not None else None

    def acquired(self, at: datetime) -> None:
        self.last_acquired = max(at, self.last_acquired or at)


@dataclass
class Line:
    sku: str
    price: int
    points: int
    refunded: int = 0


@dataclass
class Grant:
    customer: str
    lines: list[Line]
    pending: int
    state: str = "pending"
    posted: int = 0
    clawed: int = 0
    order_refunded: int = 0
    shipped_at: datetime | None = None
    available_at: datetime | None = None

    @property
    def points(self) -> int:
        return sum(ln.points for ln in self.lines)

    def clawback_target(self) -> int:
        by_line = sum(taken_back(ln.points, ln.refunded, ln.price) for ln in self.lines)
        price = sum(ln.price for ln in self.lines)
        whole = taken_back(self.points, self.order_refunded, price) if self.order_refunded else 0
        return min(self.points, by_line + whole)


@dataclass
class Order:
    customer: str
    items: list[dict[str, Any]]
    explicit: int | None
    shipped: bool = False
    cancelled: bool = False


@dataclass
class Model:
    """What the ledger should hold. Events wait in ``unsynced`` until a settle reads them, in
    the order they were imported, each at its own time, as the service does.

    Expiry (ADR 0029) is a balance's whole available amount at its instant; besides the job,
    it is applied at the moment of anything that acquires, orders, spends or takes back points,
    so the balance lapses once, however late the job runs."""

    accounts: dict[str, Account] = field(default_factory=lambda: defaultdict(Account))
    grants: dict[str, Grant] = field(default_factory=dict)
    unsynced: list[tuple[str, str, datetime, dict[str, Any]]] = field(default_factory=list)
    #: (customer, expiry instant) of every expiry written: one per instant
    expired: set[tuple[str, datetime]] = field(default_factory=set)

    def lapse(self, customer: str, moment: datetime) -> None:
        """The balance expires if its instant came at or before ``moment``."""
        account = self.accounts[customer]
        expiry = account.expires_at
        if expiry is None or expiry > moment or account.available <= 0:
            return
        if (customer, expiry) not in self.expired:
            self.expired.add((customer, expiry))
            account.available = 0

    def settle(self, as_of: datetime) -> None:
        for kind, order_id, at, body in self.unsynced:
            if kind != "placed":
                grant = self.grants.get(order_id)
                if grant is None:
                    continue
                if grant.state == "pending" and grant.available_at and grant.available_at <= at:
                    self.post(grant, grant.available_at)  # it had settled before the event
            getattr(self, f"_{kind}")(order_id, at, body)
        self.unsynced.clear()
        due = [
            g
            for g in self.grants.values()
            if g.state == "pending" and g.available_at and g.available_at <= as_of
        ]
        for grant in sorted(due, key=lambda g: g.available_at or as_of):
            self.post(grant, grant.available_at or as_of)

    def expire(self, as_of: datetime) -> None:
        self.settle(as_of)
        for customer in list(self.accounts):
            self.lapse(customer, as_of)

    def post(self, grant: Grant, at: datetime) -> None:
        self.lapse(grant.customer, at)
        account = self.accounts[grant.customer]
        account.pending -= grant.pending
        account.available += grant.pending
        account.acquired(at)
        grant.posted, grant.pending, grant.state = grant.pending, 0, "posted"

    def void(self, grant: Grant) -> None:
        self.accounts[grant.customer].pending -= grant.pending
        grant.pending, grant.state = 0, "voided"

    def earn(self, customer: str, points: int, now: datetime) -> None:
        self.lapse(customer, now)
        account = self.accounts[customer]
        account.available += points
        account.acquired(now)

    def redeem(self, customer: str, points: int, now: datetime) -> bool:
        """Spend ``points`` unless the balance is short or has lapsed."""
        account = self.accounts[customer]
        expiry = account.expires_at
        if account.available < points or (expiry is not None and expiry <= now):
            self.lapse(customer, now)
            return False
        account.available -= points
        return True

    def _placed(self, order_id: str, at: datetime, order: dict[str, Any]) -> None:
        self.lapse(order["customer"], at)
        account = self.accounts[order["customer"]]
        account.last_order = max(at, account.last_order or at)
        points = earned(order["items"], order["explicit"])
        if sum(points) > 0:
            lines = [
                Line(i["sku"], i["price"], p) for i, p in zip(order["items"], points, strict=True)
            ]
            self.grants[order_id] = Grant(order["customer"], lines, pending=sum(points))
            account.pending += sum(points)

    def _shipped(self, order_id: str, at: datetime, body: dict[str, Any]) -> None:
        grant = self.grants[order_id]
        if grant.shipped_at is None:
            grant.shipped_at, grant.available_at = at, at + SETTLING

    def _cancelled(self, order_id: str, at: datetime, body: dict[str, Any]) -> None:
        grant = self.grants[order_id]
        if grant.state == "pending" and grant.shipped_at is None:
            self.void(grant)

    def _refunded(self, order_id: str, at: datetime, body: dict[str, Any]) -> None:
        grant = self.grants[order_id]
        line = next((ln for ln in grant.lines if ln.sku == body.get("sku")), None)
        if line is not None:
            line.refunded += body["amount"]
        else:
            grant.order_refunded += body["amount"]
        target = grant.clawback_target()
        delta = target - grant.clawed
        if delta <= 0 or grant.state == "voided":
            return
        grant.clawed = target
        account = self.accounts[grant.customer]
        if grant.state == "pending":
            account.pending -= delta
            grant.pending -= delta
            if grant.pending == 0:
                grant.state = "voided"
            return
        self.lapse(grant.customer, at)
        taken = min(delta, account.available)
        account.available -= taken
        account.shortfall += delta - taken


# -- fresh databases ------------------------------------------------------------------------------


@contextmanager
def sqlite_copy(template: Path, folder: Path) -> Iterator[Db]:
    """A copy of the migrated template, as the ``sqlite_db`` fixture makes, in a new file."""
    path = folder / f"stateful-{next(_files)}.db"
    shutil.copyfile(template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        yield Db("sqlite", url, engine, make_sessionmaker(engine), load_registry(None))
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


_files = itertools.count(1)


#: the ``pg_db`` fixture's reset (TRUNCATE of every table) as a context manager
pg_emptied = contextmanager(_pg_db)


def outcome(call: Callable[[], T]) -> T | TsunaguError:
    """What ``call`` returned, or the refusal it raised."""
    try:
        return call()
    except TsunaguError as error:
        return error


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


# -- the machine ----------------------------------------------------------------------------------

customers = st.sampled_from(CUSTOMERS)
items = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.sampled_from(sorted(RATES)),
            "price": st.one_of(
                st.integers(0, 30_000), st.sampled_from([0, 1, 99, 100, 1000, 1980])
            ),
            "no_points": st.sampled_from([False, False, False, True]),
        }
    ),
    min_size=1,
    max_size=3,
)
checkout_lines = st.none() | st.lists(
    st.tuples(
        st.sampled_from([None, "book", "ebook", "gift_card", "digital_content"]),
        st.integers(0, 3000),
    ),
    min_size=1,
    max_size=3,
)


class LedgerMachine(RuleBasedStateMachine):
    """One store in JP at 10% (POT at 3%, BAG at 0%), three customers."""

    def __init__(self, open_db: Callable[[], AbstractContextManager[Db]]) -> None:
        super().__init__()
        self.stack = ExitStack()
        self.db: Db = self.stack.enter_context(open_db())
        self.jp = self.db.registry.require("JP")
        self.seller = make_seller(self.db, marketplaces=("JP",))
        with unit_of_work(self.db.factory) as session:
            for sku, rate in (("", STORE_RATE), *((s, r) for s, r in RATES.items() if s != "TEA")):
                service.set_rate(
                    session,
                    seller_id=self.seller,
                    marketplace=self.jp,
                    rate=rate,
                    sku=sku or None,
                    actor="test",
                    now=T0,
                )
        self.now = T0
        self.model = Model()
        self.orders: dict[str, Order] = {}
        self.ids = itertools.count(1)
        #: every redemption asked for, with its first reply
        self.redeemed: list[tuple[RedemptionRequest, Redeemed | TsunaguError]] = []
        self.earned: list[dict[str, Any]] = []
        self.clock = Clock(now=lambda: self.now)

    def teardown(self) -> None:
        self.stack.close()

    # -- helpers ----------------------------------------------------------------------------------

    def send(self, type_: str, order_id: str, **fields: Any) -> None:
        ingest_events(
            self.db,
            [event(type_, self.seller, when=iso(self.now), order_id=order_id, **fields)],
            now=self.now,
        )
        self.model.unsynced.append((SYNCED[type_], order_id, self.now, fields))

    def grant_id(self, order_id: str) -> str:
        with self.db.factory() as session:
            return session.scalars(
                select(PointsGrant.id).where(PointsGrant.order_id == order_id)
            ).one()

    # -- orders -----------------------------------------------------------------------------------

    @rule(customer=customers, lines=items, explicit=st.none() | st.integers(0, 3000))
    def place_order(self, customer: str, lines: list[dict[str, Any]], explicit: int | None) -> None:
        order_id = f"O-{next(self.ids)}"
        body: dict[str, Any] = {
            "channel": "MFN",
            "currency": "JPY",
            "customer_id": customer,
            "items": [
                {"sku": i["sku"], "quantity": 1, "price": i["price"]}
                | ({"no_points": True} if i["no_points"] else {})
                for i in lines
            ],
        }
        if explicit is not None:
            body["points"] = explicit
        ingest_events(
            self.db,
            [event("order_placed", self.seller, when=iso(self.now), order_id=order_id, **body)],
            now=self.now,
        )
        order = Order(customer, lines, explicit)
        self.orders[order_id] = order
        self.model.unsynced.append(
            (
                "placed",
                order_id,
                self.now,
                {"customer": customer, "items": lines, "explicit": explicit},
            )
        )

    def open_orders(self) -> list[str]:
        return [o for o, order in self.orders.items() if not (order.shipped or order.cancelled)]

    @precondition(lambda self: self.open_orders())
    @rule(data=st.data(), ships=st.sampled_from([True, True, True, False]))
    def ship_or_cancel(self, data: st.DataObject, ships: bool) -> None:
        """An open order ships (three times in four) or is cancelled before it ships."""
        order_id = data.draw(st.sampled_from(self.open_orders()), label="order")
        if ships:
            self.orders[order_id].shipped = True
            self.send("order_shipped", order_id)
        else:
            self.orders[order_id].cancelled = True
            self.send("order_cancelled", order_id, by="buyer")

    @precondition(lambda self: any(not o.cancelled for o in self.orders.values()))
    @rule(data=st.data(), by_line=st.booleans())
    def refund(self, data: st.DataObject, by_line: bool) -> None:
        """Part of an order (or all of it, or more), naming a line's SKU or none."""
        order_id = data.draw(
            st.sampled_from([o for o, order in self.orders.items() if not order.cancelled]),
            label="order",
        )
        order = self.orders[order_id]
        if by_line:
            line = data.draw(st.sampled_from(order.items), label="line")
            amount = data.draw(st.integers(1, max(1, line["price"])), label="amount")
            self.send("refund_issued", order_id, amount=amount, sku=line["sku"])
        else:
            total = sum(i["price"] for i in order.items)
            amount = data.draw(st.integers(1, max(1, total)), label="amount")
            self.send("refund_issued", order_id, amount=amount)

    # -- the jobs ---------------------------------------------------------------------------------

    @rule(hours=st.sampled_from([0, 1, 6, 23, 24, 25, 72, 24 * 200, 24 * 366]))
    def settle(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        with unit_of_work(self.db.factory) as session:
            jobs.settle(session, registry=self.db.registry, as_of=self.now)
        self.model.settle(self.now)

    @precondition(lambda self: any(a.expires_at for a in self.model.accounts.values()))
    @rule(
        data=st.data(),
        after=st.sampled_from([timedelta(seconds=-1), timedelta(0), timedelta(days=3)]),
    )
    def run_expiry(self, data: st.DataObject, after: timedelta) -> None:
        """At (or just before, or after) a customer's expiry, never back in time."""
        expiries = sorted(a.expires_at for a in self.model.accounts.values() if a.expires_at)
        expiry = data.draw(st.sampled_from(expiries), label="expiry")
        self.now = max(self.now, expiry + after)
        with unit_of_work(self.db.factory) as session:
            jobs.run_expiry(session, registry=self.db.registry, as_of=self.now)
        self.model.expire(self.now)

    # -- redemptions and outside points -----------------------------------------------------------

    @rule(
        customer=customers,
        points=st.integers(1, 2000),
        lines=checkout_lines,
    )
    def redeem(
        self, customer: str, points: int, lines: list[tuple[str | None, int]] | None
    ) -> None:
        n = next(self.ids)
        request = check_request(
            marketplace=self.jp,
            customer=customer,
            order_id=f"R-{n}",
            points=points,
            key=f"k-{n}",
            lines=lines,
        )
        eligible = sum(p for c, p in lines if (c or "") not in EXCLUDED) if lines else None
        reply = outcome(lambda: redeem(self.db.factory, request, clock=self.clock))
        if eligible is not None and points > eligible:
            assert isinstance(reply, TsunaguError), reply
            assert (reply.code, reply.status) == ("exceeds_eligible_amount", 422)
        elif not self.model.redeem(customer, points, self.now):
            assert isinstance(reply, TsunaguError), reply
            assert (reply.code, reply.status) == ("insufficient_points", 422)
        else:
            assert isinstance(reply, Redeemed), reply
            assert (reply.status, reply.replayed) == (201, False)
            assert reply.body["points"] == points
            assert reply.body["available"] == self.model.accounts[customer].available
        self.redeemed.append((request, reply))

    @rule(customer=customers, amounts=st.lists(st.integers(1, 1500), min_size=2, max_size=3))
    def redeem_at_once(self, customer: str, amounts: list[int]) -> None:
        """LED-01 inside the machine: a few redemptions of one customer released together.
        The replies must be those of the same redemptions made one after another in some
        order (each spend sees the balance the one before it left)."""
        requests = []
        for points in amounts:
            n = next(self.ids)
            requests.append(
                check_request(
                    marketplace=self.jp,
                    customer=customer,
                    order_id=f"R-{n}",
                    points=points,
                    key=f"k-{n}",
                    lines=None,
                )
            )
        start = threading.Barrier(len(requests))

        def one(request: RedemptionRequest) -> Redeemed | TsunaguError:
            start.wait()
            return outcome(lambda: redeem(self.db.factory, request, clock=self.clock))

        with ThreadPoolExecutor(len(requests)) as pool:
            replies = list(pool.map(one, requests))
        for order in itertools.permutations(range(len(requests))):
            model = copy.deepcopy(self.model)
            if all(self.same_reply(model, customer, amounts[i], replies[i]) for i in order):
                self.model = model
                break
        else:
            raise AssertionError(f"no serial order gives {replies} for {amounts}")
        self.redeemed.extend(zip(requests, replies, strict=True))

    def same_reply(self, model: Model, customer: str, points: int, reply: object) -> bool:
        """Whether ``reply`` is what the next redemption of ``points`` would get in ``model``."""
        if model.redeem(customer, points, self.now):
            return (
                isinstance(reply, Redeemed)
                and reply.body["available"] == model.accounts[customer].available
            )
        return isinstance(reply, TsunaguError) and reply.code == "insufficient_points"

    @precondition(lambda self: self.redeemed)
    @rule(data=st.data(), same=st.booleans())
    def redeem_with_an_earlier_key(self, data: st.DataObject, same: bool) -> None:
        """LED-03: the same key and request replays the first reply, success or refusal, and
        spends nothing; the same key with another request is ``idempotency_mismatch``."""
        request, first = data.draw(st.sampled_from(self.redeemed), label="earlier")
        if not same:
            request = dataclasses.replace(request, points=request.points + 1)
        again = outcome(lambda: redeem(self.db.factory, request, clock=self.clock))
        if not same:
            assert isinstance(again, TsunaguError), again
            assert (again.code, again.status) == ("idempotency_mismatch", 422)
        elif isinstance(first, Redeemed):
            assert isinstance(again, Redeemed), again
            assert (again.status, again.body, again.replayed) == (first.status, first.body, True)
        else:
            assert isinstance(again, TsunaguError), again
            assert (again.code, again.status, again.details) == (
                first.code,
                first.status,
                first.details,
            )

    @rule(customer=customers, points=st.integers(1, 3000), source=st.sampled_from(["card", "Rail"]))
    def earn(self, customer: str, points: int, source: str) -> None:
        """Points from a card: available at once, an acquisition for the expiry."""
        asked: dict[str, Any] = {
            "customer": customer,
            "points": points,
            "source": source,
            "key": f"e-{next(self.ids)}",
        }
        with unit_of_work(self.db.factory) as session:
            service.earn(session, marketplace=self.jp, now=self.now, **asked)
        self.model.earn(customer, points, self.now)
        self.earned.append(asked)

    @precondition(lambda self: self.earned)
    @rule(data=st.data(), same=st.booleans())
    def earn_again(self, data: st.DataObject, same: bool) -> None:
        """The same key again changes nothing; with other points it is refused."""
        asked = dict(data.draw(st.sampled_from(self.earned), label="earlier"))
        if not same:
            asked["points"] += 1

        def again() -> service.Balance:
            with unit_of_work(self.db.factory) as session:
                return service.earn(session, marketplace=self.jp, now=self.now, **asked)

        reply = outcome(again)
        if same:
            assert isinstance(reply, service.Balance), reply
        else:
            assert isinstance(reply, TsunaguError), reply
            assert reply.code == "idempotency_mismatch"

    # -- a grant by hand (LED-04) ------------------------------------------------------------------

    @precondition(lambda self: self.model.grants)
    @rule(data=st.data(), post=st.booleans())
    def resolve_by_hand(self, data: st.DataObject, post: bool) -> None:
        """Post or void a grant now; one resolved before is refused with its own code."""
        order_id = data.draw(st.sampled_from(sorted(self.model.grants)), label="grant")
        grant = self.model.grants[order_id]
        grant_id = self.grant_id(order_id)

        def resolve() -> PointsGrant:
            with unit_of_work(self.db.factory) as session:
                if post:
                    return sync.post_now(
                        session, grant_id=grant_id, marketplace=self.jp, at=self.now
                    )
                return sync.void_now(session, grant_id=grant_id, reason="operator", at=self.now)

        reply = outcome(resolve)
        if isinstance(reply, TsunaguError):
            assert grant.state != "pending", reply
            assert (reply.code, reply.status) == (f"grant_already_{grant.state}", 409)
            return
        assert grant.state == "pending", f"{grant.state} grant {order_id} resolved again"
        if post:
            grant.available_at = grant.available_at or self.now
            self.model.post(grant, grant.available_at)
        else:
            self.model.void(grant)

    # -- after every step -------------------------------------------------------------------------

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        """LED-02: Σ of all accounts is 0, cached = Σ entries, nothing negative; every balance,
        grant and recorded shortfall (LED-10) is the model's."""
        with self.db.factory() as session:
            found = service.reconcile(session)
            assert found.ok, found
            for customer in CUSTOMERS:
                want = self.model.accounts.get(customer, Account())
                got = service.balance(session, marketplace=self.jp, customer=customer)
                assert (got.pending, got.available, got.expires_at) == (
                    want.pending,
                    want.available,
                    want.expires_at,
                ), customer
            grants = session.execute(
                select(
                    PointsGrant.order_id,
                    PointsGrant.state,
                    PointsGrant.pending,
                    PointsGrant.posted,
                    PointsGrant.clawed,
                )
            ).all()
            shortfalls = session.execute(
                select(Customer.external_id, func.sum(PointsEntry.shortfall))
                .join(Customer, Customer.id == PointsEntry.customer_id)
                .group_by(Customer.external_id)
            ).all()
        assert {order_id: tuple(rest) for order_id, *rest in grants} == {
            o: (g.state, g.pending, g.posted, g.clawed) for o, g in self.model.grants.items()
        }
        assert {c: int(n) for c, n in shortfalls if n} == {
            c: a.shortfall for c, a in self.model.accounts.items() if a.shortfall
        }


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=STEPS,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.mark.slow
def test_ledger_follows_the_model_on_sqlite(sqlite_template: Path, tmp_path: Path) -> None:
    """LED-02, LED-04, LED-10 on SQLite. To replay a printed blob, decorate ``machine`` with
    the ``@reproduce_failure(...)`` line."""

    def machine() -> LedgerMachine:
        return LedgerMachine(lambda: sqlite_copy(sqlite_template, tmp_path))

    run_state_machine_as_test(machine, settings=_settings(SQLITE_EXAMPLES))


@pytest.mark.slow
@pytest.mark.pg
def test_ledger_follows_the_model_on_postgresql(pg_database: str) -> None:
    """LED-02, LED-04, LED-10 on PostgreSQL (fewer examples: each empties every table)."""

    def machine() -> LedgerMachine:
        return LedgerMachine(lambda: pg_emptied(pg_database))

    run_state_machine_as_test(machine, settings=_settings(PG_EXAMPLES))


# -- a worked example the machine found -----------------------------------------------------------


def test_a_refund_after_the_expiry_instant_finds_the_balance_lapsed(db: Db) -> None:
    """LED-10 with ADR 0029's expiry at its instant: "the balance lapses once however late the
    job runs", so a clawback after the instant finds nothing left and records a shortfall.
    c-1's job ran at the instant, c-2's only after the refund: both histories read the same."""
    seller = make_seller(db, marketplaces=("JP",))
    jp = db.registry.require("JP")
    with unit_of_work(db.factory) as session:
        service.set_rate(
            session, seller_id=seller, marketplace=jp, rate=10, sku=None, actor="test", now=T0
        )
    day = timedelta(days=1)
    ingest_events(
        db,
        [
            event(
                "order_placed",
                seller,
                when=iso(T0 + n * day),
                order_id=f"O-{n}",
                channel="MFN",
                currency="JPY",
                customer_id=f"c-{n}",
                items=[{"sku": "TEA", "quantity": 1, "price": 1000}],
            )
            for n in (1, 2)
        ]
        + [
            event("order_shipped", seller, when=iso(T0 + n * day), order_id=f"O-{n}")
            for n in (1, 2)
        ],
        now=T0 + 2 * day,
    )
    with unit_of_work(db.factory) as session:
        jobs.settle(session, registry=db.registry, as_of=T0 + 3 * day)
    first, second = (a_year_after(T0 + n * day + SETTLING) for n in (1, 2))
    with unit_of_work(db.factory) as session:
        jobs.run_expiry(session, registry=db.registry, as_of=first)  # c-1's job on time
    late = second + day
    ingest_events(
        db,
        [
            event("refund_issued", seller, when=iso(late), order_id=f"O-{n}", amount=100)
            for n in (1, 2)
        ],
        now=late,
    )
    with unit_of_work(db.factory) as session:
        jobs.settle(session, registry=db.registry, as_of=late)
        jobs.run_expiry(session, registry=db.registry, as_of=late)  # c-2's job, late
    with db.factory() as session:
        rows = session.execute(
            select(
                Customer.external_id, PointsEntry.kind, PointsEntry.amount, PointsEntry.shortfall
            )
            .join(Customer, Customer.id == PointsEntry.customer_id)
            .order_by(PointsEntry.id)
        ).all()
        assert service.reconcile(session).ok
    history = {c: [(k, a, s) for who, k, a, s in rows if who == c] for c in ("c-1", "c-2")}
    assert history["c-1"] == [
        ("grant_pending", 100, 0),
        ("post", 100, 0),
        ("expire", 100, 0),
        ("clawback", 0, 10),
    ]
    assert history["c-2"] == history["c-1"]
