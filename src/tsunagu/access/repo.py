"""Access SQL: seller memberships and platform operators, and the one query that turns a
session token into its session, principal and roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    String,
    Subquery,
    bindparam,
    cast,
    literal_column,
    null,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from tsunagu.access.models import Membership, PlatformOperator
from tsunagu.identity.models import AuthSession, IdentityLink, Principal

#: the role of a grant row that stands for a platform operator (its seller is NULL)
OPERATOR_GRANT = "operator"


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


# -- the acting principals and their grants, in one statement ------------------------------------


def _acting(principal_id: ColumnElement[str]) -> CTE:
    """The principals a sign-in of ``principal_id`` acts as: itself and the *active* members of
    its link group (``identity.links.acting_ids``, as SQL)."""
    own, other, member = aliased(IdentityLink), aliased(IdentityLink), aliased(Principal)
    linked = (
        select(other.principal_id)
        .join(own, own.group_id == other.group_id)
        .join(member, member.id == other.principal_id)
        .where(own.principal_id == principal_id, member.status == "active")
    )
    return union(select(principal_id.label("principal_id")), linked).cte("acting")


def _grants(acting: CTE) -> Subquery:
    """Every (seller_id, role) the acting principals hold; a platform operator is a row
    ``(NULL, 'operator')``."""
    ids = select(acting.c.principal_id)
    return union_all(
        select(Membership.seller_id.label("seller_id"), Membership.role.label("role")).where(
            Membership.principal_id.in_(ids)
        ),
        select(
            cast(null(), String).label("seller_id"),
            cast(literal_column(f"'{OPERATOR_GRANT}'"), String).label("role"),
        ).where(PlatformOperator.principal_id.in_(ids)),
    ).subquery("grants")


def _grants_of_statement() -> Select[str | None, str]:
    grants = _grants(_acting(bindparam("principal_id", type_=String)))
    return select(grants.c.seller_id, grants.c.role)


def _session_statement() -> Select[Any]:
    me = (
        select(
            AuthSession.id,
            AuthSession.principal_id,
            AuthSession.stage,
            AuthSession.started_at,
            AuthSession.last_seen_at,
            AuthSession.revoked_at,
            Principal.status,
        )
        .join(Principal, Principal.id == AuthSession.principal_id)
        .where(AuthSession.token_hash == bindparam("token_hash", type_=String))
        .cte("me")
    )
    grants = _grants(_acting(me.c.principal_id))
    return select(me, grants.c.seller_id, grants.c.role).select_from(me.outerjoin(grants, true()))


#: built once: executing a prepared statement skips building and hashing it again per request
_GRANTS_OF = _grants_of_statement()
_SESSION_WITH_GRANTS = _session_statement()


def grants_of(session: Session, principal_id: str) -> list[tuple[str | None, str]]:
    """Every (seller_id, role) the principal acts with, through its link group too; a platform
    operator grant is ``(None, 'operator')``. One statement."""
    rows = session.execute(_GRANTS_OF, {"principal_id": principal_id})
    return [(seller_id, role) for seller_id, role in rows]


@dataclass(frozen=True)
class SessionGrants:
    """A session found by its token hash, its principal's status and every grant the session
    acts with (as :func:`grants_of`)."""

    session_id: str
    principal_id: str
    stage: str
    started_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    principal_status: str
    grants: list[tuple[str | None, str]]


def session_with_grants(connection: Connection, token_hash: str) -> SessionGrants | None:
    """The session whose token hashes to ``token_hash`` (revoked or not) with its principal's
    status and grants, in one statement; None when no session has that hash. It reads on a plain
    connection: a caller that only authenticates needs no ORM session."""
    rows = connection.execute(_SESSION_WITH_GRANTS, {"token_hash": token_hash}).all()
    if not rows:
        return None
    first = rows[0]
    return SessionGrants(
        session_id=first.id,
        principal_id=first.principal_id,
        stage=first.stage,
        started_at=first.started_at,
        last_seen_at=first.last_seen_at,
        revoked_at=first.revoked_at,
        principal_status=first.status,
        grants=[(r.seller_id, r.role) for r in rows if r.role is not None],
    )
