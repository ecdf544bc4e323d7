"""From order events to points, and from pending to available. Never commits.

:func:`sync_store` reads a store's order events after its cursor (the settlement ledger's
pattern, ADR 0025) and turns them into grants and ledger entries:

- ``order_placed`` with a ``customer_id``: the order's points are computed line by line and
  granted *pending*; any order, with points or without, extends the customer's expiry;
- ``order_shipped``: the grant's settling clock starts (it becomes due ``settling_hours`` later);
- ``order_cancelled`` before the shipment: the pending points are voided;
- ``refund_issued``: the points the refunds so far claw back in all, less what was taken before,
  are voided while pending or clawed back once available; a clawback takes what the customer
  still has and records the rest as a shortfall.

:func:`settle_due` posts every grant whose settling time has come (the ``points.settle`` job)
and charges the store ¥1 a point in its settlement ledger, with the referral fee's share of the
points given back (the fee is due on the price less the points). Every write is keyed, so a
rerun, or a sync racing another, posts nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.errors import Conflict, NotFound, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.customers.service import ensure_customer
from tsunagu.events import repo as events_repo
from tsunagu.listings.service import offers_by_sku
from tsunagu.marketplaces.registry import Marketplace, Registry
from tsunagu.points import ledger, repo, rules
from tsunagu.points.config import points_of
from tsunagu.points.ledger import Move
from tsunagu.points.models import PointsGrant
from tsunagu.sellers.models import Store
from tsunagu.settlement import rules as money_rules
from tsunagu.settlement.config import settlement_of
from tsunagu.settlement.service import post_entry

BATCH = 1000
#: the order events the sync reads besides ``order_placed``
_AFTER_PLACED = tuple(t for t in repo.SYNCED_TYPES if t != "order_placed")
#: ``settlement_entries.source`` of what the points programme posts to a store's ledger
SETTLEMENT_SOURCE = "points"
#: settlement entry kinds
POINTS_COST = money_rules.POINTS_COST
FEE_EFFECT = money_rules.MARKETPLACE_FEE


@dataclass
class SyncResult:
    stores: int = 0
    events: int = 0
    grants: int = 0
    entries: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "stores": self.stores,
            "events": self.events,
            "grants": self.grants,
            "entries": self.entries,
        }


def store_rate(session: Session, seller_id: str, marketplace: Marketplace) -> int:
    found = repo.setting(session, seller_id, marketplace.code)
    if found is None or found.rate is None:
        return points_of(marketplace).default_rate
    return found.rate


def enabled_stores(session: Session, registry: Registry) -> list[tuple[str, Marketplace]]:
    rows = session.execute(
        select(Store.seller_id, Store.marketplace).order_by(Store.seller_id, Store.marketplace)
    ).all()
    out = []
    for seller_id, code in rows:
        mp = registry.get(code)
        if mp is not None and points_of(mp).enabled:
            out.append((seller_id, mp))
    return out


def sync_all(session: Session, *, registry: Registry, now: datetime) -> SyncResult:
    """:func:`sync_store` for every store in a marketplace where the programme runs."""
    result = SyncResult()
    for seller_id, mp in enabled_stores(session, registry):
        sync_store(session, seller_id=seller_id, marketplace=mp, now=now, result=result)
    return result


def sync_store(
    session: Session,
    *,
    seller_id: str,
    marketplace: Marketplace,
    now: datetime,
    result: SyncResult | None = None,
) -> SyncResult:
    result = result if result is not None else SyncResult()
    result.stores += 1
    code = marketplace.code
    cursor = repo.lock_cursor(session, seller_id, code, now)
    while rows := repo.events_after(session, seller_id, code, cursor.last_seq, BATCH):
        placed = {r[3]: r[0] for r in rows if r[2] == "order_placed" and r[3] is not None}
        earlier = events_repo.earlier_events(session, seller_id, code, placed, _AFTER_PLACED)
        for _seq, event_id, type_, order_id, body, at in rows:
            result.events += 1
            if order_id is None:
                continue
            granted = _apply(
                session, seller_id, marketplace, event_id, type_, order_id, body, at, now, result
            )
            if granted:
                # events of the order that came before it waited for it (ADR 0030): its grant
                # exists now, so they apply in their order
                for e in earlier.get(order_id, []):
                    _apply(
                        session,
                        seller_id,
                        marketplace,
                        e[1],
                        e[2],
                        order_id,
                        e[4],
                        e[6],
                        now,
                        result,
                    )
        cursor.last_seq = int(rows[-1][0])
        cursor.synced_at = now
    session.flush()
    return result


def _apply(
    session: Session,
    seller_id: str,
    mp: Marketplace,
    event_id: str,
    type_: str,
    order_id: str,
    raw: str,
    at: datetime,
    now: datetime,
    result: SyncResult,
) -> bool:
    """Apply one event; true when it was the ``order_placed`` that made the order's grant."""
    body: dict[str, Any] = orjson.loads(raw)
    if type_ == "order_placed":
        return _placed(session, seller_id, mp, event_id, order_id, body, at, now, result)
    grant = repo.grant_of(session, seller_id, mp.code, order_id)
    if grant is None:
        return False
    if grant.state == "pending" and grant.available_at is not None and grant.available_at <= at:
        # the grant settled before this event happened (a sync that runs late replays events
        # in their order, so a refund a week after the shipment claws back, never voids)
        result.entries += post_grant(session, grant=grant, marketplace=mp, now=now)
    if type_ == "order_shipped":
        if grant.shipped_at is None:
            grant.shipped_at = at
            grant.available_at = at + timedelta(hours=points_of(mp).settling_hours)
    elif type_ == "order_cancelled":
        if grant.state == "pending" and grant.shipped_at is None and grant.pending > 0:
            result.entries += _void(
                session, grant, grant.pending, "order_cancelled", event_id, at, now
            )
            grant.state = "voided"
            grant.resolved_at = at
    elif type_ == "refund_issued":
        _refunded(session, mp, grant, event_id, body, at, now, result)
    return False


def _placed(
    session: Session,
    seller_id: str,
    mp: Marketplace,
    event_id: str,
    order_id: str,
    body: dict[str, Any],
    at: datetime,
    now: datetime,
    result: SyncResult,
) -> bool:
    external = body.get("customer_id")
    if not external:
        return False
    customer = ensure_customer(session, marketplace=mp.code, external_id=str(external), now=now)
    repo.ensure_account(session, customer.id, mp.code, now)
    account = repo.lock_account(session, customer.id)
    assert account is not None
    ledger.expire_due(session, account=account, moment=at, now=now)
    if account.last_order_at is None or at > account.last_order_at:
        account.last_order_at = at
        account.expires_at = rules.expiry(account.last_acquired_at, at, mp.tz)
    if repo.grant_of(session, seller_id, mp.code, order_id) is not None:
        return False  # a second order_placed for the order changes nothing
    items = list(body.get("items") or [])
    offers = offers_by_sku(
        session, seller_id=seller_id, marketplace=mp.code, skus=[str(i["sku"]) for i in items]
    )
    default = store_rate(session, seller_id, mp)
    lines = []
    for item in items:
        offer = offers.get(str(item["sku"]))
        rate = offer.points_rate if offer is not None and offer.points_rate is not None else default
        category = item.get("category") or (offer.category if offer is not None else None)
        lines.append(
            rules.EarningLine(
                sku=str(item["sku"]),
                price=int(item["price"]),
                category=str(category).lower() if category else None,
                rate=rate,
                no_points=bool(item.get("no_points", False)),
            )
        )
    explicit = body.get("points")
    points = rules.order_points(lines, int(explicit) if explicit is not None else None)
    total = sum(points)
    if total <= 0:
        return False
    grant = PointsGrant(
        id=new_id("ptg"),
        seller_id=seller_id,
        marketplace=mp.code,
        order_id=order_id,
        customer_id=customer.id,
        state="pending",
        points=total,
        pending=total,
        posted=0,
        clawed=0,
        order_price=sum(line.price for line in lines),
        order_refunded=0,
        lines=orjson.dumps(
            [
                {
                    "sku": ln.sku,
                    "price": ln.price,
                    "category": ln.category,
                    "points": p,
                    "refunded": 0,
                }
                for ln, p in zip(lines, points, strict=True)
            ]
        ).decode(),
        placed_at=at,
    )
    session.add(grant)
    session.flush()
    result.grants += 1
    result.entries += _write(
        session,
        grant,
        Move(
            kind=ledger.GRANT_PENDING,
            debit=ledger.seller_account(seller_id),
            credit=ledger.PENDING,
            amount=total,
            reason="order_placed",
            key=f"grant:{grant.id}",
            at=at,
            event_id=event_id,
        ),
        now,
    )
    return True


def _write(session: Session, grant: PointsGrant, move: Move, now: datetime) -> int:
    account = repo.get_account(session, grant.customer_id)
    expires = account.expires_at if account is not None else None
    written = ledger.transfer(
        session,
        marketplace=grant.marketplace,
        customer_id=grant.customer_id,
        move=Move(
            **{
                **move.__dict__,
                "seller_id": grant.seller_id,
                "order_id": grant.order_id,
                "grant_id": grant.id,
            }
        ),
        now=now,
        expires_at=expires,
    )
    return int(written is not None)


def _void(
    session: Session,
    grant: PointsGrant,
    points: int,
    reason: str,
    event_id: str,
    at: datetime,
    now: datetime,
) -> int:
    grant.pending -= points
    return _write(
        session,
        grant,
        Move(
            kind=ledger.VOID,
            debit=ledger.PENDING,
            credit=ledger.seller_account(grant.seller_id),
            amount=points,
            reason=reason,
            key=f"void:{grant.id}:{event_id}",
            at=at,
            event_id=event_id,
        ),
        now,
    )


def _refunded(
    session: Session,
    mp: Marketplace,
    grant: PointsGrant,
    event_id: str,
    body: dict[str, Any],
    at: datetime,
    now: datetime,
    result: SyncResult,
) -> None:
    lines = orjson.loads(grant.lines)
    amount = int(body["amount"])
    sku = body.get("sku")
    line = next((ln for ln in lines if sku is not None and ln["sku"] == sku), None)
    if line is not None:
        line["refunded"] += amount
        grant.lines = orjson.dumps(lines).decode()
    else:
        grant.order_refunded += amount
    target = rules.refund_target(
        [ln["points"] for ln in lines],
        [ln["price"] for ln in lines],
        [ln["refunded"] for ln in lines],
        grant.order_refunded,
    )
    delta = target - grant.clawed
    if delta <= 0 or grant.state == "voided":
        return
    grant.clawed = target
    if grant.state == "pending":
        result.entries += _void(
            session, grant, min(delta, grant.pending), "refund", event_id, at, now
        )
        if grant.pending == 0:
            grant.state = "voided"
            grant.resolved_at = at
        return
    account = repo.lock_account(session, grant.customer_id)
    assert account is not None
    # a balance that lapsed before the refund has nothing left to take (ADR 0029)
    ledger.expire_due(session, account=account, moment=at, now=now)
    taken = min(delta, account.available)
    result.entries += _write(
        session,
        grant,
        Move(
            kind=ledger.CLAWBACK,
            debit=ledger.AVAILABLE,
            credit=ledger.seller_account(grant.seller_id),
            amount=taken,
            shortfall=delta - taken,
            reason="refund",
            key=f"clawback:{grant.id}:{event_id}",
            at=at,
            event_id=event_id,
        ),
        now,
    )
    # the store gets ¥1 back for every point the refund returns, whether or not the customer
    # still had it (the programme bears the shortfall, ADR 0029)
    post_entry(
        session,
        seller_id=grant.seller_id,
        marketplace=mp.code,
        key=f"points_return:{grant.id}:{event_id}",
        kind=POINTS_COST,
        amount=delta,
        currency=mp.currency,
        at=at,
        source=SETTLEMENT_SOURCE,
        order_id=grant.order_id,
        ref=event_id,
    )


# -- settling -------------------------------------------------------------------------------------


def settle_due(session: Session, *, registry: Registry, as_of: datetime) -> int:
    """Post every pending grant whose shipment was confirmed at or before ``as_of`` less the
    settling delay; the number of grants posted."""
    posted = 0
    for mp in registry.marketplaces:
        if not points_of(mp).enabled:
            continue
        for due in repo.grants_due(session, mp.code, as_of):
            # locked and read again: a void or another settle may have resolved it meanwhile
            grant = require_grant(session, due.id)
            posted += post_grant(session, grant=grant, marketplace=mp, now=as_of)
    return posted


def post_grant(
    session: Session, *, grant: PointsGrant, marketplace: Marketplace, now: datetime
) -> int:
    """Make a pending grant's remaining points available (LED-04: once; a voided grant is never
    posted), charge the store for them and credit the referral fee on them."""
    if grant.state != "pending" or grant.available_at is None:
        return 0
    at = grant.available_at
    amount = grant.pending
    account = repo.lock_account(session, grant.customer_id)
    assert account is not None
    ledger.expire_due(session, account=account, moment=at, now=now)
    if account.last_acquired_at is None or at > account.last_acquired_at:
        account.last_acquired_at = at
        account.expires_at = rules.expiry(at, account.last_order_at, marketplace.tz)
    session.flush()
    _write(
        session,
        grant,
        Move(
            kind=ledger.POST,
            debit=ledger.PENDING,
            credit=ledger.AVAILABLE,
            amount=amount,
            reason="shipment_settled",
            key=f"post:{grant.id}",
            at=at,
        ),
        now,
    )
    grant.pending = 0
    grant.posted = amount
    grant.state = "posted"
    grant.resolved_at = at
    _charge(session, grant, marketplace, amount, at)
    return 1


def fee_effect(lines: list[dict[str, Any]], rates: dict[str, float]) -> int:
    """The referral fee the points save: the fee on the prices less the fee on the prices less
    each line's points."""
    full = money_rules.order_money(
        [money_rules.Line(ln["price"], 0, ln["category"]) for ln in lines],
        rates=rates,
        withhold_tax=False,
    ).fee
    net = money_rules.order_money(
        [money_rules.Line(max(0, ln["price"] - ln["points"]), 0, ln["category"]) for ln in lines],
        rates=rates,
        withhold_tax=False,
    ).fee
    return full - net


def _charge(
    session: Session, grant: PointsGrant, mp: Marketplace, amount: int, at: datetime
) -> None:
    if amount <= 0:
        return
    common = {
        "seller_id": grant.seller_id,
        "marketplace": mp.code,
        "currency": mp.currency,
        "at": at,
        "source": SETTLEMENT_SOURCE,
        "order_id": grant.order_id,
        "ref": grant.id,
    }
    post_entry(session, key=f"points_cost:{grant.id}", kind=POINTS_COST, amount=-amount, **common)  # type: ignore[arg-type]
    lines = orjson.loads(grant.lines)
    # the fee is due on each price less the points given on it: points a refund voided before
    # the post were never given and save nothing (refunds naming no line share the rest)
    left = [
        ln["points"] - rules.clawed_back(ln["points"], ln["refunded"], ln["price"]) for ln in lines
    ]
    given = rules.split_points(amount, left)
    saved = fee_effect(
        [{**ln, "points": p} for ln, p in zip(lines, given, strict=True)],
        dict(settlement_of(mp).referral_fee_rates),
    )
    if saved:
        post_entry(session, key=f"points_fee:{grant.id}", kind=FEE_EFFECT, amount=saved, **common)  # type: ignore[arg-type]


# -- a grant's lifecycle by hand (LED-04) ---------------------------------------------------------

#: the codes that refuse a second resolution of one grant
ALREADY_POSTED = "grant_already_posted"
ALREADY_VOIDED = "grant_already_voided"


def _resolved(grant: PointsGrant) -> TsunaguError:
    if grant.state == "posted":
        return Conflict(
            N_("Grant {grant} was already posted"),
            code="grant_already_posted",
            grant=grant.id,
            details={"grant": grant.id, "state": grant.state},
        )
    return Conflict(
        N_("Grant {grant} was already voided"),
        code="grant_already_voided",
        grant=grant.id,
        details={"grant": grant.id, "state": grant.state},
    )


def require_grant(session: Session, grant_id: str) -> PointsGrant:
    stmt = select(PointsGrant).where(PointsGrant.id == grant_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    grant = session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()
    if grant is None:
        raise NotFound(N_("No grant {grant}"), code="grant_not_found", grant=grant_id)
    return grant


def post_now(
    session: Session, *, grant_id: str, marketplace: Marketplace, at: datetime
) -> PointsGrant:
    """Post a pending grant at ``at`` whatever its settling time (an operator's decision, and
    the lifecycle tests). A grant posted or voided before is refused with its own code."""
    grant = require_grant(session, grant_id)
    if grant.state != "pending":
        raise _resolved(grant)
    grant.available_at = grant.available_at or at
    post_grant(session, grant=grant, marketplace=marketplace, now=at)
    return grant


def void_now(session: Session, *, grant_id: str, reason: str, at: datetime) -> PointsGrant:
    """Void what a pending grant still holds. A grant posted or voided before is refused with
    its own code (a posted grant is undone by a refund's clawback, never by a void)."""
    grant = require_grant(session, grant_id)
    if grant.state != "pending":
        raise _resolved(grant)
    if grant.pending > 0:
        _void(session, grant, grant.pending, reason, f"manual:{at.isoformat()}", at, at)
    grant.state = "voided"
    grant.resolved_at = at
    session.flush()
    return grant
