"""Unlinking (ADR 0014): detach a member from its link group with a step-up and an e-mailed
code. Functions take ``(session, *, ...)`` and never commit.

* :func:`begin_unlink` e-mails an 8-digit code to the caller; :func:`confirm_unlink` takes it
  (step-up again, single use, 5 wrong codes kill it), detaches the member, gives the side that
  did not hold the factor its own copy of it with fresh recovery codes, and ends every session of
  every former member except the caller's own (AUTH-13 d).

``confirm_unlink`` returns an outcome: the entry point commits (the audit log must remember a
failure), then calls ``raise_failure()``. API tokens that reached across the link are the access
slice's business (``tsunagu.access.service.unlink``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, factors, one_time_codes, repo
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import InvalidCode, LinkNotFound, Outcome, SessionInvalid
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import (
    AuthSession,
    LinkConfirmation,
    LinkGroup,
    Principal,
    TotpFactor,
)
from tsunagu.identity.rules import (
    PRODUCTION,
    IdentitySettings,
    normalise_code,
    require_recent_auth,
)

UNLINK_CODE_SUBJECT = N_("Confirm unlinking your tsunagu accounts")
UNLINK_CODE_BODY = N_(
    "Someone signed in to {email} asked to unlink {target_email}.\n\n"
    "Confirmation code (valid for {minutes} minutes, once): {confirmation_code}\n\n"
    "If this was not you, do not pass the code on, and change your password."
)
UNLINKED_SUBJECT = N_("Your tsunagu accounts were unlinked")
UNLINKED_BODY = N_(
    "Your tsunagu account {email} is no longer linked with {others}. Every session of these "
    "accounts except the one that unlinked them was signed out.\n\n"
    "{factor_note}"
    "If this was not you, reset your password at once and contact your administrator."
)
UNLINKED_FACTOR_NOTE = N_(
    "This account now has its own copy of the two-factor authenticator (the same entry in your "
    "app keeps working) and new recovery codes, shown once when the accounts were unlinked.\n\n"
)


@dataclass
class Unlinked(Outcome):
    """The result of :func:`confirm_unlink`. ``recovery_codes`` maps the principal that got its
    own copy of the factor to its new codes, shown once. ``former_members`` were the group before
    the unlink; ``revoked_tokens`` is filled by the slice that scopes API tokens."""

    detached: str | None = None
    recovery_codes: dict[str, list[str]] = field(default_factory=dict)
    former_members: list[str] = field(default_factory=list)
    revoked_tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Refusal:
    """Why a confirmation was refused, for the answer and the audit entry."""

    error: TsunaguError
    reason: str
    target: str | None
    attempts: int | None = None


@dataclass(frozen=True)
class _Detached:
    """What detaching a member did to its group."""

    members: list[str]
    dissolved: bool
    copied_to: str | None
    recovery_codes: dict[str, list[str]]


def caller_of(session: Session, auth: AuthSession) -> Principal:
    principal = session.get(Principal, auth.principal_id)
    if principal is None or principal.status != "active" or auth.revoked_at is not None:
        raise SessionInvalid()
    return principal


def record_refusal(
    session: Session,
    action: str,
    *,
    reason: str,
    now: datetime,
    caller: str,
    target: str | None,
    client: Client,
    attempts: int | None = None,
) -> None:
    details: dict[str, object] = {"reason": reason}
    if attempts is not None:
        details["attempts"] = attempts
    audit.append(
        session,
        action=action,
        outcome="failure",
        now=now,
        actor=caller,
        target=target,
        client=client,
        details=details,
    )


def _code_hash(confirmation_id: str, code: str) -> str:
    # the row id salts the hash, so one precomputed table of 10^8 codes serves no other row
    return one_time_codes.hash_secret(f"{confirmation_id}:{code}")


def begin_unlink(
    session: Session,
    *,
    auth: AuthSession,
    principal_id: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> None:
    """E-mail the caller an 8-digit code that confirms detaching ``principal_id`` (the caller
    itself or another member of its group; anything else is ``link_not_found``). Step-up first
    (AUTH-12). The code works once, for 10 minutes; a newer request supersedes it."""
    require_recent_auth(auth, now, settings.recent_auth)
    caller = caller_of(session, auth)
    link = repo.link_of(session, caller.id)
    if link is None or principal_id not in repo.group_member_ids(session, link.group_id):
        raise LinkNotFound()
    target = session.get(Principal, principal_id)
    assert target is not None
    row_id, code = _new_confirmation(
        session, caller=caller, target=target, group_id=link.group_id, now=now, settings=settings
    )
    _send_unlink_code(
        session,
        caller=caller,
        target=target,
        code=code,
        now=now,
        settings=settings,
        sender=sender,
        lang=lang,
    )
    audit.append(
        session,
        action="account_unlink_requested",
        outcome="success",
        now=now,
        actor=caller.id,
        target=principal_id,
        client=client,
        details={"group": link.group_id, "confirmation": row_id},
    )


def _new_confirmation(
    session: Session,
    *,
    caller: Principal,
    target: Principal,
    group_id: str,
    now: datetime,
    settings: IdentitySettings,
) -> tuple[str, str]:
    """A new 8-digit code of the caller for detaching ``target`` (the caller's earlier codes stop
    working); returns the row id and the code in clear."""
    one_time_codes.supersede(session, LinkConfirmation, principal_id=caller.id, now=now)
    code = one_time_codes.new_digits(8)
    row_id = new_id("ulc")
    session.add(
        LinkConfirmation(
            id=row_id,
            principal_id=caller.id,
            target_principal_id=target.id,
            group_id=group_id,
            code_hash=_code_hash(row_id, code),
            created_at=now,
            expires_at=now + settings.unlink_code_lifetime,
            attempts=0,
        )
    )
    session.flush()
    return row_id, code


def _send_unlink_code(
    session: Session,
    *,
    caller: Principal,
    target: Principal,
    code: str,
    now: datetime,
    settings: IdentitySettings,
    sender: MailSender,
    lang: str,
) -> None:
    sender.send(
        session,
        Mail(
            to=caller.email,
            kind="unlink_code",
            subject=translate(UNLINK_CODE_SUBJECT, lang),
            body=translate(
                UNLINK_CODE_BODY,
                lang,
                email=caller.email,
                target_email=target.email,
                minutes=int(settings.unlink_code_lifetime.total_seconds() // 60),
                confirmation_code=code,
            ),
        ),
        now,
    )


def _copy_factor(
    session: Session,
    *,
    source: TotpFactor,
    to: str,
    now: datetime,
    settings: IdentitySettings,
) -> list[str]:
    """Give ``to`` its own TOTP factor with the same seed and last step (the authenticator app
    keeps working, and no code already spent becomes good again) and a fresh set of recovery
    codes, returned formatted."""
    repo.delete_totp_factor(session, to)
    session.add(
        TotpFactor(
            id=new_id("tfa"),
            principal_id=to,
            secret=source.secret,
            created_at=now,
            confirmed_at=source.confirmed_at,
            last_used_step=source.last_used_step,
        )
    )
    session.flush()
    return factors.issue_recovery_codes(session, principal_id=to, now=now, settings=settings)


def _notify_unlinked(
    session: Session,
    *,
    detached: _Detached,
    target: str,
    now: datetime,
    sender: MailSender,
    lang: str,
) -> None:
    """Tell every former member: the detached one whom it left, the others whom they lost."""
    members = detached.members
    principals = repo.principals_by_id(session, members)
    for member in members:
        me = principals[member]
        others = [target] if member != target else [m for m in members if m != target]
        note = translate(UNLINKED_FACTOR_NOTE, lang) if member == detached.copied_to else ""
        sender.send(
            session,
            Mail(
                to=me.email,
                kind="account_unlinked",
                subject=translate(UNLINKED_SUBJECT, lang),
                body=translate(
                    UNLINKED_BODY,
                    lang,
                    email=me.email,
                    others=", ".join(principals[o].email for o in others),
                    factor_note=note,
                ),
            ),
            now,
        )


def confirm_unlink(
    session: Session,
    *,
    auth: AuthSession,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> Unlinked:
    """Detach the member named by the caller's pending confirmation, given its e-mailed code.

    Step-up again (AUTH-12). ``invalid_code`` for a missing, expired, used, superseded or wrong
    code, and for every try after 5 wrong ones; ``link_not_found`` when the group changed in the
    meantime. On success every session of every former member except ``auth`` ends (reason
    ``unlinked``), a group left with one member is dissolved, and the side that did not hold the
    factor gets its own copy with 10 new recovery codes (``Unlinked.recovery_codes``). API tokens
    are the access slice's business: entry points call ``tsunagu.access.service.unlink``.
    """
    require_recent_auth(auth, now, settings.recent_auth)
    caller = caller_of(session, auth)
    row = _spend_confirmation(session, caller_id=caller.id, code=code, now=now, settings=settings)
    if isinstance(row, _Refusal):
        return _refuse(session, row, now=now, caller=caller.id, client=client)
    target = row.target_principal_id
    group = _group_of_both(session, row=row, caller_id=caller.id)
    if group is None:
        return _refuse(
            session,
            _Refusal(LinkNotFound(), "stale", target),
            now=now,
            caller=caller.id,
            client=client,
        )
    detached = _detach(session, group=group, target=target, now=now, settings=settings)
    ended = sum(
        repo.revoke_sessions_of(
            session, principal_id=member, now=now, reason="unlinked", keep=auth.id
        )
        for member in detached.members
    )
    audit.append(
        session,
        action="account_unlinked",
        outcome="success",
        now=now,
        actor=caller.id,
        target=target,
        client=client,
        details={
            "group": row.group_id,
            "dissolved": detached.dissolved,
            "factor_copied_to": detached.copied_to,
            "sessions_ended": ended,
        },
    )
    _notify_unlinked(session, detached=detached, target=target, now=now, sender=sender, lang=lang)
    return Unlinked(
        detached=target, recovery_codes=detached.recovery_codes, former_members=detached.members
    )


def _refuse(
    session: Session, refusal: _Refusal, *, now: datetime, caller: str, client: Client
) -> Unlinked:
    record_refusal(
        session,
        "account_unlinked",
        reason=refusal.reason,
        now=now,
        caller=caller,
        target=refusal.target,
        client=client,
        attempts=refusal.attempts,
    )
    return Unlinked(refusal.error)


def _spend_confirmation(
    session: Session, *, caller_id: str, code: str, now: datetime, settings: IdentitySettings
) -> LinkConfirmation | _Refusal:
    """The caller's newest pending confirmation, spent with ``code``; or why it was refused."""
    row = repo.pending_confirmation(session, caller_id)
    if row is None:
        return _Refusal(InvalidCode(), "no_pending", None)
    target = row.target_principal_id
    if now >= row.expires_at:
        return _Refusal(InvalidCode(), "expired", target)
    # counted before it is compared (like the sign-in throttle): parallel guesses share no slot
    attempts = repo.count_confirmation_attempt(
        session, confirmation_id=row.id, limit=settings.unlink_code_attempts
    )
    if attempts is None:
        return _Refusal(InvalidCode(), "too_many_attempts", target)
    if not hmac.compare_digest(row.code_hash, _code_hash(row.id, normalise_code(code))):
        return _Refusal(InvalidCode(), "wrong_code", target, attempts)
    if not one_time_codes.consume(session, LinkConfirmation, row, now):  # a concurrent one won
        return _Refusal(InvalidCode(), "used", target)
    return row


def _group_of_both(session: Session, *, row: LinkConfirmation, caller_id: str) -> LinkGroup | None:
    """The confirmation's group, locked, when the caller and the member to detach are both still
    in it; None when the group changed in the meantime."""
    group = repo.lock_group(session, row.group_id)
    caller_link = repo.link_of(session, caller_id)
    target_link = repo.link_of(session, row.target_principal_id)
    if (
        group is None
        or caller_link is None
        or target_link is None
        or caller_link.group_id != group.id
        or target_link.group_id != group.id
    ):
        return None
    return group


def _detach(
    session: Session, *, group: LinkGroup, target: str, now: datetime, settings: IdentitySettings
) -> _Detached:
    """Take ``target`` out of the group (dissolving a group left with one member) and settle who
    holds the factor: the side that did not hold it gets its own copy."""
    members = repo.group_member_ids(session, group.id)
    remaining = [m for m in members if m != target]
    holder = group.factor_principal_id or members[0]
    factor = repo.totp_factor(session, holder)
    codes: dict[str, list[str]] = {}
    copied_to = None
    if factor is not None and factor.confirmed_at is not None:
        copied_to = target if target != holder else remaining[0]
        codes[copied_to] = _copy_factor(
            session, source=factor, to=copied_to, now=now, settings=settings
        )
    repo.leave_group(session, target)
    dissolved = len(remaining) < 2
    if dissolved:
        repo.delete_group(session, group.id)
    else:
        group.factor_principal_id = holder if holder != target else remaining[0]
        repo.spend_group_confirmations(session, group_id=group.id, now=now)
    session.flush()
    return _Detached(members, dissolved, copied_to, codes)
