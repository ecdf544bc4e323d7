"""Password reset by e-mailed one-time token (issue 6, point 5; AUTH-08; ADR 0013). Functions
never commit; the entry point commits, then calls ``raise_failure()`` on the outcome.

* ``request_reset`` answers nothing, whatever the address: unknown, disabled, throttled or fine,
  the caller sees the same result (no enumeration, AUTH-07). Requesting changes nothing about the
  account (no lock, no password change); it only queues a message.
* The token is 256 random bits, shown only in the message; the table keeps its SHA-256. It
  expires after ``IdentitySettings.reset_lifetime`` (30 minutes) and is accepted once, by one
  guarded UPDATE; a newer request supersedes older tokens.
* ``complete_reset`` checks the password policy *before* spending the token, then sets the
  password, ends every session of the principal, clears the sign-in lock (so a hard stop is
  recoverable, AUTH-06) and notifies the owner. It never signs in, and it never touches the
  second factor: the next sign-in still asks for the TOTP code (ASVS 5 6.4.3).
* Finishing a reset also marks the address verified (the code was delivered there and used), so
  ``principals.email_verified_at`` is set if it was not (ADR 0014).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, notices, repo, verify
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import InvalidEmail, Outcome, ResetTokenInvalid
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import PasswordReset, Principal
from tsunagu.identity.passwords import hasher_for
from tsunagu.identity.rules import PRODUCTION, IdentitySettings, normalise_email
from tsunagu.identity.service import account_key, check_new_password

RESET_SUBJECT = N_("Reset your tsunagu password")
RESET_BODY = N_(
    "Someone asked to reset the password of your tsunagu account.\n\n"
    "Reset code (valid for {minutes} minutes, once): {reset_code}\n"
    "{link}\n"
    "If it was not you, ignore this message: nothing has changed."
)
CHANGED_SUBJECT = N_("Your tsunagu password was changed")
CHANGED_BODY = N_(
    "The password of your tsunagu account was reset and every session was signed out.\n\n"
    "If it was not you, reset your password again at once and contact your administrator."
)


def hash_reset_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _request_key(email: str) -> str:
    return "reset:" + account_key(email).removeprefix("account:")


def _supersede(session: Session, principal_id: str, now: datetime) -> None:
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.principal_id == principal_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def request_reset(
    session: Session,
    *,
    email: str,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    link_base: str | None = None,
    lang: str = "en",
) -> None:
    """Queue a reset message when ``email`` belongs to an active principal; always returns None."""
    reservation = repo.throttle_reserve(
        session, key=_request_key(email), policy=settings.reset_throttle, now=now
    )
    try:
        principal = repo.principal_by_email(session, normalise_email(email))
    except InvalidEmail:
        principal = None
    actor = principal.id if principal is not None else "anonymous"
    if principal is None or principal.status != "active":
        audit.append(
            session,
            action="authn_password_reset_request",
            outcome="failure",
            now=now,
            actor=actor,
            client=client,
            details={"reason": "no_active_account"},
        )
        return
    if not reservation.allowed:
        audit.append(
            session,
            action="excess_rate_limit_exceeded",
            outcome="denied",
            now=now,
            actor=actor,
            target=principal.id,
            client=client,
            details={"scope": "password_reset"},
        )
        return
    _supersede(session, principal.id, now)
    token = secrets.token_urlsafe(32)  # 256 bits (AUTH-08 asks for >= 128)
    row = PasswordReset(
        id=new_id("rst"),
        principal_id=principal.id,
        token_hash=hash_reset_token(token),
        created_at=now,
        expires_at=now + settings.reset_lifetime,
    )
    session.add(row)
    session.flush()
    minutes = int(settings.reset_lifetime.total_seconds() // 60)
    link = f"{link_base}?token={token}\n" if link_base else ""
    sender.send(
        session,
        Mail(
            to=principal.email,
            kind="password_reset",
            subject=translate(RESET_SUBJECT, lang),
            body=translate(RESET_BODY, lang, minutes=minutes, reset_code=token, link=link),
        ),
        now,
    )
    audit.append(
        session,
        action="authn_password_reset_request",
        outcome="success",
        now=now,
        actor=principal.id,
        target=row.id,
        client=client,
    )


def _invalid(
    session: Session, *, reason: str, now: datetime, client: Client, row: PasswordReset | None
) -> Outcome:
    audit.append(
        session,
        action="authn_password_reset_fail",
        outcome="failure",
        now=now,
        actor=row.principal_id if row is not None else "anonymous",
        target=row.id if row is not None else None,
        client=client,
        details={"reason": reason},
    )
    return Outcome(ResetTokenInvalid())


def complete_reset(
    session: Session,
    *,
    token: str,
    new_password: str,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    lang: str = "en",
) -> Outcome:
    """Set a new password with a reset token. A password that breaks the policy raises
    :class:`PasswordRejected` and leaves the token usable; an unknown, expired or used token
    gives ``reset_token_invalid``. No session is created (no auto-login)."""
    row = session.scalars(
        select(PasswordReset).where(PasswordReset.token_hash == hash_reset_token(token.strip()))
    ).first()
    if row is None:
        return _invalid(session, reason="unknown", now=now, client=client, row=None)
    if row.used_at is not None:
        return _invalid(session, reason="used", now=now, client=client, row=row)
    if now >= row.expires_at:
        return _invalid(session, reason="expired", now=now, client=client, row=row)
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.status != "active":
        return _invalid(session, reason="no_active_account", now=now, client=client, row=row)
    normalised = check_new_password(
        new_password, email=principal.email, display_name=principal.display_name
    )
    claimed = session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:  # a concurrent use won
        return _invalid(session, reason="used", now=now, client=client, row=row)
    principal.password_hash = hasher_for(settings.hash).hash(normalised)
    principal.password_changed_at = now
    verified = verify.verified_by_reset(session, principal, now)
    _supersede(session, principal.id, now)
    ended = repo.revoke_sessions_of(
        session, principal_id=principal.id, now=now, reason="password_reset"
    )
    repo.throttle_clear(session, key=account_key(principal.email))
    sender.send(
        session,
        Mail(
            to=principal.email,
            kind="password_changed",
            subject=translate(CHANGED_SUBJECT, lang),
            body=translate(CHANGED_BODY, lang),
        ),
        now,
    )
    notices.notify(  # and the accounts linked with it (AUTH-11)
        session,
        principal_id=principal.id,
        kind="password_changed",
        now=now,
        sender=sender,
        lang=lang,
        include_self=False,
    )
    audit.append(
        session,
        action="authn_password_reset",
        outcome="success",
        now=now,
        actor=principal.id,
        target=principal.id,
        client=client,
        details={"sessions_ended": ended, "email_verified": verified},
    )
    return Outcome()
