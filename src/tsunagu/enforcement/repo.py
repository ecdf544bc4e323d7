"""Enforcement SQL: states, evaluations, changes and deactivations, and the projection rows that
name the causes behind a metric's orders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tsunagu.enforcement.models import (
    EnforcementChange,
    EnforcementDeactivation,
    EnforcementEvaluation,
    EnforcementState,
)
from tsunagu.orders.models import Order, OrderCase
from tsunagu.sellers.models import Store

#: ids per ``IN (…)`` list, well under every database's limit on parameters
CHUNK = 500


def state(session: Session, seller_id: str, marketplace: str) -> EnforcementState | None:
    return session.get(EnforcementState, (seller_id, marketplace))


def state_locked(session: Session, seller_id: str, marketplace: str) -> EnforcementState | None:
    """The state with its row locked for the rest of the transaction (PostgreSQL; SQLite's
    writer lock already serialises writers)."""
    return session.scalars(
        select(EnforcementState)
        .where(EnforcementState.seller_id == seller_id, EnforcementState.marketplace == marketplace)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def bump(session: Session, row: EnforcementState, **values: object) -> bool:
    """Write ``values`` if the row is still at the version read; True when written."""
    result = session.execute(
        update(EnforcementState)
        .where(
            EnforcementState.seller_id == row.seller_id,
            EnforcementState.marketplace == row.marketplace,
            EnforcementState.version == row.version,
        )
        .values(version=row.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    changed = bool(getattr(result, "rowcount", 0))
    if changed:
        session.refresh(row)
    return changed


def evaluation(
    session: Session, seller_id: str, marketplace: str, day: str
) -> EnforcementEvaluation | None:
    return session.scalars(
        select(EnforcementEvaluation).where(
            EnforcementEvaluation.seller_id == seller_id,
            EnforcementEvaluation.marketplace == marketplace,
            EnforcementEvaluation.day == day,
        )
    ).first()


def changes(
    session: Session,
    seller_id: str,
    marketplace: str,
    *,
    limit: int,
    before: tuple[datetime, str] | None = None,
) -> list[EnforcementChange]:
    """The store's changes, latest first (then by id, descending)."""
    query = select(EnforcementChange).where(
        EnforcementChange.seller_id == seller_id, EnforcementChange.marketplace == marketplace
    )
    if before is not None:
        at, change_id = before
        query = query.where(
            (EnforcementChange.at < at)
            | ((EnforcementChange.at == at) & (EnforcementChange.id < change_id))
        )
    query = query.order_by(EnforcementChange.at.desc(), EnforcementChange.id.desc()).limit(limit)
    return list(session.scalars(query))


def deactivation(session: Session, deactivation_id: str) -> EnforcementDeactivation | None:
    return session.get(EnforcementDeactivation, deactivation_id)


def open_deactivation(
    session: Session, seller_id: str, marketplace: str
) -> EnforcementDeactivation | None:
    return session.scalars(
        select(EnforcementDeactivation)
        .where(
            EnforcementDeactivation.seller_id == seller_id,
            EnforcementDeactivation.marketplace == marketplace,
            EnforcementDeactivation.reinstated_at.is_(None),
        )
        .order_by(EnforcementDeactivation.at.desc(), EnforcementDeactivation.id.desc())
        .limit(1)
    ).first()


def stores(session: Session, seller_ids: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(seller id, marketplace) of every store, or of these sellers' stores, sorted."""
    query = select(Store.seller_id, Store.marketplace)
    if seller_ids is not None:
        query = query.where(Store.seller_id.in_(seller_ids))
    rows = session.execute(query.order_by(Store.seller_id, Store.marketplace))
    return [(seller_id, marketplace) for seller_id, marketplace in rows]


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def orders(
    session: Session, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> list[Order]:
    found: list[Order] = []
    for part in _chunks(sorted(set(order_ids))):
        found += session.scalars(
            select(Order).where(
                Order.seller_id == seller_id,
                Order.marketplace == marketplace,
                Order.order_id.in_(part),
            )
        )
    return found


def cases(
    session: Session, seller_id: str, marketplace: str, order_ids: Sequence[str]
) -> list[OrderCase]:
    found: list[OrderCase] = []
    for part in _chunks(sorted(set(order_ids))):
        found += session.scalars(
            select(OrderCase).where(
                OrderCase.seller_id == seller_id,
                OrderCase.marketplace == marketplace,
                OrderCase.order_id.in_(part),
            )
        )
    return found
