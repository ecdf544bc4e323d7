"""Identity SQL. The statements that decide "at most once" are single guarded UPDATEs, so they
hold on SQLite (one writer at a time) and on PostgreSQL (the row lock makes a second UPDATE
re-check its WHERE clause after the first commits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsunagu.identity.models import (
    AuditEntry,
    AuthSession,
    AuthThrottle,
    IdentityLink,
    LinkGroup,
    Principal,
    RecoveryCode,
    TotpFactor,
)
from tsunagu.identity.rules import ThrottlePolicy, backoff, is_hard_stopped


def principal_by_email(session: Session, email: str) -> Principal | None:
    return session.scalars(select(Principal).where(Principal.email == email)).first()


# -- throttles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    """An attempt counted as a failure *before* it is verified, so concurrent guesses cannot all
    slip through one free slot; a success gives it back (see :func:`throttle_success`)."""

    allowed: bool
    failures: int
    next_allowed_at: datetime | None = None
    hard_stopped: bool = False


def _insert_ignore(session: Session, values: dict[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(AuthThrottle).values(**values).on_conflict_do_nothing())


def throttle_reserve(
    session: Session, *, key: str, policy: ThrottlePolicy, now: datetime
) -> Reservation:
    _insert_ignore(
        session, {"key": key, "failures": 0, "last_failure_at": None, "next_allowed_at": None}
    )
    if policy.forget_after is not None:
        session.execute(
            update(AuthThrottle)
            .where(
                AuthThrottle.key == key, AuthThrottle.last_failure_at < now - policy.forget_after
            )
            .values(failures=0, next_allowed_at=None)
        )
    guard = [
        AuthThrottle.key == key,
        or_(AuthThrottle.next_allowed_at.is_(None), AuthThrottle.next_allowed_at <= now),
    ]
    if policy.hard_stop is not None:
        guard.append(AuthThrottle.failures < policy.hard_stop)
    failures = session.execute(
        update(AuthThrottle)
        .where(*guard)
        .values(failures=AuthThrottle.failures + 1, last_failure_at=now)
        .returning(AuthThrottle.failures)
    ).scalar_one_or_none()
    if failures is not None:
        wait = backoff(policy, failures)
        session.execute(
            update(AuthThrottle)
            .where(AuthThrottle.key == key)
            .values(next_allowed_at=now + wait if wait else None)
        )
        return Reservation(True, failures)
    row = session.execute(
        select(AuthThrottle.failures, AuthThrottle.next_allowed_at).where(AuthThrottle.key == key)
    ).one()
    return Reservation(
        False, row.failures, row.next_allowed_at, is_hard_stopped(policy, row.failures)
    )


def throttle_success(session: Session, *, key: str, forget: bool) -> None:
    """Reset the key (``forget``), or only give back the reserved attempt (per-IP counters)."""
    if forget:
        values: dict[str, Any] = {"failures": 0, "next_allowed_at": None, "last_failure_at": None}
        session.execute(update(AuthThrottle).where(AuthThrottle.key == key).values(**values))
    else:
        session.execute(
            update(AuthThrottle)
            .where(AuthThrottle.key == key, AuthThrottle.failures > 0)
            .values(failures=AuthThrottle.failures - 1)
        )


def throttle_clear(session: Session, *, key: str) -> None:
    session.execute(delete(AuthThrottle).where(AuthThrottle.key == key))


def throttle_row(session: Session, key: str) -> AuthThrottle | None:
    return session.get(AuthThrottle, key)


# -- sessions ---------------------------------------------------------------------------------


def session_by_token_hash(session: Session, token_hash: str) -> AuthSession | None:
    return session.scalars(select(AuthSession).where(AuthSession.token_hash == token_hash)).first()


def revoke_session(session: Session, *, session_id: str, now: datetime, reason: str) -> bool:
    """True when this call revoked it (a session is revoked once, by one caller)."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def revoke_sessions_of(
    session: Session, *, principal_id: str, now: datetime, reason: str, keep: str | None = None
) -> int:
    conditions = [AuthSession.principal_id == principal_id, AuthSession.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(AuthSession.id != keep)
    result = session.execute(
        update(AuthSession)
        .where(*conditions)
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def live_sessions(session: Session, principal_id: str) -> list[AuthSession]:
    return list(
        session.scalars(
            select(AuthSession)
            .where(AuthSession.principal_id == principal_id, AuthSession.revoked_at.is_(None))
            .order_by(AuthSession.started_at.desc(), AuthSession.id)
        )
    )


# -- link groups ------------------------------------------------------------------------------


def link_of(session: Session, principal_id: str) -> IdentityLink | None:
    """The principal's membership row, read from the database (never only the identity map)."""
    return session.scalars(
        select(IdentityLink)
        .where(IdentityLink.principal_id == principal_id)
        .execution_options(populate_existing=True)
    ).first()


def group_member_ids(session: Session, group_id: str) -> list[str]:
    return list(
        session.scalars(
            select(IdentityLink.principal_id)
            .where(IdentityLink.group_id == group_id)
            .order_by(IdentityLink.principal_id)
        )
    )


def lock_group(session: Session, group_id: str) -> LinkGroup | None:
    """The group row, locked for the rest of the transaction on PostgreSQL (SQLite's
    ``BEGIN IMMEDIATE`` already serialises writers): link and unlink of one group queue."""
    return session.scalars(
        select(LinkGroup)
        .where(LinkGroup.id == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def linked_ids(session: Session, principal_id: str) -> list[str]:
    """Every member of the principal's link group, itself included, sorted; ``[principal_id]``
    when it is not linked."""
    link = link_of(session, principal_id)
    if link is None:
        return [principal_id]
    return group_member_ids(session, link.group_id)


def factor_holder(session: Session, principal_id: str) -> str:
    """The principal whose TOTP factor and recovery codes protect ``principal_id``: its group's
    factor holder, else itself."""
    holder = session.execute(
        select(LinkGroup.factor_principal_id)
        .join(IdentityLink, IdentityLink.group_id == LinkGroup.id)
        .where(IdentityLink.principal_id == principal_id)
    ).scalar_one_or_none()
    return holder or principal_id


# -- second factors ---------------------------------------------------------------------------


def totp_factor(session: Session, principal_id: str) -> TotpFactor | None:
    return session.scalars(
        select(TotpFactor).where(TotpFactor.principal_id == principal_id)
    ).first()


def claim_totp_step(session: Session, *, factor_id: str, step: int) -> bool:
    """Move ``last_used_step`` forward to ``step``; False when it is already there or beyond.

    The one statement that makes a TOTP code single-use (AUTH-03).
    """
    result = session.execute(
        update(TotpFactor)
        .where(
            TotpFactor.id == factor_id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def confirmed_factor(session: Session, principal_id: str) -> TotpFactor | None:
    """The TOTP factor that protects ``principal_id`` (its factor holder's), once confirmed."""
    factor = totp_factor(session, factor_holder(session, principal_id))
    return factor if factor is not None and factor.confirmed_at is not None else None


def delete_totp_factor(session: Session, principal_id: str) -> None:
    session.execute(delete(TotpFactor).where(TotpFactor.principal_id == principal_id))


def unused_recovery_codes(session: Session, principal_id: str) -> list[RecoveryCode]:
    return list(
        session.scalars(
            select(RecoveryCode)
            .where(RecoveryCode.principal_id == principal_id, RecoveryCode.used_at.is_(None))
            .order_by(RecoveryCode.id)
        )
    )


def claim_recovery_code(session: Session, *, code_id: str, now: datetime) -> bool:
    result = session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def delete_recovery_codes(session: Session, principal_id: str) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.principal_id == principal_id))


# -- audit ------------------------------------------------------------------------------------


def audit_entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    query = select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if outcome is not None:
        query = query.where(AuditEntry.outcome == outcome)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if after_seq is not None:
        query = query.where(AuditEntry.seq > after_seq)
    return list(session.scalars(query.order_by(AuditEntry.seq).limit(limit)))
