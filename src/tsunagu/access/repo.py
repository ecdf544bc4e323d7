"""Access SQL: seller memberships and platform operators."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.access.models import Membership, PlatformOperator
from tsunagu.identity.models import Principal


def roles_held(session: Session, principal_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Every (seller_id, role) of these principals."""
    rows = session.execute(
        select(Membership.seller_id, Membership.role).where(
            Membership.principal_id.in_(principal_ids)
        )
    )
    return [(seller_id, role) for seller_id, role in rows]


def any_operator(session: Session, principal_ids: Sequence[str]) -> bool:
    return (
        session.scalars(
            select(PlatformOperator.principal_id)
            .where(PlatformOperator.principal_id.in_(principal_ids))
            .limit(1)
        ).first()
        is not None
    )


def owner_ids_locked(session: Session, seller_id: str) -> list[str]:
    """The seller's owners, their rows locked for the rest of the transaction (PostgreSQL)."""
    return list(
        session.scalars(
            select(Membership.principal_id)
            .where(Membership.seller_id == seller_id, Membership.role == "owner")
            .with_for_update()
        )
    )


def memberships(
    session: Session, *, seller_id: str | None, principal_id: str | None
) -> list[tuple[Membership, Principal]]:
    query = select(Membership, Principal).join(Principal, Principal.id == Membership.principal_id)
    if seller_id is not None:
        query = query.where(Membership.seller_id == seller_id)
    if principal_id is not None:
        query = query.where(Membership.principal_id == principal_id)
    return [(m, p) for m, p in session.execute(query)]


def operator_ids(session: Session) -> set[str]:
    return set(session.scalars(select(PlatformOperator.principal_id)))
