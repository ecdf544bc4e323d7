"""The one way points move: :func:`transfer` writes a ledger entry and, in the same statement
batch, moves the customer's cached balances. Never commits.

An entry is a transfer of ``amount`` from ``debit`` to ``credit`` (ADR 0029). The customer's
accounts are ``pending`` and ``available``; every other account belongs to the programme. A
transfer whose key exists changes nothing (idempotent writers), and a transfer that would
take a customer's balance below zero fails on the CHECK constraint before anything is written
(callers check first; the constraint is the backstop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from tsunagu.points import repo
from tsunagu.points.models import PointsAccount

PENDING = repo.PENDING
AVAILABLE = repo.AVAILABLE
REDEEMED = "redeemed"
EXPIRED = "expired"
ADJUSTMENT = "adjustment"

#: the ledger entry kinds (pinned: ``points history --json`` prints them)
GRANT_PENDING = "grant_pending"
POST = "post"
VOID = "void"
REDEEM = "redeem"
CLAWBACK = "clawback"
EXPIRE = "expire"
ADJUST = "adjust"
KINDS = (GRANT_PENDING, POST, VOID, REDEEM, CLAWBACK, EXPIRE, ADJUST)


def seller_account(seller_id: str) -> str:
    return f"seller:{seller_id}"


def source_account(source: str) -> str:
    return f"source:{source}"


@dataclass(frozen=True)
class Move:
    """One transfer to write."""

    kind: str
    debit: str
    credit: str
    amount: int
    reason: str
    key: str
    at: datetime
    seller_id: str | None = None
    order_id: str | None = None
    event_id: str | None = None
    grant_id: str | None = None
    redemption_id: str | None = None
    shortfall: int = 0


def deltas(debit: str, credit: str, amount: int) -> tuple[int, int]:
    """What a transfer does to the customer's (pending, available)."""
    pending = (amount if credit == PENDING else 0) - (amount if debit == PENDING else 0)
    available = (amount if credit == AVAILABLE else 0) - (amount if debit == AVAILABLE else 0)
    return pending, available


def transfer(
    session: Session,
    *,
    marketplace: str,
    customer_id: str,
    move: Move,
    now: datetime,
    expires_at: datetime | None = None,
    balances_moved: bool = False,
) -> int | None:
    """Write ``move`` for the customer and move their balances; the entry id, or None when the
    key was written before (nothing changes). ``balances_moved``: the caller moved them already
    (a redemption spends with one conditional UPDATE first)."""
    entry_id = repo.insert_entry(
        session,
        {
            "marketplace": marketplace,
            "key": move.key,
            "kind": move.kind,
            "customer_id": customer_id,
            "debit": move.debit,
            "credit": move.credit,
            "amount": move.amount,
            "shortfall": move.shortfall,
            "reason": move.reason,
            "seller_id": move.seller_id,
            "order_id": move.order_id,
            "event_id": move.event_id,
            "grant_id": move.grant_id,
            "redemption_id": move.redemption_id,
            "at": move.at,
            "expires_at": expires_at,
            "recorded_at": now,
        },
    )
    if entry_id is None or balances_moved:
        return entry_id
    pending, available = deltas(move.debit, move.credit, move.amount)
    if pending or available:
        session.execute(
            update(PointsAccount)
            .where(PointsAccount.customer_id == customer_id)
            .values(
                pending=PointsAccount.pending + pending,
                available=PointsAccount.available + available,
                updated_at=now,
            )
        )
    return entry_id


def expiry_key(customer_id: str, expires_at: datetime, last_entry: int) -> str:
    """The key of a balance's expiry: one per customer, expiry instant and ledger position,
    whoever writes it (the daily job, or an acquisition that comes after the instant). The
    position lets points posted after an expiry without a new year (a shipment imported late,
    dated before the last acquisition) lapse too, at the next run."""
    return f"expire:{customer_id}:{expires_at.isoformat()}:{last_entry}"


def expire_due(session: Session, *, account: PointsAccount, moment: datetime, now: datetime) -> int:
    """Expire the customer's whole available balance if its expiry came at or before
    ``moment``; the points expired. Called before anything that would move the expiry
    (an order, an acquisition) or spend, so a balance that lapsed lapses at its instant however
    late the daily job runs. ``account`` must be locked and fresh."""
    if account.expires_at is None or account.expires_at > moment or account.available <= 0:
        return 0
    amount = account.available
    written = transfer(
        session,
        marketplace=account.marketplace,
        customer_id=account.customer_id,
        move=Move(
            EXPIRE,
            AVAILABLE,
            EXPIRED,
            amount,
            "expiry",
            expiry_key(
                account.customer_id,
                account.expires_at,
                repo.last_entry_id(session, account.customer_id),
            ),
            account.expires_at,
        ),
        now=now,
        expires_at=account.expires_at,
    )
    session.refresh(account)
    return amount if written is not None else 0
