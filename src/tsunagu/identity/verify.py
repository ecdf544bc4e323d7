"""E-mail verification: proof that a principal controls its address (ADR 0014). Functions never
commit; the entry point commits, then calls ``raise_failure()`` on the outcome.

A verified address is the precondition for linking (AUTH-13 b): somebody who registers an account
with another person's address, hoping it will later be joined to the real owner's account (the
"pre-hijacking" attacks), never gets that account verified, so it can never be linked.

* ``request_verification`` e-mails a 256-bit token (shown only in the message; the table keeps
  its SHA-256) that works once, for ``IdentitySettings.verification_lifetime`` (24 hours). A
  newer request supersedes older tokens. The row also keeps the SHA-256 of the address the
  message went to: a token verifies that address only, never one the principal has since.
* ``confirm_verification`` spends the token with one guarded UPDATE and sets
  ``principals.email_verified_at``. Unknown, expired, superseded and used tokens all answer
  ``verification_invalid``.
* ``mark_verified`` is for an administrator who checked the address another way (audited).
* Finishing a password reset also verifies the address (``reset.complete_reset``): the reset
  code arrived there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.identity import audit, one_time_codes, repo
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    Outcome,
    PrincipalNotFound,
    SessionInvalid,
    TooManyAttempts,
    VerificationInvalid,
)
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import EmailVerification, Principal
from tsunagu.identity.rules import PRODUCTION, IdentitySettings, retry_after_seconds

VERIFY_SUBJECT = N_("Confirm your e-mail address for tsunagu")
VERIFY_BODY = N_(
    "Please confirm that this address belongs to your tsunagu account.\n\n"
    "Verification code (valid for {hours} hours, once): {verification_code}\n"
    "{link}\n"
    "If you did not create a tsunagu account, ignore this message: without this code the "
    "address stays unverified."
)


def hash_secret(value: str) -> str:
    return one_time_codes.hash_secret(value)


def request_verification(
    session: Session,
    *,
    principal_id: str,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    link_base: str | None = None,
    lang: str = "en",
) -> None:
    """Send a verification code (and a link when ``link_base`` is given) to the principal's
    address; earlier codes stop working. A disabled principal gets nothing (audited). Sends are
    limited like reset e-mails (3 at once, then one per back-off step): beyond that
    ``too_many_attempts`` with the wait."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise PrincipalNotFound()
    if principal.status != "active":
        audit.append(
            session,
            action="authn_email_verification_request",
            outcome="failure",
            now=now,
            actor=principal.id,
            target=principal.id,
            client=client,
            details={"reason": "no_active_account"},
        )
        return
    reservation = repo.throttle_reserve(
        session, key=f"verify:{principal.id}", policy=settings.reset_throttle, now=now
    )
    if not reservation.allowed:  # API-06: e-mail sends are limited per account
        assert reservation.next_allowed_at is not None
        raise TooManyAttempts(retry_after_seconds(reservation.next_allowed_at, now))
    one_time_codes.send(
        session,
        EmailVerification,
        prefix="evf",
        principal=principal,
        now=now,
        lifetime=settings.verification_lifetime,
        compose=lambda token: _verification_mail(principal, token, settings, link_base, lang),
        sender=sender,
        action="authn_email_verification_request",
        client=client,
        email_hash=hash_secret(principal.email),
    )


def _verification_mail(
    principal: Principal,
    token: str,
    settings: IdentitySettings,
    link_base: str | None,
    lang: str,
) -> Mail:
    hours = int(settings.verification_lifetime.total_seconds() // 3600)
    link = one_time_codes.link_line(link_base, token)
    return Mail(
        to=principal.email,
        kind="email_verification",
        subject=translate(VERIFY_SUBJECT, lang),
        body=translate(VERIFY_BODY, lang, hours=hours, verification_code=token, link=link),
    )


def request_unless_verified(
    session: Session,
    *,
    principal_id: str,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    link_base: str | None = None,
    lang: str = "en",
) -> bool:
    """:func:`request_verification` for a signed-in principal whose address is not verified
    yet; False (nothing sent) when it is verified already. ``session_invalid`` when the principal
    is gone."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise SessionInvalid()
    if principal.email_verified_at is not None:
        return False
    request_verification(
        session,
        principal_id=principal.id,
        now=now,
        sender=sender,
        settings=settings,
        client=client,
        link_base=link_base,
        lang=lang,
    )
    return True


def _invalid(
    session: Session,
    *,
    reason: str,
    now: datetime,
    client: Client,
    row: EmailVerification | None,
) -> Outcome:
    audit.refusal(
        session,
        action="authn_email_verification_fail",
        reason=reason,
        now=now,
        client=client,
        row=row,
    )
    return Outcome(VerificationInvalid())


def _set_verified(principal: Principal, now: datetime) -> bool:
    if principal.email_verified_at is not None:
        return False
    principal.email_verified_at = now
    return True


def confirm_verification(
    session: Session, *, token: str, now: datetime, client: Client = NO_CLIENT
) -> Outcome:
    """Spend a verification token (once) and mark the principal's address verified."""
    found = one_time_codes.look_up(session, EmailVerification, token=token, now=now)
    row, principal = found.row, found.principal
    if row is None or principal is None:
        return _invalid(session, reason=found.reason, now=now, client=client, row=row)
    if hash_secret(principal.email) != row.email_hash:
        return _invalid(session, reason="address_changed", now=now, client=client, row=row)
    if not one_time_codes.consume(session, EmailVerification, row, now):  # a concurrent use won
        return _invalid(session, reason="used", now=now, client=client, row=row)
    _set_verified(principal, now)
    session.flush()
    audit.append(
        session,
        action="authn_email_verified",
        outcome="success",
        now=now,
        actor=principal.id,
        target=principal.id,
        client=client,
        details={"via": "link"},
    )
    return Outcome()


def mark_verified(
    session: Session,
    *,
    principal_id: str,
    now: datetime,
    actor: str,
    client: Client = NO_CLIENT,
) -> bool:
    """An administrator vouches for the address (checked another way). True when this changed
    anything; pending verification codes are withdrawn either way."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise PrincipalNotFound()
    changed = _set_verified(principal, now)
    one_time_codes.supersede(session, EmailVerification, principal_id=principal.id, now=now)
    session.flush()
    if changed:
        audit.append(
            session,
            action="authn_email_verified",
            outcome="success",
            now=now,
            actor=actor,
            target=principal.id,
            client=client,
            details={"via": "administrator"},
        )
    return changed


def verified_by_reset(session: Session, principal: Principal, now: datetime) -> bool:
    """Finishing a password reset proves control of the mailbox the code was sent to."""
    changed = _set_verified(principal, now)
    one_time_codes.supersede(session, EmailVerification, principal_id=principal.id, now=now)
    return changed
