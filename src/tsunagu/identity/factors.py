"""Second factors: TOTP (AUTH-03/04/05) and single-use recovery codes (AUTH-09). Never commits.

A code is single-use because the database says so: TOTP moves ``last_used_step`` forward with a
guarded UPDATE, a recovery code sets ``used_at`` with one; whichever concurrent transaction
updates the row first wins, the other finds nothing to update. Failed codes are counted per
principal (one counter for TOTP and recovery codes) with a delay from the first failure.

Linked principals share one factor (ADR 0014): every function here works on the principal's
*factor holder* (:func:`repo.factor_holder`), so one enrolment protects the whole link group, one
disable switches it off for the group, the failure counter is the holder's, and a TOTP step or
recovery code accepted through one member is spent for all of them (AUTH-03 across the group).
The audit entries name the member that acted.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import pyotp
import segno
from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, notices, repo, sealing
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    InvalidCode,
    Outcome,
    SignInLocked,
    TooManyAttempts,
    TotpAlreadyEnrolled,
    TotpNotEnrolled,
)
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.models import AuthSession, Principal, RecoveryCode, TotpFactor
from tsunagu.identity.passwords import hasher_for
from tsunagu.identity.rules import (
    PRODUCTION,
    IdentitySettings,
    TotpPolicy,
    candidate_steps,
    normalise_code,
    require_recent_auth,
    retry_after_seconds,
)
from tsunagu.identity.schemas import FactorStatus as FactorStatus
from tsunagu.identity.schemas import TotpEnrolment

_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u
_RECOVERY_LENGTH = 10  # 50 bits; ASVS 6.5.4 asks for at least 20


@dataclass
class Confirmed(Outcome):
    """TOTP is on; the recovery codes are shown once."""

    recovery_codes: list[str] = field(default_factory=list)


def code_key(holder_id: str) -> str:
    """The second-factor throttle key, always of the *factor holder*: a guesser gains nothing by
    spreading guesses over the members of a link group."""
    return f"code:{holder_id}"


def totp_code(secret: str, step: int, policy: TotpPolicy) -> str:
    """The code of one time step (RFC 6238, SHA-1, as every authenticator app expects)."""
    return pyotp.TOTP(secret, digits=policy.digits, interval=policy.step_seconds).at(
        step * policy.step_seconds
    )


def _matching_step(secret: str, code: str, now: datetime, policy: TotpPolicy) -> int | None:
    """The step whose code equals ``code`` among t, t−1, t+1 (every candidate is compared, in
    constant time, so the answer's timing does not say which step matched)."""
    if not code.isascii():
        return None  # no TOTP code has other characters (and compare_digest refuses them)
    found = None
    for step in candidate_steps(now, policy):
        if hmac.compare_digest(totp_code(secret, step, policy), code) and found is None:
            found = step
    return found


# -- enrolment --------------------------------------------------------------------------------


def begin_totp(
    session: Session,
    *,
    auth: AuthSession,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
) -> TotpEnrolment:
    """A new seed for the caller's factor holder (replacing an unconfirmed one), shown once.
    Step-up first."""
    require_recent_auth(auth, now, settings.recent_auth)
    holder = repo.factor_holder(session, auth.principal_id)
    factor = repo.totp_factor(session, holder)
    if factor is not None and factor.confirmed_at is not None:
        raise TotpAlreadyEnrolled()
    principal = session.get(Principal, auth.principal_id)
    assert principal is not None
    secret = pyotp.random_base32(32)  # 160 bits from `secrets` (RFC 4226 R6)
    stored = sealing.seal(settings.seed_key, secret)
    if factor is None:
        session.add(
            TotpFactor(
                id=new_id("tfa"),
                principal_id=holder,
                secret=stored,
                created_at=now,
            )
        )
    else:
        factor.secret, factor.created_at, factor.last_used_step = stored, now, None
    session.flush()
    policy = settings.totp
    uri = pyotp.TOTP(secret, digits=policy.digits, interval=policy.step_seconds).provisioning_uri(
        name=principal.email, issuer_name=policy.issuer
    )
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=policy.issuer)
    return TotpEnrolment(secret=secret, uri=uri, svg=svg)


def confirm_totp(
    session: Session,
    *,
    auth: AuthSession,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
) -> Confirmed:
    """The first code from the app proves the seed arrived; then TOTP is on and 10 recovery
    codes are issued."""
    require_recent_auth(auth, now, settings.recent_auth)
    holder = repo.factor_holder(session, auth.principal_id)
    factor = repo.totp_factor(session, holder)
    if factor is None:
        raise TotpNotEnrolled()
    if factor.confirmed_at is not None:
        raise TotpAlreadyEnrolled()
    result = verify_totp(
        session,
        principal_id=auth.principal_id,
        code=code,
        now=now,
        settings=settings,
        client=client,
        unconfirmed=True,
    )
    if not result.ok:
        return Confirmed(result.failure)
    factor.confirmed_at = now
    codes = issue_recovery_codes(session, principal_id=holder, now=now, settings=settings)
    audit.append(
        session,
        action="authn_mfa_enabled",
        outcome="success",
        now=now,
        actor=auth.principal_id,
        target=factor.id,
        client=client,
        details=_holder_details(auth.principal_id, holder),
    )
    notices.notify(
        session, principal_id=auth.principal_id, kind="mfa_enabled", now=now, sender=sender
    )
    return Confirmed(recovery_codes=codes)


def disable_totp(
    session: Session,
    *,
    auth: AuthSession,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
) -> None:
    """Switch TOTP off (and delete the recovery codes) for the caller and every principal linked
    with it: they share one factor. Factors set aside when the members linked go too: "off for
    the group" must not come back on when a link is cut later. Step-up first (AUTH-12)."""
    require_recent_auth(auth, now, settings.recent_auth)
    holder = repo.factor_holder(session, auth.principal_id)
    factor = repo.totp_factor(session, holder)
    if factor is None:
        raise TotpNotEnrolled()
    for member in repo.linked_ids(session, auth.principal_id):
        repo.delete_totp_factor(session, member)
        repo.delete_recovery_codes(session, member)
    session.flush()
    audit.append(
        session,
        action="authn_mfa_disabled",
        outcome="success",
        now=now,
        actor=auth.principal_id,
        client=client,
        details=_holder_details(auth.principal_id, holder),
    )
    notices.notify(
        session, principal_id=auth.principal_id, kind="mfa_disabled", now=now, sender=sender
    )


# -- verification -----------------------------------------------------------------------------


def _holder_details(principal_id: str, holder: str) -> dict[str, str]:
    return {} if holder == principal_id else {"factor_holder": holder}


def _reserve(
    session: Session,
    principal_id: str,
    holder: str,
    now: datetime,
    settings: IdentitySettings,
    client: Client,
) -> Outcome | None:
    reservation = repo.throttle_reserve(
        session, key=code_key(holder), policy=settings.code_throttle, now=now
    )
    if reservation.allowed:
        return None
    audit.append(
        session,
        action="excess_rate_limit_exceeded",
        outcome="denied",
        now=now,
        actor=principal_id,
        client=client,
        details={"scope": "second_factor"},
    )
    if reservation.hard_stopped:
        return Outcome(SignInLocked())
    assert reservation.next_allowed_at is not None
    return Outcome(TooManyAttempts(retry_after_seconds(reservation.next_allowed_at, now)))


def _failed(
    session: Session, principal_id: str, holder: str, now: datetime, action: str, client: Client
) -> Outcome:
    audit.append(
        session,
        action=action,
        outcome="failure",
        now=now,
        actor=principal_id,
        target=principal_id,
        client=client,
        details=_holder_details(principal_id, holder),
    )
    row = repo.throttle_row(session, code_key(holder))
    retry = None
    if row is not None and row.next_allowed_at is not None and row.next_allowed_at > now:
        retry = retry_after_seconds(row.next_allowed_at, now)
    return Outcome(InvalidCode(retry))


def verify_totp(
    session: Session,
    *,
    principal_id: str,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    unconfirmed: bool = False,
) -> Outcome:
    """Accept ``code`` once: step t−1, t or t+1 of the server clock, never a step at or before
    the last one accepted (AUTH-03, AUTH-04), and only while the failure delay allows (AUTH-05).
    A replay is logged as ``authn_token_reuse``. A linked principal is checked against its factor
    holder's factor, so a step spent through one member is spent for the group."""
    holder = repo.factor_holder(session, principal_id)
    throttled = _reserve(session, principal_id, holder, now, settings, client)
    if throttled is not None:
        return throttled
    factor = repo.totp_factor(session, holder)
    if factor is None or (factor.confirmed_at is None) != unconfirmed:
        return _failed(session, principal_id, holder, now, "authn_mfa_fail", client)
    seed = sealing.unseal(settings.seed_key, factor.secret)
    step = _matching_step(seed, normalise_code(code), now, settings.totp)
    if step is None:
        return _failed(session, principal_id, holder, now, "authn_mfa_fail", client)
    if not repo.claim_totp_step(session, factor_id=factor.id, step=step):
        return _failed(session, principal_id, holder, now, "authn_token_reuse", client)
    if settings.seed_key is not None and not sealing.is_sealed(factor.secret):
        factor.secret = sealing.seal(settings.seed_key, seed)  # a seed from before sealing
    repo.throttle_success(session, key=code_key(holder), forget=True)
    audit.append(
        session,
        action="authn_mfa_success",
        outcome="success",
        now=now,
        actor=principal_id,
        target=factor.id,
        client=client,
        details=_holder_details(principal_id, holder),
    )
    return Outcome()


def use_recovery_code(
    session: Session,
    *,
    principal_id: str,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
) -> Outcome:
    """Each recovery code works once (AUTH-09); the claim is a guarded UPDATE of ``used_at``.
    Linked principals share their factor holder's codes: one used through A is gone for B."""
    holder = repo.factor_holder(session, principal_id)
    throttled = _reserve(session, principal_id, holder, now, settings, client)
    if throttled is not None:
        return throttled
    typed = normalise_code(code)
    hasher = hasher_for(settings.hash)
    for row in repo.unused_recovery_codes(session, holder):
        if hasher.verify(row.code_hash, typed):
            if not repo.claim_recovery_code(session, code_id=row.id, now=now):
                break
            repo.throttle_success(session, key=code_key(holder), forget=True)
            remaining = len(repo.unused_recovery_codes(session, holder))
            audit.append(
                session,
                action="authn_recovery_code_used",
                outcome="success",
                now=now,
                actor=principal_id,
                target=principal_id,
                client=client,
                details={"remaining": remaining, **_holder_details(principal_id, holder)},
            )
            notices.notify(
                session,
                principal_id=principal_id,
                kind="recovery_code_used",
                now=now,
                sender=sender,
                remaining=remaining,
            )
            return Outcome()
    return _failed(session, principal_id, holder, now, "authn_recovery_code_fail", client)


def verify_second_factor(
    session: Session,
    *,
    principal_id: str,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
) -> Outcome:
    """A TOTP code (digits only, of the configured length) or else a recovery code."""
    typed = normalise_code(code)
    if typed.isdigit() and len(typed) == settings.totp.digits:
        return verify_totp(
            session,
            principal_id=principal_id,
            code=typed,
            now=now,
            settings=settings,
            client=client,
        )
    return use_recovery_code(
        session,
        principal_id=principal_id,
        code=typed,
        now=now,
        settings=settings,
        client=client,
        sender=sender,
    )


def verify_if_enrolled(
    session: Session,
    *,
    principal_id: str,
    code: str | None,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
) -> TsunaguError | None:
    """The second factor of a flow that asks for it only when one protects the principal
    (step-up, linking another account): None when no confirmed factor protects it or the code
    is right, else the failure of :func:`verify_second_factor`."""
    if repo.confirmed_factor(session, principal_id) is None:
        return None
    return verify_second_factor(
        session,
        principal_id=principal_id,
        code=code or "",
        now=now,
        settings=settings,
        client=client,
    ).failure


# -- recovery codes ---------------------------------------------------------------------------


def _new_recovery_code() -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))


def format_recovery_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def issue_recovery_codes(
    session: Session, *, principal_id: str, now: datetime, settings: IdentitySettings
) -> list[str]:
    """Replace ``principal_id``'s recovery codes (its own rows, not its holder's) with a fresh
    set; returns them formatted, the only time they exist in clear."""
    repo.delete_recovery_codes(session, principal_id)
    hasher = hasher_for(settings.hash)
    codes = [_new_recovery_code() for _ in range(settings.recovery_code_count)]
    for code in codes:
        session.add(
            RecoveryCode(
                id=new_id("rco"),
                principal_id=principal_id,
                code_hash=hasher.hash(code),
                created_at=now,
            )
        )
    session.flush()
    return [format_recovery_code(code) for code in codes]


def regenerate_recovery_codes(
    session: Session,
    *,
    auth: AuthSession,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
) -> list[str]:
    """A new set of 10 for the caller's factor holder (so for its whole link group); the old
    set stops working. Needs step-up (AUTH-09, AUTH-12)."""
    require_recent_auth(auth, now, settings.recent_auth)
    holder = repo.factor_holder(session, auth.principal_id)
    factor = repo.totp_factor(session, holder)
    if factor is None or factor.confirmed_at is None:
        raise TotpNotEnrolled()
    codes = issue_recovery_codes(session, principal_id=holder, now=now, settings=settings)
    audit.append(
        session,
        action="authn_recovery_codes_generated",
        outcome="success",
        now=now,
        actor=auth.principal_id,
        target=auth.principal_id,
        client=client,
        details={"count": len(codes), **_holder_details(auth.principal_id, holder)},
    )
    notices.notify(
        session,
        principal_id=auth.principal_id,
        kind="recovery_codes_generated",
        now=now,
        sender=sender,
    )
    return codes


# -- status -----------------------------------------------------------------------------------


def is_protected(session: Session, principal_id: str) -> bool:
    """Whether a confirmed second factor (its own or its link group's) protects the principal:
    then signing in as it asks for a code."""
    return repo.confirmed_factor(session, principal_id) is not None


def factor_status(session: Session, principal_id: str) -> FactorStatus:
    """What a page shows about the second factor that protects ``principal_id``: whether it is
    on, since when, how many recovery codes are left, and which linked principals share it."""
    holder = repo.factor_holder(session, principal_id)
    factor = repo.totp_factor(session, holder)
    confirmed = factor is not None and factor.confirmed_at is not None
    return FactorStatus(
        enrolled=confirmed,
        confirmed_at=factor.confirmed_at if factor is not None and confirmed else None,
        recovery_codes_left=len(repo.unused_recovery_codes(session, holder)) if confirmed else 0,
        shared_with=[p for p in repo.linked_ids(session, principal_id) if p != principal_id],
    )
