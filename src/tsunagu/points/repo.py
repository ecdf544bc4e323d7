"""Points SQL: entries, balances, grants, settings, the event cursor, redemptions, warnings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsunagu.customers.models import Customer
from tsunagu.events.models import Event
from tsunagu.points.models import (
    PointsAccount,
    PointsCursor,
    PointsEntry,
    PointsExpiryWarning,
    PointsGrant,
    PointsRedemption,
    PointsSetting,
)

PENDING = "pending"
AVAILABLE = "available"


def _insert(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# -- entries --------------------------------------------------------------------------------------


def insert_entry(session: Session, values: dict[str, Any]) -> int | None:
    """Insert one entry unless its key exists in the marketplace; its id, or None."""
    stmt = (
        _insert(session)
        .insert(PointsEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["marketplace", "key"])
        .returning(PointsEntry.id)
    )
    found: int | None = session.execute(stmt).scalar_one_or_none()
    return found


def entry_by_key(session: Session, marketplace: str, key: str) -> PointsEntry | None:
    return session.scalars(
        select(PointsEntry).where(PointsEntry.marketplace == marketplace, PointsEntry.key == key)
    ).one_or_none()


def entries_of(
    session: Session, customer_id: str, *, before_id: int | None, limit: int
) -> list[PointsEntry]:
    query = select(PointsEntry).where(PointsEntry.customer_id == customer_id)
    if before_id is not None:
        query = query.where(PointsEntry.id < before_id)
    return list(session.scalars(query.order_by(PointsEntry.id.desc()).limit(limit)))


def last_entry_id(session: Session, customer_id: str) -> int:
    """The id of the customer's latest entry (0 before any)."""
    found = session.scalar(
        select(func.max(PointsEntry.id)).where(PointsEntry.customer_id == customer_id)
    )
    return int(found or 0)


def derived_balances(
    session: Session, marketplace: str | None = None
) -> dict[tuple[str, str], int]:
    """Every account's balance as the sum of its entries: ``(customer_id or '', account)``
    → credits less debits. Customer accounts (``pending``/``available``) are per customer;
    the programme's accounts are keyed with an empty customer."""
    out: dict[tuple[str, str], int] = {}
    for side, sign in (("credit", 1), ("debit", -1)):
        column = getattr(PointsEntry, side)
        owner = case((column.in_((PENDING, AVAILABLE)), PointsEntry.customer_id), else_="")
        query = select(owner, column, func.sum(PointsEntry.amount)).group_by(owner, column)
        if marketplace is not None:
            query = query.where(PointsEntry.marketplace == marketplace)
        for who, account, total in session.execute(query):
            key = (str(who), str(account))
            out[key] = out.get(key, 0) + sign * int(total or 0)
    return out


# -- balances -------------------------------------------------------------------------------------


def ensure_account(session: Session, customer_id: str, marketplace: str, now: datetime) -> None:
    session.execute(
        _insert(session)
        .insert(PointsAccount)
        .values(
            customer_id=customer_id,
            marketplace=marketplace,
            pending=0,
            available=0,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )


def lock_account(session: Session, customer_id: str) -> PointsAccount | None:
    """The account, locked until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's
    ``BEGIN IMMEDIATE`` serialises writers already)."""
    stmt = select(PointsAccount).where(PointsAccount.customer_id == customer_id)
    if _is_pg(session):
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()


def get_account(session: Session, customer_id: str) -> PointsAccount | None:
    return session.get(PointsAccount, customer_id)


def expiring(session: Session, marketplace: str, as_of: datetime) -> list[PointsAccount]:
    """Accounts with points left whose expiry has come."""
    return list(
        session.scalars(
            select(PointsAccount)
            .where(
                PointsAccount.marketplace == marketplace,
                PointsAccount.available > 0,
                PointsAccount.expires_at <= as_of,
            )
            .order_by(PointsAccount.customer_id)
        )
    )


def expiring_between(
    session: Session, marketplace: str, start: datetime, end: datetime
) -> list[PointsAccount]:
    """Accounts with points left expiring in ``(start, end]``, soonest first."""
    return list(
        session.scalars(
            select(PointsAccount)
            .where(
                PointsAccount.marketplace == marketplace,
                PointsAccount.available > 0,
                PointsAccount.expires_at > start,
                PointsAccount.expires_at <= end,
            )
            .order_by(PointsAccount.expires_at, PointsAccount.customer_id)
        )
    )


def add_warning(
    session: Session,
    customer_id: str,
    expires_at: datetime,
    days: int,
    available: int,
    now: datetime,
) -> bool:
    stmt = (
        _insert(session)
        .insert(PointsExpiryWarning)
        .values(
            customer_id=customer_id,
            expires_at=expires_at,
            days_before=days,
            available=available,
            recorded_at=now,
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "expires_at", "days_before"])
        .returning(PointsExpiryWarning.days_before)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def warnings_of(session: Session, customer_id: str) -> list[PointsExpiryWarning]:
    return list(
        session.scalars(
            select(PointsExpiryWarning)
            .where(PointsExpiryWarning.customer_id == customer_id)
            .order_by(PointsExpiryWarning.expires_at, PointsExpiryWarning.days_before.desc())
        )
    )


# -- grants ---------------------------------------------------------------------------------------


def grant_of(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> PointsGrant | None:
    stmt = select(PointsGrant).where(
        PointsGrant.seller_id == seller_id,
        PointsGrant.marketplace == marketplace,
        PointsGrant.order_id == order_id,
    )
    if _is_pg(session):
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def grants_due(session: Session, marketplace: str, as_of: datetime) -> list[PointsGrant]:
    """Pending grants whose settling time has come, oldest first."""
    return list(
        session.scalars(
            select(PointsGrant)
            .where(
                PointsGrant.marketplace == marketplace,
                PointsGrant.state == "pending",
                PointsGrant.available_at <= as_of,
            )
            .order_by(PointsGrant.available_at, PointsGrant.id)
        )
    )


# -- settings -------------------------------------------------------------------------------------


def setting(session: Session, seller_id: str, marketplace: str) -> PointsSetting | None:
    return session.get(PointsSetting, (seller_id, marketplace))


# -- the event cursor -----------------------------------------------------------------------------

SYNCED_TYPES = ("order_placed", "order_shipped", "order_cancelled", "refund_issued")


def lock_cursor(session: Session, seller_id: str, marketplace: str, now: datetime) -> PointsCursor:
    session.execute(
        _insert(session)
        .insert(PointsCursor)
        .values(seller_id=seller_id, marketplace=marketplace, last_seq=0, synced_at=now)
        .on_conflict_do_nothing(index_elements=["seller_id", "marketplace"])
    )
    stmt = select(PointsCursor).where(
        PointsCursor.seller_id == seller_id, PointsCursor.marketplace == marketplace
    )
    if _is_pg(session):
        stmt = stmt.with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


def events_after(
    session: Session, seller_id: str, marketplace: str, seq: int, limit: int
) -> Sequence[Row[int, str, str, str | None, str, datetime]]:
    return session.execute(
        select(Event.seq, Event.event_id, Event.type, Event.order_id, Event.body, Event.at)
        .where(
            Event.seller_id == seller_id,
            Event.marketplace == marketplace,
            Event.seq > seq,
            Event.type.in_(SYNCED_TYPES),
        )
        .order_by(Event.seq)
        .limit(limit)
    ).all()


# -- redemptions ----------------------------------------------------------------------------------


def claim_redemption(session: Session, values: dict[str, Any]) -> bool:
    """Insert the in-flight claim unless the key is taken; True when this caller claimed it."""
    stmt = (
        _insert(session)
        .insert(PointsRedemption)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["marketplace", "key"])
        .returning(PointsRedemption.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def take_over(session: Session, redemption_id: str, seen: datetime, now: datetime) -> bool:
    """Claim a dead in-flight redemption (its lease ran out) for this caller; atomic."""
    stmt = (
        update(PointsRedemption)
        .where(
            PointsRedemption.id == redemption_id,
            PointsRedemption.state == "in_flight",
            PointsRedemption.claimed_at == seen,
        )
        .values(claimed_at=now)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def finish_redemption(
    session: Session, redemption_id: str, status: int, reply: str, now: datetime
) -> None:
    session.execute(
        update(PointsRedemption)
        .where(PointsRedemption.id == redemption_id)
        .values(state="done", status=status, reply=reply, finished_at=now)
    )


def release_claim(session: Session, redemption_id: str) -> None:
    """Forget an in-flight claim whose work failed, so the same key may be tried again."""
    from sqlalchemy import delete

    session.execute(
        delete(PointsRedemption).where(
            PointsRedemption.id == redemption_id, PointsRedemption.state == "in_flight"
        )
    )


# -- the redemption's hot path --------------------------------------------------------------------
# Built once per dialect with bound parameters and run on a plain connection: a redemption is a
# handful of statements, and building ORM statements anew each time cost more than running them
# (``make bench`` compares this path with pgbench running the same SQL).


class HotPath:
    """The statements of one redemption, for one dialect."""

    def __init__(self, dialect: str) -> None:
        module: Any = postgresql if dialect == "postgresql" else sqlite
        r = PointsRedemption
        a = PointsAccount
        self.customer = select(Customer.id).where(
            Customer.marketplace == bindparam("mp"), Customer.external_id == bindparam("ext")
        )
        self.by_key = select(
            r.id, r.request_hash, r.customer_id, r.state, r.status, r.reply, r.claimed_at
        ).where(r.marketplace == bindparam("mp"), r.key == bindparam("key"))
        columns = (
            "id",
            "marketplace",
            "key",
            "request_hash",
            "customer_id",
            "order_id",
            "points",
            "state",
            "claimed_at",
        )
        self.claim = (
            module.insert(r)
            .values({c: bindparam(c) for c in columns})
            .on_conflict_do_nothing(index_elements=["marketplace", "key"])
            .returning(r.id)
        )
        # the claim and the customer's lookup in one statement: no row comes back when the key
        # is taken or the customer is new, and the caller then looks closer
        known = select(
            *(
                bindparam(c, type_=getattr(r, c).type)
                for c in columns
                if c not in ("customer_id", "marketplace")
            ),
            Customer.id,
            Customer.marketplace,
        ).where(Customer.marketplace == bindparam("mp"), Customer.external_id == bindparam("ext"))
        self.claim_known = (
            module.insert(r)
            .from_select(
                [c for c in columns if c not in ("customer_id", "marketplace")]
                + ["customer_id", "marketplace"],
                known,
            )
            .on_conflict_do_nothing(index_elements=["marketplace", "key"])
            .returning(r.id, r.customer_id)
        )
        self.take = (
            update(a)
            .where(
                a.customer_id == bindparam("cid"),
                a.available >= bindparam("pts"),
                or_(a.expires_at.is_(None), a.expires_at > bindparam("now")),
            )
            .values(available=a.available - bindparam("pts"), updated_at=bindparam("now"))
            .returning(a.available, a.expires_at)
        )
        entry_columns = (
            "marketplace",
            "key",
            "kind",
            "customer_id",
            "debit",
            "credit",
            "amount",
            "shortfall",
            "reason",
            "order_id",
            "redemption_id",
            "at",
            "expires_at",
            "recorded_at",
        )
        self.entry = insert(PointsEntry).values({c: bindparam(c) for c in entry_columns})
        self.finish = (
            update(r)
            .where(r.id == bindparam("rid"))
            .values(
                state="done",
                status=bindparam("status"),
                reply=bindparam("reply"),
                finished_at=bindparam("now"),
            )
        )


_HOT: dict[str, HotPath] = {}


def hot_path(dialect: str) -> HotPath:
    found = _HOT.get(dialect)
    if found is None:
        found = _HOT[dialect] = HotPath(dialect)
    return found
