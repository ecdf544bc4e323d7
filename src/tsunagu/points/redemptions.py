"""Checkout redemptions with an idempotency key (LED-01, LED-03). Takes a session factory: a
redemption is two transactions, as in Stripe's idempotency design.

1. **Claim** the key: insert an ``in_flight`` row (the key is unique in the database). A
   request that finds the key taken compares request hashes (another request: 422
   ``idempotency_mismatch``), replays a finished reply as it was stored, or waits up to
   ``idempotency_wait_seconds`` for the first request to finish (still in flight: 409
   ``idempotency_in_flight``). A claim older than ``idempotency_lease_seconds`` belonged to a
   request that died and is taken over.
2. **Spend** in one conditional UPDATE (``available >= points``), write the ``redeem`` entry,
   and store the reply, success or refusal, on the claim, in one transaction. If that
   transaction fails for any other reason, the claim is released so the key may be retried.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.clock import utcnow
from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.customers.service import ensure_customer
from tsunagu.marketplaces.registry import Marketplace
from tsunagu.points import ledger, repo, rules
from tsunagu.points.config import points_of
from tsunagu.points.service import check_key, check_points, insufficient, require_enabled

SUCCESS = 201


@dataclass(frozen=True)
class RedemptionRequest:
    marketplace: Marketplace
    customer: str
    order_id: str
    points: int
    key: str
    #: (category, price in minor units) of the order's lines; None: the whole amount is eligible
    lines: tuple[tuple[str | None, int], ...] | None = None

    def fingerprint(self) -> str:
        canonical = {
            "customer": self.customer,
            "marketplace": self.marketplace.code,
            "order_id": self.order_id,
            "points": self.points,
            "lines": [[c, p] for c, p in self.lines] if self.lines is not None else None,
        }
        return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Redeemed:
    """A finished redemption's reply: what the first request answered, replayed for every
    repeat (``replayed`` is True then)."""

    body: dict[str, Any]
    status: int = SUCCESS
    replayed: bool = False


@dataclass
class Clock:
    now: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = field(default=time.monotonic)


def check_request(
    *,
    marketplace: Marketplace,
    customer: object,
    order_id: object,
    points: object,
    key: object,
    lines: Sequence[tuple[object, object]] | None,
) -> RedemptionRequest:
    """A request with every field checked (LED-08: whole numbers only)."""
    require_enabled(marketplace)
    for name, value, limit in (("customer", customer, 100), ("order_id", order_id, 64)):
        if not isinstance(value, str) or not 1 <= len(value) <= limit or not value.isprintable():
            raise InvalidInput(
                N_("{field} must be 1 to {limit} printable characters"),
                code="invalid_value",
                field=name,
                limit=limit,
                details={"field": name},
            )
    checked_lines: list[tuple[str | None, int]] | None = None
    if lines is not None:
        checked_lines = []
        for index, (category, price) in enumerate(lines):
            if isinstance(price, bool) or not isinstance(price, int) or price < 0:
                raise InvalidInput(
                    N_("{field} must be a whole number of minor units"),
                    code="invalid_value",
                    field=f"lines[{index}].price",
                    details={"field": f"lines[{index}].price", "value": repr(price)},
                )
            if category is not None and (not isinstance(category, str) or len(category) > 100):
                raise InvalidInput(
                    N_("{field} must be a category name"),
                    code="invalid_value",
                    field=f"lines[{index}].category",
                    details={"field": f"lines[{index}].category"},
                )
            checked_lines.append((category.strip().lower() or None if category else None, price))
    assert isinstance(customer, str)
    assert isinstance(order_id, str)
    return RedemptionRequest(
        marketplace=marketplace,
        customer=customer,
        order_id=order_id,
        points=check_points(points),
        key=check_key(key),
        lines=tuple(checked_lines) if checked_lines is not None else None,
    )


def mismatch() -> TsunaguError:
    return TsunaguError(
        N_("This idempotency key was used with a different request"),
        code="idempotency_mismatch",
        status=422,
    )


def in_flight() -> TsunaguError:
    return TsunaguError(
        N_("A request with this idempotency key is still being processed; try again shortly"),
        code="idempotency_in_flight",
        status=409,
    )


def exceeds_eligible(eligible: int, wanted: int) -> TsunaguError:
    return TsunaguError(
        N_(
            "Points can pay for {eligible} of this order (gift cards, coins, fresh groceries "
            "and digital content other than e-books excluded); {wanted} asked for"
        ),
        code="exceeds_eligible_amount",
        status=422,
        eligible=eligible,
        wanted=wanted,
        details={"eligible": eligible, "wanted": wanted},
    )


def _stored_refusal(error: TsunaguError) -> str:
    return orjson.dumps(
        {
            "code": error.code,
            "template": error.template,
            "params": error.params,
            "details": error.details,
        }
    ).decode()


def _replay(found: Any) -> Redeemed:
    """The stored reply of a finished redemption (a row with ``status`` and ``reply``)."""
    assert found.status is not None
    assert found.reply is not None
    stored = orjson.loads(found.reply)
    if found.status == SUCCESS:
        return Redeemed(body=stored, status=found.status, replayed=True)
    raise TsunaguError(
        stored["template"],
        code=stored["code"],
        status=found.status,
        details=stored["details"],
        **stored["params"],
    )


def _engine(factory: sessionmaker[Session]) -> Engine:
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the session factory is bound to no engine")
    return bind


def redeem(
    factory: sessionmaker[Session], request: RedemptionRequest, *, clock: Clock | None = None
) -> Redeemed:
    """Spend ``request.points`` of the customer's available points on the order, once per key.
    Refusals raise with their stable code: ``insufficient_points``, ``exceeds_eligible_amount``
    (both 422, stored and replayed), ``idempotency_mismatch`` (422), ``idempotency_in_flight``
    (409).

    Both transactions run on one connection with the statements of :class:`repo.HotPath`; the
    rare turns (a new customer, a refusal, a dead claim taken over) go through the ORM."""
    clock = clock or Clock()
    config = points_of(request.marketplace)
    fingerprint = request.fingerprint()
    deadline = clock.monotonic() + config.idempotency_wait_seconds
    engine = _engine(factory)
    sql = repo.hot_path(engine.dialect.name)
    with engine.connect() as conn:
        while True:
            with conn.begin():
                claimed, found = _claim(
                    conn, sql, request, fingerprint, clock.now(), config.idempotency_lease_seconds
                )
            if claimed is not None:
                return _spend(engine, conn, sql, request, claimed, clock.now())
            if found is not None:
                return _replay(found)
            if clock.monotonic() >= deadline:
                raise in_flight()
            clock.sleep(0.02)


def _claim(
    conn: Connection,
    sql: repo.HotPath,
    request: RedemptionRequest,
    fingerprint: str,
    now: datetime,
    lease_seconds: int,
) -> tuple[tuple[str, str] | None, Any]:
    """(redemption id, customer id) when this caller holds the key now; else the finished
    redemption to replay; (None, None) while another request holds it."""
    code = request.marketplace.code
    redemption_id = new_id("red")
    fresh = conn.execute(
        sql.claim_known,
        {
            "id": redemption_id,
            "mp": code,
            "ext": request.customer,
            "key": request.key,
            "request_hash": fingerprint,
            "order_id": request.order_id,
            "points": request.points,
            "state": "in_flight",
            "claimed_at": now,
        },
    ).first()
    if fresh is not None:  # the usual case: a known customer, a new key
        return (redemption_id, str(fresh.customer_id)), None
    existing = conn.execute(sql.by_key, {"mp": code, "key": request.key}).first()
    if existing is None:
        customer_id = conn.execute(sql.customer, {"mp": code, "ext": request.customer}).scalar()
        if customer_id is None:
            with Session(bind=conn) as session:
                customer_id = ensure_customer(
                    session, marketplace=code, external_id=request.customer, now=now
                ).id
        claimed = conn.execute(
            sql.claim,
            {
                "id": redemption_id,
                "marketplace": code,
                "key": request.key,
                "request_hash": fingerprint,
                "customer_id": customer_id,
                "order_id": request.order_id,
                "points": request.points,
                "state": "in_flight",
                "claimed_at": now,
            },
        ).scalar()
        if claimed is not None:
            return (redemption_id, str(customer_id)), None
        existing = conn.execute(sql.by_key, {"mp": code, "key": request.key}).first()
        assert existing is not None
    if existing.request_hash != fingerprint:
        raise mismatch()
    if existing.state == "done":
        return None, existing
    if existing.claimed_at + timedelta(seconds=lease_seconds) < now:
        with Session(bind=conn) as session:
            if repo.take_over(session, existing.id, existing.claimed_at, now):
                return (existing.id, existing.customer_id), None
    return None, None


def _spend(
    engine: Engine,
    conn: Connection,
    sql: repo.HotPath,
    request: RedemptionRequest,
    claimed: tuple[str, str],
    now: datetime,
) -> Redeemed:
    redemption_id, customer_id = claimed
    code = request.marketplace.code
    refusal: TsunaguError | None = None
    body: dict[str, Any] = {}
    try:
        with conn.begin():
            excluded = frozenset(points_of(request.marketplace).excluded_categories)
            eligible = (
                rules.eligible_amount(request.lines, excluded)
                if request.lines is not None
                else None
            )
            if eligible is not None and request.points > eligible:
                refusal = exceeds_eligible(eligible, request.points)
            else:
                taken = conn.execute(
                    sql.take, {"cid": customer_id, "pts": request.points, "now": now}
                ).first()
                if taken is None:
                    refusal = _short(conn, customer_id, code, request.points, now)
                else:
                    conn.execute(
                        sql.entry,
                        {
                            "marketplace": code,
                            "key": f"redeem:{redemption_id}",
                            "kind": ledger.REDEEM,
                            "customer_id": customer_id,
                            "debit": ledger.AVAILABLE,
                            "credit": ledger.REDEEMED,
                            "amount": request.points,
                            "shortfall": 0,
                            "reason": "redemption",
                            "order_id": request.order_id,
                            "redemption_id": redemption_id,
                            "at": now,
                            "expires_at": taken.expires_at,
                            "recorded_at": now,
                        },
                    )
                    body = {
                        "redemption_id": redemption_id,
                        "customer": request.customer,
                        "marketplace": code,
                        "order_id": request.order_id,
                        "points": request.points,
                        "available": taken.available,
                    }
            status, reply = (
                (refusal.status, _stored_refusal(refusal))
                if refusal is not None
                else (SUCCESS, orjson.dumps(body).decode())
            )
            conn.execute(
                sql.finish, {"rid": redemption_id, "status": status, "reply": reply, "now": now}
            )
    except BaseException:
        with engine.begin() as other, Session(bind=other) as session:
            repo.release_claim(session, redemption_id)
        raise
    if refusal is not None:
        raise refusal
    return Redeemed(body=body)


def _short(
    conn: Connection, customer_id: str, code: str, points: int, now: datetime
) -> TsunaguError:
    """Why the spend found too little: a customer without an account yet, or a balance that
    has lapsed (expired now, at its instant), or simply not enough."""
    with Session(bind=conn) as session:
        repo.ensure_account(session, customer_id, code, now)
        account = repo.lock_account(session, customer_id)
        assert account is not None
        ledger.expire_due(session, account=account, moment=now, now=now)
        session.flush()
        return insufficient(account.available, points)


def claim(
    factory: sessionmaker[Session], request: RedemptionRequest, *, now: datetime
) -> str | None:
    """Only the first step: hold the key for ``request`` and spend nothing; the redemption id,
    or None when the key is held or done already. What a request that died between its two
    steps leaves behind (the tests make one so; a second request then waits and answers
    ``idempotency_in_flight``, or takes the claim over once its lease has run out)."""
    engine = _engine(factory)
    lease = points_of(request.marketplace).idempotency_lease_seconds
    with engine.begin() as conn:
        claimed, _ = _claim(
            conn, repo.hot_path(engine.dialect.name), request, request.fingerprint(), now, lease
        )
    return claimed[0] if claimed is not None else None
