"""Linked principals: "linked, never merged" (ADR 0014). Functions take ``(session, *, ...)`` and
never commit.

A *link group* joins principals so that one sign-in reaches all of them; every principal keeps
its own e-mail, password, sessions and whatever the slices that grant access attach to it. One
member is the group's *factor holder*: its TOTP factor and recovery codes protect every member
(:mod:`tsunagu.identity.factors` looks them up through :func:`factor_holder`), so the group is
as strong as its strongest account and a code is spent once for the whole group.

**Consent (AUTH-13 f).** Linking changes how an account signs in (the holder's authenticator
protects it from then on) and who reaches its sellers. It may happen only with something an
attacker who merely knows an account's password does not have:

* :func:`link_with` needs the caller's full session, re-authenticated within 5 minutes (AUTH-12),
  and a sign-in to the other principal inside the same request: its password and, when it has
  2FA, a TOTP or recovery code, through the same throttled checks as ``sign_in``. Both addresses
  must be verified (AUTH-13 b); an e-mail match alone never links anything.
* When every account of the group-to-be already has a second factor — the caller's group its
  factor, the other its own, each proven in this flow — the link is made at once; the other's
  own factor is *set aside* (kept, unused while linked).
* Otherwise the link waits (:mod:`tsunagu.identity.link_requests`): every account without a
  second factor gets a message at its verified address and accepts it signed in as itself
  (:func:`accept_link`), or declines it (:func:`decline_link`). The link is made when the last
  one accepts, if nothing changed meanwhile.
* :func:`cut_links` is the owner's way out of a link they did not want, taken from a password
  reset (the mailbox proves the owner; signing in may be impossible when someone else's
  authenticator protects the account). It dissolves the group and every member signs in as it did
  before linking: with its own, set-aside factor, or with none.

Like the other attempt functions, these return an outcome: the entry point commits (the
throttles and the audit log must remember a failure), then calls ``raise_failure()``. Unlinking
is in :mod:`tsunagu.identity.unlinking` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, factors, link_requests, repo, service
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    AlreadyLinked,
    EmailUnverified,
    InvalidCredentials,
    InvalidEmail,
    LinkedElsewhere,
    LinkRequestForAnotherAccount,
    LinkRequestInvalid,
    LinkRequestStale,
    Outcome,
)
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import (
    AuthSession,
    IdentityLink,
    LinkConfirmation,
    LinkGroup,
    LinkRequest,
    Principal,
)
from tsunagu.identity.rules import (
    PRODUCTION,
    IdentitySettings,
    normalise_email,
    require_recent_auth,
)
from tsunagu.identity.schemas import LinkedAccountOut
from tsunagu.identity.unlinking import (
    Unlinked,
    _caller,
    _refused,
    begin_unlink,
    confirm_unlink,
)

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
CUT_SUBJECT = N_("Linked tsunagu accounts were separated")
CUT_BODY = N_(
    "The owner of {account} reset its password and cut its links at {time} (UTC). Your "
    "account {email} is no longer linked with {others}, and every session of these accounts was "
    "signed out.\n\n"
    "Each account now signs in as it did before it was linked: with its own two-step "
    "verification if it had one, otherwise with its password only; turn two-step verification on "
    "if so.\n\n"
    "If this was not you, reset your password at once and contact your administrator."
)

__all__ = [
    "Linked",
    "Unlinked",
    "accept_link",
    "begin_unlink",
    "confirm_unlink",
    "cut_links",
    "decline_link",
    "factor_holder",
    "link_with",
    "linked_ids",
    "list_linked",
]

#: ``linked_by`` when the local administrator linked the accounts on the command line
LOCAL_LINKER = "local-owner"


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


def linked_ids(session: Session, principal_id: str) -> list[str]:
    """Every principal of the caller's link group, the caller included, sorted (just
    ``[principal_id]`` when it is not linked)."""
    return repo.linked_ids(session, principal_id)


def factor_holder(session: Session, principal_id: str) -> str:
    """The principal whose TOTP factor and recovery codes protect ``principal_id``: its group's
    factor holder, else itself."""
    return repo.factor_holder(session, principal_id)


def list_linked(session: Session, *, principal_id: str) -> list[LinkedAccountOut]:
    """The other members of the principal's link group (empty when it is not linked)."""
    link = repo.link_of(session, principal_id)
    if link is None:
        return []
    group = session.get(LinkGroup, link.group_id)
    holder = group.factor_principal_id if group is not None else None
    rows = session.execute(
        select(IdentityLink, Principal)
        .join(Principal, Principal.id == IdentityLink.principal_id)
        .where(IdentityLink.group_id == link.group_id, IdentityLink.principal_id != principal_id)
        .order_by(Principal.email)
    )
    return [
        LinkedAccountOut(
            principal_id=p.id,
            email=p.email,
            display_name=p.display_name,
            linked_at=row.linked_at,
            holds_factor=p.id == holder,
        )
        for row, p in rows
    ]


# -- joining ----------------------------------------------------------------------------------


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


def _linked(
    session: Session,
    *,
    caller: Principal,
    other: Principal,
    joined: _Joined,
    now: datetime,
    client: Client,
    sender: MailSender,
    lang: str,
    base_url: str | None,
    request_id: str | None = None,
) -> Linked:
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


def _needs_consent(session: Session, caller: Principal, other: Principal) -> list[Principal]:
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


# -- linking ----------------------------------------------------------------------------------


def link_with(
    session: Session,
    *,
    auth: AuthSession,
    email: str,
    password: str,
    code: str | None,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
    base_url: str | None = None,
) -> Linked:
    """Link the caller's principal with the one that signs in with ``email``/``password`` (and
    ``code`` when it has 2FA), inside this one request — at once when both sides have a second
    factor, else as a request that waits for the accounts without one (``Linked.pending``).

    ``base_url`` is the installation's public URL (links in the messages; never the request's).

    Refusals: ``reauth_required`` (raised: no step-up within 5 minutes), ``invalid_credentials``
    / ``too_many_attempts`` / ``sign_in_locked`` (the sign-in's own answers, so nothing about
    the other account is revealed), ``invalid_code``, ``email_unverified``, ``already_linked``
    (the same principal or the same group: no second row) and ``linked_elsewhere`` (the other
    principal is in another group).
    """
    require_recent_auth(auth, now, settings.recent_auth)
    caller = _caller(session, auth)

    def refuse(error: TsunaguError, reason: str, target: str | None) -> Linked:
        _refused(
            session,
            "account_linked",
            reason=reason,
            now=now,
            caller=caller.id,
            target=target,
            client=client,
        )
        return Linked(error)

    if caller.email_verified_at is None:
        return refuse(EmailUnverified(), "caller_unverified", None)
    try:
        other = repo.principal_by_email(session, normalise_email(email))
    except InvalidEmail:
        other = None
    wrong = service.check_password(
        session,
        principal=other,
        password=password,
        email=email,
        now=now,
        settings=settings,
        client=client,
    )
    if wrong is not None or other is None:
        return refuse(wrong or InvalidCredentials(), "credentials", other.id if other else None)
    caller_link = repo.link_of(session, caller.id)
    other_link = repo.link_of(session, other.id)
    if other.id == caller.id or (
        caller_link is not None
        and other_link is not None
        and other_link.group_id == caller_link.group_id
    ):
        same = refuse(AlreadyLinked(), "already_linked", other.id)
        same.group_id = caller_link.group_id if caller_link is not None else None
        same.principal_id = other.id
        return same
    if repo.confirmed_factor(session, other.id) is not None:
        second = factors.verify_second_factor(
            session,
            principal_id=other.id,
            code=code or "",
            now=now,
            settings=settings,
            client=client,
        )
        if not second.ok:
            assert second.failure is not None
            return refuse(second.failure, "second_factor", other.id)
    if other.email_verified_at is None:
        return refuse(EmailUnverified(), "other_unverified", other.id)
    if other_link is not None:
        return refuse(LinkedElsewhere(), "linked_elsewhere", other.id)
    needed = _needs_consent(session, caller, other)
    if needed:
        return _ask_consent(
            session,
            caller=caller,
            other=other,
            caller_link=caller_link,
            needed=needed,
            now=now,
            settings=settings,
            client=client,
            sender=sender,
            lang=lang,
            base_url=base_url,
        )
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
        # a concurrent request linked one of them first (the primary key of identity_links)
        now_linked = other.id in repo.linked_ids(session, caller.id)
        error: TsunaguError = AlreadyLinked() if now_linked else LinkedElsewhere()
        return refuse(error, error.code, other.id)
    return _linked(
        session,
        caller=caller,
        other=other,
        joined=joined,
        now=now,
        client=client,
        sender=sender,
        lang=lang,
        base_url=base_url,
    )


def _ask_consent(
    session: Session,
    *,
    caller: Principal,
    other: Principal,
    caller_link: IdentityLink | None,
    needed: list[Principal],
    now: datetime,
    settings: IdentitySettings,
    client: Client,
    sender: MailSender,
    lang: str,
    base_url: str | None,
) -> Linked:
    group = repo.linked_ids(session, caller.id)
    emails = [p.email for p in session.scalars(select(Principal).where(Principal.id.in_(group)))]
    if repo.confirmed_factor(session, caller.id) is not None:
        holder = session.get(Principal, repo.factor_holder(session, caller.id))
    elif repo.confirmed_factor(session, other.id) is not None:
        holder = other
    else:
        holder = None
    request = link_requests.open_request(
        session,
        requester=caller,
        other=other,
        caller_group_id=caller_link.group_id if caller_link is not None else None,
        approvers=needed,
        group_emails=sorted({*emails, other.email}),
        holder_email=holder.email if holder is not None else None,
        now=now,
        lifetime=settings.link_request_lifetime,
        sender=sender,
        link_base=f"{base_url}/link-request" if base_url else None,
        lang=lang,
    )
    audit.append(
        session,
        action="account_link_requested",
        outcome="success",
        now=now,
        actor=caller.id,
        target=other.id,
        client=client,
        details={"request": request.id, "waiting_for": [p.id for p in needed]},
    )
    return Linked(
        pending=True,
        principal_id=other.id,
        request_id=request.id,
        waiting_for=[p.id for p in needed],
    )


# -- consent ----------------------------------------------------------------------------------


def _refusal(
    session: Session,
    error: TsunaguError,
    *,
    reason: str,
    now: datetime,
    actor: str,
    target: str | None,
    client: Client,
) -> Linked:
    _refused(
        session,
        "account_link_accepted",
        reason=reason,
        now=now,
        caller=actor,
        target=target,
        client=client,
    )
    return Linked(error)


def accept_link(
    session: Session,
    *,
    auth: AuthSession,
    token: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
    base_url: str | None = None,
) -> Linked:
    """Accept a waiting link with the token from the message, signed in as the account it was
    sent to and stepped up within 5 minutes (AUTH-12). The last acceptance makes the link — if
    the accounts are as they were when it was asked for (``link_request_stale`` otherwise).

    Refusals: ``reauth_required`` (raised), ``link_request_invalid`` (unknown, used, closed or
    expired), ``link_request_other_account`` (sent to another account: nothing is recorded)."""
    require_recent_auth(auth, now, settings.recent_auth)
    me = _caller(session, auth)
    found = link_requests.find(session, token, now)
    if found is None:
        return _refusal(
            session,
            LinkRequestInvalid(),
            reason="invalid",
            now=now,
            actor=me.id,
            target=None,
            client=client,
        )
    request = found.request
    if found.approval.principal_id != me.id:
        return _refusal(
            session,
            LinkRequestForAnotherAccount(),
            reason="other_account",
            now=now,
            actor=me.id,
            target=request.id,
            client=client,
        )
    link_requests.approve(session, found.approval, now)
    audit.append(
        session,
        action="account_link_accepted",
        outcome="success",
        now=now,
        actor=me.id,
        target=request.id,
        client=client,
    )
    waiting = link_requests.missing(session, request.id)
    if waiting:
        return Linked(
            pending=True,
            principal_id=request.other_principal_id,
            request_id=request.id,
            waiting_for=waiting,
        )
    return _complete(
        session,
        request=request,
        auth=auth,
        now=now,
        client=client,
        sender=sender,
        lang=lang,
        base_url=base_url,
    )


def _complete(
    session: Session,
    *,
    request: LinkRequest,
    auth: AuthSession,
    now: datetime,
    client: Client,
    sender: MailSender,
    lang: str,
    base_url: str | None,
) -> Linked:
    """Make the link of a request every needed account accepted, after checking that the
    situation they agreed to still holds."""

    def refuse(error: TsunaguError, reason: str) -> Linked:
        return _refusal(
            session,
            error,
            reason=reason,
            now=now,
            actor=auth.principal_id,
            target=request.id,
            client=client,
        )

    caller = session.get(Principal, request.requested_by)
    other = session.get(Principal, request.other_principal_id)
    caller_link = repo.link_of(session, caller.id) if caller is not None else None
    usable = (
        caller is not None
        and other is not None
        and all(p.status == "active" and p.email_verified_at for p in (caller, other))
        and (caller_link.group_id if caller_link else None) == request.caller_group_id
        and repo.link_of(session, other.id) is None
    )
    if usable:
        assert caller is not None
        assert other is not None
        needed = {p.id for p in _needs_consent(session, caller, other)}
        usable = needed <= link_requests.approved_by(session, request.id)
    if not usable or caller is None or other is None:
        link_requests.close(session, request, now=now, outcome=link_requests.STALE)
        return refuse(LinkRequestStale(), "stale")
    if not link_requests.close(session, request, now=now, outcome=link_requests.LINKED):
        return refuse(LinkRequestInvalid(), "closed")
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
        return refuse(LinkRequestStale(), "stale")
    return _linked(
        session,
        caller=caller,
        other=other,
        joined=joined,
        now=now,
        client=client,
        sender=sender,
        lang=lang,
        base_url=base_url,
        request_id=request.id,
    )


@dataclass(frozen=True)
class RequestView:
    """What the page behind a confirmation link shows: who asked to link which accounts, for
    which account this confirmation is, and whose authenticator would protect them."""

    request_id: str
    requester: str
    account_id: str
    account: str
    others: list[str]
    holder: str | None
    expires_at: datetime
    accepted: bool


def describe_request(session: Session, *, token: str, now: datetime) -> RequestView | None:
    """The open request behind a confirmation code, for its page; None when the code is not
    (or no longer) good."""
    found = link_requests.find(session, token, now)
    if found is None:
        return None
    request = found.request
    caller = session.get(Principal, request.requested_by)
    other = session.get(Principal, request.other_principal_id)
    account = session.get(Principal, found.approval.principal_id)
    if caller is None or other is None or account is None:
        return None
    group = repo.linked_ids(session, caller.id)
    emails = {
        p.id: p.email for p in session.scalars(select(Principal).where(Principal.id.in_(group)))
    }
    members = sorted({*emails.values(), other.email})
    if repo.confirmed_factor(session, caller.id) is not None:
        holder = emails.get(repo.factor_holder(session, caller.id))
    elif repo.confirmed_factor(session, other.id) is not None:
        holder = other.email
    else:
        holder = None
    return RequestView(
        request_id=request.id,
        requester=caller.email,
        account_id=account.id,
        account=account.email,
        others=[e for e in members if e != account.email],
        holder=holder,
        expires_at=request.expires_at,
        accepted=found.approval.approved_at is not None,
    )


def decline_link(
    session: Session,
    *,
    token: str,
    now: datetime,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> Outcome:
    """Decline a waiting link with the token from the message. Needs no sign-in: the token
    proves the mailbox, and declining only ever leaves things as they are."""
    found = link_requests.find(session, token, now)
    if found is None or not link_requests.close(
        session, found.request, now=now, outcome=link_requests.DECLINED
    ):
        audit.append(
            session,
            action="account_link_declined",
            outcome="failure",
            now=now,
            actor="anonymous",
            client=client,
            details={"reason": "invalid"},
        )
        return Outcome(LinkRequestInvalid())
    decliner = session.get(Principal, found.approval.principal_id)
    assert decliner is not None
    audit.append(
        session,
        action="account_link_declined",
        outcome="success",
        now=now,
        actor=decliner.id,
        target=found.request.id,
        client=client,
    )
    link_requests.notify_declined(
        session, request=found.request, decliner=decliner, now=now, sender=sender, lang=lang
    )
    return Outcome()


# -- cutting an unwanted link -----------------------------------------------------------------


def cut_links(
    session: Session,
    *,
    principal_id: str,
    now: datetime,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> list[str]:
    """Dissolve the principal's link group; the former members (empty when it was not linked).

    Called by a password reset whose owner asked for it: the reset proved the mailbox, which is
    what an owner still has when somebody else's authenticator now protects the account. Every
    member signs in as before the link: the holder keeps its factor, the others get their own
    set-aside factor back (or have none), so no member keeps somebody else's authenticator and
    none loses one of its own. Every session of every member ends; API tokens that reached
    across the link are the access slice's (``access.service.complete_reset``)."""
    link = repo.link_of(session, principal_id)
    if link is None:
        return []
    group = repo.lock_group(session, link.group_id)
    assert group is not None
    members = repo.group_member_ids(session, group.id)
    session.execute(delete(IdentityLink).where(IdentityLink.group_id == group.id))
    session.execute(delete(LinkConfirmation).where(LinkConfirmation.group_id == group.id))
    session.execute(delete(LinkGroup).where(LinkGroup.id == group.id))
    session.flush()
    ended = sum(
        repo.revoke_sessions_of(session, principal_id=member, now=now, reason="links_cut")
        for member in members
    )
    audit.append(
        session,
        action="account_links_cut",
        outcome="success",
        now=now,
        actor=principal_id,
        target=group.id,
        client=client,
        details={"members": members, "sessions_ended": ended},
    )
    principals = {
        p.id: p for p in session.scalars(select(Principal).where(Principal.id.in_(members)))
    }
    account = principals[principal_id].email
    for member in members:
        me = principals[member]
        others = [principals[m].email for m in members if m != member]
        sender.send(
            session,
            Mail(
                to=me.email,
                kind="account_links_cut",
                subject=translate(CUT_SUBJECT, lang),
                body=translate(
                    CUT_BODY,
                    lang,
                    account=account,
                    time=now.strftime("%Y-%m-%d %H:%M"),
                    email=me.email,
                    others=", ".join(others),
                ),
            ),
            now,
        )
    return members
