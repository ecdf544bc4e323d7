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
* For a linked account it also ends every session of the accounts linked with it — those
  reached it through the link (AUTH-13 g) — and, when the owner asks (``cut_links``), dissolves
  the link group (:func:`tsunagu.identity.links.cut_links`): the way out of a link the owner did
  not make, open even when signing in is not. API tokens are the access slice's:
  entry points call ``tsunagu.access.service.complete_reset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.identity import audit, links, notices, one_time_codes, repo, verify
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import Outcome, ResetTokenInvalid
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import PasswordReset, Principal
from tsunagu.identity.passwords import hasher_for
from tsunagu.identity.rules import PRODUCTION, IdentitySettings
from tsunagu.identity.service import account_key, check_new_password, find_principal

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
CHANGED_LINKED = N_(
    "Your account is linked with {others}: their sessions were signed out too, since they "
    "reached this account through the link, and so were API tokens that reached it.\n\n"
    "If you did not link these accounts, reset the password again and choose to cut this "
    "account's links on the reset page: each account then signs in as it did before it was "
    "linked."
)
CHANGED_CUT = N_(
    "As you asked, the account's links with {others} were cut: each account now signs in on its "
    "own again. Their owners were told."
)
CHANGED_TOKENS = N_("{count} API tokens of this account were revoked.")


@dataclass
class ResetDone(Outcome):
    """What a completed reset did: sessions ended (the account's and those of the accounts
    linked with it), the links cut, and (filled by the access slice) the tokens revoked."""

    principal_id: str | None = None
    sessions_ended: int = 0
    linked_sessions_ended: int = 0
    linked_with: list[str] = field(default_factory=list)
    links_cut: bool = False
    revoked_tokens: list[str] = field(default_factory=list)


def hash_reset_token(token: str) -> str:
    return one_time_codes.hash_secret(token)


def _request_key(email: str) -> str:
    return "reset:" + account_key(email).removeprefix("account:")


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
    principal = find_principal(session, email)
    if principal is None or principal.status != "active":
        _record_no_account(session, principal, now=now, client=client)
        return
    if not reservation.allowed:
        _record_throttled(session, principal, now=now, client=client)
        return
    one_time_codes.send(
        session,
        PasswordReset,
        prefix="rst",
        principal=principal,
        now=now,
        lifetime=settings.reset_lifetime,
        compose=lambda token: _reset_mail(principal, token, settings, link_base, lang),
        sender=sender,
        action="authn_password_reset_request",
        client=client,
    )


def _record_no_account(
    session: Session, principal: Principal | None, *, now: datetime, client: Client
) -> None:
    audit.append(
        session,
        action="authn_password_reset_request",
        outcome="failure",
        now=now,
        actor=principal.id if principal is not None else "anonymous",
        client=client,
        details={"reason": "no_active_account"},
    )


def _record_throttled(
    session: Session, principal: Principal, *, now: datetime, client: Client
) -> None:
    audit.append(
        session,
        action="excess_rate_limit_exceeded",
        outcome="denied",
        now=now,
        actor=principal.id,
        target=principal.id,
        client=client,
        details={"scope": "password_reset"},
    )


def _reset_mail(
    principal: Principal,
    token: str,
    settings: IdentitySettings,
    link_base: str | None,
    lang: str,
) -> Mail:
    minutes = int(settings.reset_lifetime.total_seconds() // 60)
    link = one_time_codes.link_line(link_base, token)
    return Mail(
        to=principal.email,
        kind="password_reset",
        subject=translate(RESET_SUBJECT, lang),
        body=translate(RESET_BODY, lang, minutes=minutes, reset_code=token, link=link),
    )


def _invalid(
    session: Session, *, reason: str, now: datetime, client: Client, row: PasswordReset | None
) -> ResetDone:
    audit.refusal(
        session,
        action="authn_password_reset_fail",
        reason=reason,
        now=now,
        client=client,
        row=row,
    )
    return ResetDone(ResetTokenInvalid())


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
    cut_links: bool = False,
) -> ResetDone:
    """Set a new password with a reset token. A password that breaks the policy raises
    :class:`PasswordRejected` and leaves the token usable; an unknown, expired or used token
    gives ``reset_token_invalid``. No session is created (no auto-login). The owner is told by
    the entry point's :func:`notify_reset` once tokens are settled."""
    found = one_time_codes.look_up(session, PasswordReset, token=token, now=now)
    row, principal = found.row, found.principal
    if row is None or principal is None:
        return _invalid(session, reason=found.reason, now=now, client=client, row=row)
    normalised = check_new_password(
        new_password, email=principal.email, display_name=principal.display_name
    )
    if not one_time_codes.consume(session, PasswordReset, row, now):  # a concurrent use won
        return _invalid(session, reason="used", now=now, client=client, row=row)
    principal.password_hash = hasher_for(settings.hash).hash(normalised)
    principal.password_changed_at = now
    verified = verify.verified_by_reset(session, principal, now)
    one_time_codes.supersede(session, PasswordReset, principal_id=principal.id, now=now)
    done = _end_sessions(session, principal.id, now)
    repo.throttle_clear(session, key=account_key(principal.email))
    if done.linked_with and cut_links:
        links.cut_links(session, principal_id=principal.id, now=now, client=client, sender=sender)
        done.links_cut = True
    _record_reset(session, principal.id, done, email_verified=verified, now=now, client=client)
    return done


def _record_reset(
    session: Session,
    principal_id: str,
    done: ResetDone,
    *,
    email_verified: bool,
    now: datetime,
    client: Client,
) -> None:
    audit.append(
        session,
        action="authn_password_reset",
        outcome="success",
        now=now,
        actor=principal_id,
        target=principal_id,
        client=client,
        details={
            "sessions_ended": done.sessions_ended,
            "linked_sessions_ended": done.linked_sessions_ended,
            "links_cut": done.links_cut,
            "email_verified": email_verified,
        },
    )


def _end_sessions(session: Session, principal_id: str, now: datetime) -> ResetDone:
    """End every session of the principal and of the accounts linked with it (they reached it
    through the link)."""
    ended = repo.revoke_sessions_of(
        session, principal_id=principal_id, now=now, reason="password_reset"
    )
    others = [m for m in repo.linked_ids(session, principal_id) if m != principal_id]
    linked_ended = sum(
        repo.revoke_sessions_of(
            session, principal_id=member, now=now, reason="linked_password_reset"
        )
        for member in others
    )
    return ResetDone(
        principal_id=principal_id,
        sessions_ended=ended,
        linked_sessions_ended=linked_ended,
        linked_with=others,
    )


def notify_reset(
    session: Session,
    *,
    done: ResetDone,
    now: datetime,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> None:
    """Tell the owner what the reset did (sessions, links, tokens), and every account still
    linked with it (AUTH-11, AUTH-13 g). Never a code or a token in the message."""
    principal = session.get(Principal, done.principal_id) if done.principal_id else None
    if principal is None:
        return
    sender.send(
        session,
        Mail(
            to=principal.email,
            kind="password_changed",
            subject=translate(CHANGED_SUBJECT, lang),
            body=_reset_report(session, done, lang),
        ),
        now,
    )
    if not done.links_cut:  # a cut told every former member already
        notices.notify(
            session,
            principal_id=principal.id,
            kind="password_reset_linked",
            now=now,
            sender=sender,
            lang=lang,
            include_self=False,
        )


def _reset_report(session: Session, done: ResetDone, lang: str) -> str:
    """The owner's message: every session ended, and what happened to links and tokens."""
    parts = [translate(CHANGED_BODY, lang)]
    if done.linked_with:
        emails = ", ".join(
            p.email for p in repo.principals_by_id(session, done.linked_with).values()
        )
        parts.append(
            translate(CHANGED_CUT if done.links_cut else CHANGED_LINKED, lang, others=emails)
        )
    if done.revoked_tokens:
        parts.append(translate(CHANGED_TOKENS, lang, count=len(done.revoked_tokens)))
    return "\n\n".join(parts)
