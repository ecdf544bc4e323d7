"""Identity SQL. The statements that decide "at most once" are single guarded UPDATEs, so they
hold on SQLite (one writer at a time) and on PostgreSQL (the row lock makes a second UPDATE
re-check its WHERE clause after the first commits)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tsunagu.identity.models import (
    ApiToken,
    AuditEntry,
    AuthSession,
    AuthThrottle,
    EmailVerification,
    IdentityLink,
    LinkApproval,
    LinkConfirmation,
    LinkGroup,
    LinkRequest,
    OutboxMessage,
    PasswordReset,
    Principal,
    RecoveryCode,
    TotpFactor,
)
from tsunagu.identity.rules import ThrottlePolicy, backoff, is_hard_stopped

#: the tables of one-time codes: a principal's code, an expiry, used once (``used_at``)
Coded = TypeVar("Coded", PasswordReset, EmailVerification, LinkConfirmation)
#: the one-time codes looked up by the SHA-256 of the code itself
Tokened = TypeVar("Tokened", PasswordReset, EmailVerification)


def _changed_one(result: object) -> bool:
    """Whether a guarded UPDATE changed exactly one row (this call won)."""
    return getattr(result, "rowcount", 0) == 1


# -- principals -------------------------------------------------------------------------------


def principal_by_email(session: Session, email: str) -> Principal | None:
    return session.scalars(select(Principal).where(Principal.email == email)).first()


def principals(session: Session, *, limit: int) -> list[Principal]:
    return list(session.scalars(select(Principal).order_by(Principal.id).limit(limit)))


def principals_by_id(session: Session, principal_ids: Collection[str]) -> dict[str, Principal]:
    return {
        p.id: p
        for p in session.scalars(select(Principal).where(Principal.id.in_(list(principal_ids))))
    }


def emails_of(session: Session, principal_ids: Collection[str]) -> list[str]:
    """The addresses of these principals, in no particular order."""
    return list(
        session.scalars(select(Principal.email).where(Principal.id.in_(list(principal_ids))))
    )


def active_ids(session: Session, principal_ids: Collection[str]) -> set[str]:
    return set(
        session.scalars(
            select(Principal.id).where(
                Principal.id.in_(list(principal_ids)), Principal.status == "active"
            )
        )
    )


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


def touch_session(session: Session, *, session_id: str, now: datetime) -> None:
    """Move the session's idle clock forward to ``now`` (never back)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.last_seen_at < now)
        .values(last_seen_at=now)
    )


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


def linked_accounts(
    session: Session, *, group_id: str, besides: str
) -> list[tuple[IdentityLink, Principal]]:
    """The group's members other than ``besides``, with their memberships, by address."""
    rows = session.execute(
        select(IdentityLink, Principal)
        .join(Principal, Principal.id == IdentityLink.principal_id)
        .where(IdentityLink.group_id == group_id, IdentityLink.principal_id != besides)
        .order_by(Principal.email)
    )
    return [(link, principal) for link, principal in rows]


def leave_group(session: Session, principal_id: str) -> None:
    session.execute(delete(IdentityLink).where(IdentityLink.principal_id == principal_id))


def delete_group(session: Session, group_id: str) -> None:
    """The group, its memberships and its pending unlink confirmations."""
    session.execute(delete(IdentityLink).where(IdentityLink.group_id == group_id))
    session.execute(delete(LinkConfirmation).where(LinkConfirmation.group_id == group_id))
    session.execute(delete(LinkGroup).where(LinkGroup.id == group_id))


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
    return _changed_one(result)


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
    return _changed_one(result)


def delete_recovery_codes(session: Session, principal_id: str) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.principal_id == principal_id))


# -- one-time codes ---------------------------------------------------------------------------


def supersede_codes(
    session: Session, model: type[Coded], *, principal_id: str, now: datetime
) -> None:
    """Spend every unused code of the principal: a newer one replaces them."""
    session.execute(
        update(model)
        .where(model.principal_id == principal_id, model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def code_by_token_hash(session: Session, model: type[Tokened], token_hash: str) -> Tokened | None:
    return session.scalars(select(model).where(model.token_hash == token_hash)).first()


def claim_code(session: Session, model: type[Coded], *, code_id: str, now: datetime) -> bool:
    """Spend the code; False when it was spent already (a concurrent use won)."""
    result = session.execute(
        update(model)
        .where(model.id == code_id, model.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed_one(result)


def pending_confirmation(session: Session, principal_id: str) -> LinkConfirmation | None:
    """The principal's newest unused unlink confirmation."""
    return session.scalars(
        select(LinkConfirmation)
        .where(LinkConfirmation.principal_id == principal_id, LinkConfirmation.used_at.is_(None))
        .order_by(LinkConfirmation.created_at.desc(), LinkConfirmation.id.desc())
        .limit(1)
    ).first()


def count_confirmation_attempt(session: Session, *, confirmation_id: str, limit: int) -> int | None:
    """Count one more try at the code (before it is compared); the tries so far, or None when
    the code is spent or out of tries."""
    return session.execute(
        update(LinkConfirmation)
        .where(
            LinkConfirmation.id == confirmation_id,
            LinkConfirmation.used_at.is_(None),
            LinkConfirmation.attempts < limit,
        )
        .values(attempts=LinkConfirmation.attempts + 1)
        .returning(LinkConfirmation.attempts)
    ).scalar_one_or_none()


def spend_group_confirmations(session: Session, *, group_id: str, now: datetime) -> None:
    """Every pending unlink confirmation of the group stops working (the group changed)."""
    session.execute(
        update(LinkConfirmation)
        .where(LinkConfirmation.group_id == group_id, LinkConfirmation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


# -- link requests ----------------------------------------------------------------------------


def close_requests_between(
    session: Session, *, requested_by: str, other: str, now: datetime, outcome: str
) -> None:
    session.execute(
        update(LinkRequest)
        .where(
            LinkRequest.requested_by == requested_by,
            LinkRequest.other_principal_id == other,
            LinkRequest.closed_at.is_(None),
        )
        .values(closed_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )


def approval_by_token_hash(
    session: Session, token_hash: str
) -> tuple[LinkApproval, LinkRequest] | None:
    row = session.execute(
        select(LinkApproval, LinkRequest)
        .join(LinkRequest, LinkRequest.id == LinkApproval.request_id)
        .where(LinkApproval.token_hash == token_hash)
    ).first()
    return None if row is None else (row[0], row[1])


def approve(session: Session, *, approval_id: str, now: datetime) -> bool:
    result = session.execute(
        update(LinkApproval)
        .where(LinkApproval.id == approval_id, LinkApproval.approved_at.is_(None))
        .values(approved_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed_one(result)


def unapproved_ids(session: Session, request_id: str) -> list[str]:
    return list(
        session.scalars(
            select(LinkApproval.principal_id)
            .where(LinkApproval.request_id == request_id, LinkApproval.approved_at.is_(None))
            .order_by(LinkApproval.principal_id)
        )
    )


def approved_ids(session: Session, request_id: str) -> set[str]:
    return set(
        session.scalars(
            select(LinkApproval.principal_id).where(
                LinkApproval.request_id == request_id, LinkApproval.approved_at.is_not(None)
            )
        )
    )


def close_request(session: Session, *, request_id: str, now: datetime, outcome: str) -> bool:
    result = session.execute(
        update(LinkRequest)
        .where(LinkRequest.id == request_id, LinkRequest.closed_at.is_(None))
        .values(closed_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    return _changed_one(result)


def open_requests_of(session: Session, *, principal_id: str, now: datetime) -> list[LinkRequest]:
    """Open, unexpired requests the principal made or must agree to, newest first."""
    asked_of = select(LinkApproval.request_id).where(LinkApproval.principal_id == principal_id)
    return list(
        session.scalars(
            select(LinkRequest)
            .where(
                LinkRequest.closed_at.is_(None),
                LinkRequest.expires_at > now,
                or_(LinkRequest.requested_by == principal_id, LinkRequest.id.in_(asked_of)),
            )
            .order_by(LinkRequest.created_at.desc(), LinkRequest.id.desc())
        )
    )


def approvals_of(session: Session, request_id: str) -> list[tuple[LinkApproval, Principal]]:
    rows = session.execute(
        select(LinkApproval, Principal)
        .join(Principal, Principal.id == LinkApproval.principal_id)
        .where(LinkApproval.request_id == request_id)
        .order_by(Principal.email)
    )
    return [(approval, principal) for approval, principal in rows]


# -- API tokens -------------------------------------------------------------------------------


def api_tokens(
    session: Session, *, principal_id: str | None, include_revoked: bool
) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if principal_id is not None:
        query = query.where(ApiToken.principal_id == principal_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def live_tokens_of(session: Session, principal_ids: Collection[str]) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.principal_id.in_(list(principal_ids)), ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def revoke_api_token(session: Session, *, token_id: str, now: datetime) -> bool:
    """True when this call revoked it."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed_one(result)


# -- outbox -----------------------------------------------------------------------------------


def outbox_messages(session: Session, *, to: str | None, limit: int) -> list[OutboxMessage]:
    """Queued messages, newest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    return list(session.scalars(query.limit(limit)))


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
