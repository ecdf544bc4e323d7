"""Joining a principal into a link group, shared by linking at once (:mod:`.links`) and linking
by consent (:mod:`.link_consent`): who must agree, how the factor holder is settled, what the
accounts are told (ADR 0014). Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, repo
from tsunagu.identity.audit import Client
from tsunagu.identity.errors import Outcome
from tsunagu.identity.mail import Mail, MailSender
from tsunagu.identity.models import AuthSession, IdentityLink, LinkGroup, Principal
from tsunagu.identity.unlinking import record_refusal

LINKED_SUBJECT = N_("Your tsunagu account was linked")


LINKED_BODY = N_(
    "Your tsunagu account {email} is now linked with {other_email}. Signing in to either of "
    "them reaches both; each keeps its own data, password and roles.\n\n"
    "{factor_note}"
    "{cut_hint}"
)


LINKED_FACTOR_NOTE = N_(
    "Both accounts now use the same two-factor authentication: the authenticator entry and "
    "recovery codes of {holder_email}.\n\n"
)


#: what to do about a link one did not make: it must work for an owner who cannot sign in (the
#: account may now ask for somebody else's authenticator), so it goes through a password reset
CUT_HINT_LINK = N_(
    "If you did not link these accounts: ask for a password reset of {email} at {url}, and on "
    "the reset page choose to cut this account's links. That works even if you cannot sign in; "
    "afterwards the account signs in as it did before it was linked."
)


CUT_HINT = N_(
    'If you did not link these accounts: choose "Forgot your password?" on the sign-in page '
    "for {email}, and on the reset page choose to cut this account's links. That works even if "
    "you cannot sign in; afterwards the account signs in as it did before it was linked."
)


@dataclass
class Linked(Outcome):
    """The result of :func:`link_with` and :func:`accept_link`.

    Linked: the group and the other principal; ``replaced_factor`` when both had 2FA and the
    other's factor was set aside for the group's. Pending: ``request_id`` and the principals whose
    acceptance it still waits for (``waiting_for``)."""

    group_id: str | None = None
    principal_id: str | None = None
    replaced_factor: bool = False
    pending: bool = False
    request_id: str | None = None
    waiting_for: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refusals:
    """Refuses a link attempt of ``actor``'s: records why (as ``action`` in the audit log), then
    answers with the error."""

    session: Session
    action: str
    actor: str
    now: datetime
    client: Client

    def __call__(self, error: TsunaguError, reason: str, target: str | None) -> Linked:
        record_refusal(
            self.session,
            self.action,
            reason=reason,
            now=self.now,
            caller=self.actor,
            target=target,
            client=self.client,
        )
        return Linked(error)


def _has_confirmed_factor(session: Session, principal_id: str) -> bool:
    factor = repo.totp_factor(session, principal_id)
    return factor is not None and factor.confirmed_at is not None


@dataclass(frozen=True)
class _Joined:
    group_id: str
    holder: str
    replaced: bool
    sessions_ended: int


def _join(
    session: Session,
    *,
    caller: Principal,
    other: Principal,
    caller_link: IdentityLink | None,
    now: datetime,
    keep_session: str | None,
    linked_by: str,
) -> _Joined:
    """Put ``other`` into the caller's group (made now when there is none) and settle the factor
    holder. Only called once every account whose sign-in changes has agreed (module doc)."""
    if caller_link is None:
        group = LinkGroup(id=new_id("lgr"), factor_principal_id=caller.id, created_at=now)
        session.add(group)
        session.flush()
        session.add(
            IdentityLink(
                principal_id=caller.id, group_id=group.id, linked_at=now, linked_by=linked_by
            )
        )
        before = [caller.id]
    else:
        locked = repo.lock_group(session, caller_link.group_id)
        assert locked is not None
        group = locked
        before = repo.group_member_ids(session, group.id)
    current = group.factor_principal_id or caller.id
    current_on = _has_confirmed_factor(session, current)
    other_on = _has_confirmed_factor(session, other.id)
    holder = other.id if other_on and not current_on else current
    # members whose sign-in did not need the factor that now protects the group lose their
    # other sessions: those were opened with less than the group now requires
    weaker = [] if not (current_on or other_on) else ([other.id] if holder == current else before)
    # the other's own confirmed factor is set aside, not deleted: cutting an unwanted link
    # later gives it back (cut_links); an unfinished enrolment is only clutter
    if holder != other.id and not other_on:
        repo.delete_totp_factor(session, other.id)
        repo.delete_recovery_codes(session, other.id)
    replaced = other_on and holder != other.id
    group.factor_principal_id = holder
    session.add(
        IdentityLink(principal_id=other.id, group_id=group.id, linked_at=now, linked_by=linked_by)
    )
    session.flush()
    ended = sum(
        repo.revoke_sessions_of(
            session, principal_id=member, now=now, reason="linked", keep=keep_session
        )
        for member in weaker
    )
    return _Joined(group.id, holder, replaced, ended)


def _cut_hint(email: str, base_url: str | None, lang: str) -> str:
    if base_url:
        return translate(CUT_HINT_LINK, lang, email=email, url=f"{base_url}/forgot-password")
    return translate(CUT_HINT, lang, email=email)


def _notify_linked(
    session: Session,
    *,
    caller: Principal,
    other: Principal,
    holder: str,
    now: datetime,
    sender: MailSender,
    lang: str,
    base_url: str | None,
) -> None:
    holder_row = session.get(Principal, holder)
    note = ""
    if holder_row is not None and _has_confirmed_factor(session, holder):
        note = translate(LINKED_FACTOR_NOTE, lang, holder_email=holder_row.email)
    for me, them in ((caller, other), (other, caller)):
        sender.send(
            session,
            Mail(
                to=me.email,
                kind="account_linked",
                subject=translate(LINKED_SUBJECT, lang),
                body=translate(
                    LINKED_BODY,
                    lang,
                    email=me.email,
                    other_email=them.email,
                    factor_note=note,
                    cut_hint=_cut_hint(me.email, base_url, lang),
                ),
            ),
            now,
        )


def join_and_announce(
    session: Session,
    *,
    caller: Principal,
    other: Principal,
    caller_link: IdentityLink | None,
    auth: AuthSession,
    now: datetime,
    client: Client,
    sender: MailSender,
    lang: str,
    base_url: str | None,
    request_id: str | None = None,
) -> Linked | None:
    """:func:`_join` in a savepoint, keeping the caller's own session, then the audit entry and
    the message to both accounts. None when a concurrent request linked one of them first (the
    primary key of ``identity_links``): then nothing changed and nobody is told."""
    try:
        with session.begin_nested():
            joined = _join(
                session,
                caller=caller,
                other=other,
                caller_link=caller_link,
                now=now,
                keep_session=auth.id,
                linked_by=caller.id,
            )
    except IntegrityError:
        return None
    details: dict[str, object] = {
        "group": joined.group_id,
        "factor_holder": joined.holder,
        "replaced_factor": joined.replaced,
        "sessions_ended": joined.sessions_ended,
    }
    if request_id is not None:
        details["request"] = request_id
    audit.append(
        session,
        action="account_linked",
        outcome="success",
        now=now,
        actor=caller.id,
        target=other.id,
        client=client,
        details=details,
    )
    _notify_linked(
        session,
        caller=caller,
        other=other,
        holder=joined.holder,
        now=now,
        sender=sender,
        lang=lang,
        base_url=base_url,
    )
    return Linked(group_id=joined.group_id, principal_id=other.id, replaced_factor=joined.replaced)


def group_emails(session: Session, caller: Principal, other: Principal) -> list[str]:
    """The addresses of the group ``other`` would join with the caller's, sorted."""
    found = repo.emails_of(session, repo.linked_ids(session, caller.id))
    return sorted({*found, other.email})


def future_holder(session: Session, caller: Principal, other: Principal) -> Principal | None:
    """Whose authenticator would protect the group if ``other`` joined the caller's now: the
    caller's side's holder when it has a confirmed factor, else the other when it has one, else
    nobody (the rule of :func:`_join`)."""
    if repo.confirmed_factor(session, caller.id) is not None:
        return session.get(Principal, repo.factor_holder(session, caller.id))
    if repo.confirmed_factor(session, other.id) is not None:
        return other
    return None


def needs_consent(session: Session, caller: Principal, other: Principal) -> list[Principal]:
    """The accounts that must accept by e-mail: every active member of the caller's side when no
    second factor protects it, and the other account when it has none of its own."""
    needed: list[Principal] = []
    if repo.confirmed_factor(session, caller.id) is None:
        for member_id in repo.linked_ids(session, caller.id):
            member = session.get(Principal, member_id)
            if member is not None and member.status == "active":
                needed.append(member)
    if repo.confirmed_factor(session, other.id) is None:
        needed.append(other)
    return needed
