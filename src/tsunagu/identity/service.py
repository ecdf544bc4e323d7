"""Principals, sign-in, sessions and step-up. Functions take ``(session, *, ...)`` and never
commit.

Failed attempts must be *remembered* even though they fail (the throttle counts them, the audit
log records them), so the attempt functions return an :class:`Outcome` instead of raising: the
entry point commits, then calls ``raise_failure()``. Raising inside the transaction would roll the
count back and let a guesser try forever.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, factors, notices, repo, tokens
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    Outcome,
    PrincipalNotFound,
    SecondFactorRequired,
    SessionInvalid,
    SessionNotFound,
    SignInLocked,
    TooManyAttempts,
)
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.models import AuthSession, Principal
from tsunagu.identity.passwords import common_passwords, hasher_for
from tsunagu.identity.rules import (
    MAX_PASSWORD,
    PRODUCTION,
    IdentitySettings,
    context_words,
    normalise_email,
    normalise_password,
    password_problem,
    require_recent_auth,
    retry_after_seconds,
    session_expiry,
)
from tsunagu.identity.schemas import SessionOut

FULL = "full"
SECOND_FACTOR = "second_factor"


@dataclass
class SignIn(Outcome):
    """A new session: ``token`` is shown to the client once and never stored."""

    token: str | None = None
    session_id: str | None = None
    principal_id: str | None = None
    stage: str | None = None
    #: the password is on the common list (it was set before the list grew): ask for a new one
    password_on_list: bool = False
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class PasswordChanged(Outcome):
    """A changed password: the other sessions ended and the tokens revoked (when asked)."""

    sessions_ended: int = 0
    revoked_tokens: list[str] = field(default_factory=list)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_key(email: str) -> str:
    """Throttle key per account, from the address as typed (normalised when possible): an
    unknown address is throttled exactly like a known one (AUTH-07)."""
    try:
        email = normalise_email(email)
    except InvalidEmail:
        email = email.strip().casefold()
    return "account:" + hashlib.sha256(email.encode("utf-8")).hexdigest()


# -- principals and passwords -----------------------------------------------------------------


def check_new_password(password: str, *, email: str, display_name: str) -> str:
    """The normalised password, or :class:`PasswordRejected` (AUTH-01)."""
    normalised = normalise_password(password)
    problem = password_problem(
        normalised, common=common_passwords(), context=context_words(email, display_name)
    )
    if problem is not None:
        raise problem
    return normalised


def create_principal(
    session: Session,
    *,
    email: str,
    display_name: str,
    now: datetime,
    password: str | None = None,
    settings: IdentitySettings = PRODUCTION,
    actor: str = "system",
    client: Client = NO_CLIENT,
) -> Principal:
    email = normalise_email(email)
    display_name = display_name.strip()
    password_hash = None
    if password is not None:
        password_hash = hasher_for(settings.hash).hash(
            check_new_password(password, email=email, display_name=display_name)
        )
    principal = Principal(
        id=new_id("usr"),
        email=email,
        display_name=display_name,
        status="active",
        password_hash=password_hash,
        password_changed_at=now if password_hash else None,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(principal)
    except IntegrityError as exc:
        raise EmailTaken() from exc
    audit.append(
        session,
        action="user_created",
        outcome="success",
        now=now,
        actor=actor,
        target=principal.id,
        client=client,
    )
    return principal


def get_principal(session: Session, principal_id: str) -> Principal | None:
    return session.get(Principal, principal_id)


def find_principal(session: Session, email: str) -> Principal | None:
    """The principal with this address (as typed, normalised); None when there is none or the
    address is malformed. Callers answer both the same way (no enumeration, AUTH-07)."""
    try:
        return repo.principal_by_email(session, normalise_email(email))
    except InvalidEmail:
        return None


def principal_for_email(session: Session, email: str) -> Principal:
    """The principal with this address (as typed, normalised), or ``principal_not_found``.

    For administration only: sign-in and reset never reveal whether an address exists.
    """
    principal = repo.principal_by_email(session, normalise_email(email))
    if principal is None:
        raise PrincipalNotFound()
    return principal


def list_principals(session: Session, *, limit: int = 10_000) -> list[Principal]:
    return repo.principals(session, limit=limit)


def change_password(
    session: Session,
    *,
    auth: AuthSession,
    current_password: str,
    new_password: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    revoke_tokens: bool = False,
) -> PasswordChanged:
    """Needs the current password (AUTH-01); ends every other session of the principal and, when
    asked (``revoke_tokens``), revokes every API token of it too (AUTH-18)."""
    principal = session.get(Principal, auth.principal_id)
    if principal is None:
        raise SessionInvalid()
    check = check_password(
        session,
        principal=principal,
        password=current_password,
        now=now,
        settings=settings,
        client=client,
        email=principal.email,
    )
    if check is not None:
        return PasswordChanged(check)
    normalised = check_new_password(
        new_password, email=principal.email, display_name=principal.display_name
    )
    principal.password_hash = hasher_for(settings.hash).hash(normalised)
    principal.password_changed_at = now
    ended = repo.revoke_sessions_of(
        session, principal_id=principal.id, now=now, reason="password_changed", keep=auth.id
    )
    revoked = (
        tokens.revoke_all(
            session, principal_id=principal.id, now=now, actor=principal.id, client=client
        )
        if revoke_tokens
        else []
    )
    audit.append(
        session,
        action="authn_password_change",
        outcome="success",
        now=now,
        actor=principal.id,
        target=principal.id,
        client=client,
    )
    notices.notify(
        session, principal_id=principal.id, kind="password_changed", now=now, sender=sender
    )
    return PasswordChanged(sessions_ended=ended, revoked_tokens=revoked)


def disable_principal(session: Session, *, principal_id: str, now: datetime, actor: str) -> None:
    """A disabled principal cannot sign in and loses every session at once (AUTH-14)."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise SessionNotFound()
    principal.status = "disabled"
    repo.revoke_sessions_of(session, principal_id=principal_id, now=now, reason="disabled")
    audit.append(
        session,
        action="user_disabled",
        outcome="success",
        now=now,
        actor=actor,
        target=principal_id,
    )


def unlock_sign_in(session: Session, *, email: str, now: datetime, actor: str) -> None:
    """Clear an account's failure count (after a password reset, or by an operator)."""
    repo.throttle_clear(session, key=account_key(email))
    audit.append(session, action="authn_unlock", outcome="success", now=now, actor=actor)


# -- sign-in ----------------------------------------------------------------------------------


def _throttled(reservation: repo.Reservation, now: datetime) -> TsunaguError:
    if reservation.hard_stopped:
        return SignInLocked()
    assert reservation.next_allowed_at is not None
    return TooManyAttempts(retry_after_seconds(reservation.next_allowed_at, now))


def check_password(
    session: Session,
    *,
    principal: Principal | None,
    password: str,
    email: str,
    now: datetime,
    settings: IdentitySettings,
    client: Client,
) -> TsunaguError | None:
    """Throttle, verify (or burn the same time), record. None when the password is right.

    The one password check of every flow that takes a password (sign-in, step-up, password
    change, linking another account): the same per-IP and per-account throttles, the same
    generic failure, the same audit entries.
    """
    ip_key = f"ip:{client.ip}" if client.ip else None
    key = account_key(email)
    actor = principal.id if principal is not None else "anonymous"
    by_account = _reserve_attempt(
        session, ip_key=ip_key, key=key, actor=actor, now=now, settings=settings, client=client
    )
    if isinstance(by_account, TsunaguError):
        return by_account
    if _password_matches(principal, password, settings):
        repo.throttle_success(session, key=key, forget=True)
        if ip_key is not None:
            repo.throttle_success(session, key=ip_key, forget=False)
        return None
    return _wrong_password(
        session,
        principal,
        key=key,
        failures=by_account.failures,
        now=now,
        settings=settings,
        client=client,
    )


def _reserve_attempt(
    session: Session,
    *,
    ip_key: str | None,
    key: str,
    actor: str,
    now: datetime,
    settings: IdentitySettings,
    client: Client,
) -> repo.Reservation | TsunaguError:
    """Count the attempt against the caller's address and the account before the password is
    compared: the account's reservation, or the throttle's answer when either has no attempt
    left (the address's reserved attempt is given back when the account refuses)."""
    if ip_key is not None:
        by_ip = repo.throttle_reserve(session, key=ip_key, policy=settings.ip_throttle, now=now)
        if not by_ip.allowed:
            _record_throttled(session, scope="ip", actor=actor, now=now, client=client)
            return _throttled(by_ip, now)
    by_account = repo.throttle_reserve(session, key=key, policy=settings.account_throttle, now=now)
    if not by_account.allowed:
        if ip_key is not None:
            repo.throttle_success(session, key=ip_key, forget=False)
        _record_throttled(session, scope="account", actor=actor, now=now, client=client)
        return _throttled(by_account, now)
    return by_account


def _record_throttled(
    session: Session, *, scope: str, actor: str, now: datetime, client: Client
) -> None:
    audit.append(
        session,
        action="excess_rate_limit_exceeded",
        outcome="denied",
        now=now,
        actor=actor,
        client=client,
        details={"scope": scope},
    )


def _password_matches(
    principal: Principal | None, password: str, settings: IdentitySettings
) -> bool:
    """Whether ``password`` is the active principal's; without one to compare with, the hash
    runs anyway so that the answer takes the same time."""
    hasher = hasher_for(settings.hash)
    normalised = normalise_password(password)
    if len(normalised) > 4 * MAX_PASSWORD:  # never feed megabytes to the hash
        normalised = ""
    stored = (
        principal.password_hash if principal is not None and principal.status == "active" else None
    )
    if stored and normalised:
        return hasher.verify(stored, normalised)
    hasher.burn(normalised)
    return False


def _wrong_password(
    session: Session,
    principal: Principal | None,
    *,
    key: str,
    failures: int,
    now: datetime,
    settings: IdentitySettings,
    client: Client,
) -> TsunaguError:
    """Record a failed password: ``sign_in_locked`` at the account's hard stop, else
    ``invalid_credentials`` with the wait before the next attempt."""
    actor = principal.id if principal is not None else "anonymous"
    target = actor if principal else None
    hard = settings.account_throttle.hard_stop
    if hard is not None and failures >= hard:
        audit.append(
            session,
            action="authn_login_fail_max",
            outcome="failure",
            now=now,
            actor=actor,
            target=target,
            client=client,
        )
        return SignInLocked()
    audit.append(
        session,
        action="authn_login_fail",
        outcome="failure",
        now=now,
        actor=actor,
        target=target,
        client=client,
        details={"consecutive_failures": failures},
    )
    row = repo.throttle_row(session, key)
    retry = None
    if row is not None and row.next_allowed_at is not None and row.next_allowed_at > now:
        retry = retry_after_seconds(row.next_allowed_at, now)
    return InvalidCredentials(retry)


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
) -> SignIn:
    """Password sign-in (AUTH-06/07). With TOTP enrolled the session waits for the second
    factor (:func:`complete_second_factor`)."""
    principal = find_principal(session, email)
    failure = check_password(
        session,
        principal=principal,
        password=password,
        email=email,
        now=now,
        settings=settings,
        client=client,
    )
    if failure is not None or principal is None or principal.password_hash is None:
        return SignIn(failure or InvalidCredentials())
    hasher = hasher_for(settings.hash)
    normalised = normalise_password(password)
    if hasher.needs_rehash(principal.password_hash):
        principal.password_hash = hasher.hash(normalised)
    # a linked principal is protected by its group's factor (ADR 0014, AUTH-13 f)
    factor = repo.confirmed_factor(session, principal.id)
    stage = SECOND_FACTOR if factor is not None else FULL
    token, row = _new_session(
        session, principal_id=principal.id, stage=stage, now=now, started_at=now, client=client
    )
    audit.append(
        session,
        action="authn_login_success",
        outcome="success",
        now=now,
        actor=principal.id,
        target=row.id,
        client=client,
        details={"stage": stage},
    )
    return SignIn(
        token=token,
        session_id=row.id,
        principal_id=principal.id,
        stage=stage,
        password_on_list=normalised.casefold() in common_passwords(),
    )


# -- sessions ---------------------------------------------------------------------------------


def _new_session(
    session: Session,
    *,
    principal_id: str,
    stage: str,
    now: datetime,
    started_at: datetime,
    client: Client,
) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)  # 256 bits from the CSPRNG (AUTH-14 asks for >= 128)
    row = AuthSession(
        id=new_id("ses"),
        token_hash=hash_token(token),
        principal_id=principal_id,
        stage=stage,
        started_at=started_at,
        last_seen_at=now,
        last_authenticated_at=now,
        ip=(client.ip or None) and client.ip[:64],
        user_agent=(client.user_agent or None) and client.user_agent[:300],
    )
    session.add(row)
    session.flush()
    return token, row


def rotate(
    session: Session, old: AuthSession, *, now: datetime, stage: str, client: Client = NO_CLIENT
) -> tuple[str, AuthSession]:
    """A fresh id and token after every authentication; the old one dies (AUTH-14). The
    absolute limit keeps counting from the original sign-in."""
    repo.revoke_session(session, session_id=old.id, now=now, reason="rotated")
    token, row = _new_session(
        session,
        principal_id=old.principal_id,
        stage=stage,
        now=now,
        started_at=old.started_at,
        client=client,
    )
    audit.append(
        session,
        action="session_rotated",
        outcome="success",
        now=now,
        actor=old.principal_id,
        target=row.id,
        client=client,
        details={"previous": old.id, "stage": stage},
    )
    return token, row


def check_live(
    *,
    revoked_at: datetime | None,
    principal_status: str | None,
    stage: str,
    started_at: datetime,
    last_seen_at: datetime,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    second_factor_ok: bool = False,
) -> None:
    """The rules a session must pass at ``now``, in this order: not revoked, its principal
    active, within its idle and absolute limits (AUTH-15), else :class:`SessionInvalid`; past
    its second factor unless ``second_factor_ok``, else :class:`SecondFactorRequired`. Shared by
    :func:`resolve` and the one-statement reader of requests (``access.service``)."""
    if revoked_at is not None or principal_status != "active":
        raise SessionInvalid()
    full = stage == FULL
    expires = session_expiry(
        settings.sessions, started_at=started_at, last_seen_at=last_seen_at, full=full
    )
    if now >= expires:
        raise SessionInvalid()
    if not full and not second_factor_ok:
        raise SecondFactorRequired()


def resolve(
    session: Session,
    *,
    token: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    second_factor_ok: bool = False,
    touch: bool = True,
) -> AuthSession:
    """The live session for ``token`` (and, with ``touch``, its idle clock restarted), or
    :class:`SessionInvalid`: unknown, revoked, idle for 30 min or older than 12 h (AUTH-15).
    A reader on a read-only connection passes ``touch=False`` and writes the clock itself."""
    row = repo.session_by_token_hash(session, hash_token(token))
    if row is None:
        raise SessionInvalid()
    principal = session.get(Principal, row.principal_id)
    check_live(
        revoked_at=row.revoked_at,
        principal_status=None if principal is None else principal.status,
        stage=row.stage,
        started_at=row.started_at,
        last_seen_at=row.last_seen_at,
        now=now,
        settings=settings,
        second_factor_ok=second_factor_ok,
    )
    if touch:
        row.last_seen_at = max(row.last_seen_at, now)
    return row


def session_row(session: Session, session_id: str | None) -> AuthSession:
    """The session ``session_id`` in this transaction (revoked or not); ``session_invalid``
    when there is no such row."""
    row = session.get(AuthSession, session_id)
    if row is None:
        raise SessionInvalid()
    return row


def mark_seen(session: Session, *, session_id: str, now: datetime) -> None:
    """Restart the session's idle clock at ``now`` (never back): for a reader that resolved the
    session with ``touch=False`` on a read-only connection."""
    repo.touch_session(session, session_id=session_id, now=now)


def complete_second_factor(
    session: Session,
    *,
    token: str,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
) -> SignIn:
    """TOTP code or recovery code after the password; success rotates the session (AUTH-14)."""
    row = resolve(session, token=token, now=now, settings=settings, second_factor_ok=True)
    if row.stage == FULL:
        raise SessionInvalid()
    result = factors.verify_second_factor(
        session,
        principal_id=row.principal_id,
        code=code,
        now=now,
        settings=settings,
        client=client,
    )
    if not result.ok:
        return SignIn(result.failure)
    new_token, new_row = rotate(session, row, now=now, stage=FULL, client=client)
    return SignIn(token=new_token, session_id=new_row.id, principal_id=row.principal_id, stage=FULL)


def step_up(
    session: Session,
    *,
    token: str,
    password: str,
    now: datetime,
    code: str | None = None,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
) -> SignIn:
    """Full re-authentication inside a session: password, plus the second factor when enrolled.
    Success rotates the session and sets ``last_authenticated_at`` (AUTH-12, AUTH-14)."""
    row = resolve(session, token=token, now=now, settings=settings)
    principal = session.get(Principal, row.principal_id)
    assert principal is not None
    failure = check_password(
        session,
        principal=principal,
        password=password,
        email=principal.email,
        now=now,
        settings=settings,
        client=client,
    )
    if failure is None:  # the second factor too, when one protects the principal
        failure = factors.verify_if_enrolled(
            session, principal_id=principal.id, code=code, now=now, settings=settings, client=client
        )
    if failure is not None:
        return SignIn(failure)
    new_token, new_row = rotate(session, row, now=now, stage=FULL, client=client)
    audit.append(
        session,
        action="authn_step_up",
        outcome="success",
        now=now,
        actor=principal.id,
        target=new_row.id,
        client=client,
    )
    return SignIn(token=new_token, session_id=new_row.id, principal_id=principal.id, stage=FULL)


def sign_out(session: Session, *, token: str, now: datetime, client: Client = NO_CLIENT) -> None:
    row = repo.session_by_token_hash(session, hash_token(token))
    if row is not None and repo.revoke_session(
        session, session_id=row.id, now=now, reason="sign_out"
    ):
        audit.append(
            session,
            action="authn_logout",
            outcome="success",
            now=now,
            actor=row.principal_id,
            target=row.id,
            client=client,
        )


def list_sessions(
    session: Session, *, principal_id: str, now: datetime, settings: IdentitySettings = PRODUCTION
) -> list[SessionOut]:
    """The principal's sessions that still work, newest first."""
    live = []
    for row in repo.live_sessions(session, principal_id):
        expires = session_expiry(
            settings.sessions,
            started_at=row.started_at,
            last_seen_at=row.last_seen_at,
            full=row.stage == FULL,
        )
        if now < expires:
            live.append(SessionOut.model_validate(row))
    return live


def revoke_own_session(
    session: Session,
    *,
    auth: AuthSession,
    session_id: str,
    now: datetime,
    client: Client = NO_CLIENT,
) -> None:
    """End one of the caller's sessions; another principal's id is "not found", never revoked."""
    target = session.get(AuthSession, session_id)
    if target is None or target.principal_id != auth.principal_id or target.revoked_at:
        raise SessionNotFound()
    repo.revoke_session(session, session_id=session_id, now=now, reason="revoked")
    audit.append(
        session,
        action="session_revoked",
        outcome="success",
        now=now,
        actor=auth.principal_id,
        target=session_id,
        client=client,
    )


def revoke_other_sessions(
    session: Session,
    *,
    auth: AuthSession,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> int:
    """Sign out everywhere: every other session of the caller and every session of the accounts
    linked with it, which reach the caller through the link (AUTH-13 g); a sensitive action, so
    step-up first (AUTH-12). A linked account's members are all told. API tokens of linked
    accounts that reached the caller are the access slice's (``access.service.sign_out_everywhere``).
    Returns the number of sessions ended."""
    require_recent_auth(auth, now, settings.recent_auth)
    count = repo.revoke_sessions_of(
        session, principal_id=auth.principal_id, now=now, reason="revoked_all", keep=auth.id
    )
    others = [m for m in repo.linked_ids(session, auth.principal_id) if m != auth.principal_id]
    linked = sum(
        repo.revoke_sessions_of(session, principal_id=member, now=now, reason="linked_revoked_all")
        for member in others
    )
    audit.append(
        session,
        action="session_revoked_all",
        outcome="success",
        now=now,
        actor=auth.principal_id,
        client=client,
        details={"count": count, "linked_sessions": linked},
    )
    if others:
        notices.notify(
            session,
            principal_id=auth.principal_id,
            kind="signed_out_everywhere",
            now=now,
            sender=sender,
            lang=lang,
        )
    return count + linked
