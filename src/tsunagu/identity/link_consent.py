"""Linking by consent (issue 11; ADR 0014 amendment): an account without a second factor of its
own agrees to a link from its mailbox, signed in as itself — or declines it. Never commits; the
entry point commits, then calls ``raise_failure()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.identity import audit, link_requests, repo
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    LinkRequestForAnotherAccount,
    LinkRequestInvalid,
    LinkRequestStale,
    Outcome,
)
from tsunagu.identity.joining import (
    Linked,
    Refusals,
    future_holder,
    group_emails,
    join_and_announce,
    needs_consent,
)
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.models import AuthSession, IdentityLink, LinkRequest, Principal
from tsunagu.identity.rules import PRODUCTION, IdentitySettings, require_recent_auth
from tsunagu.identity.unlinking import caller_of


def ask_consent(
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
    """Open a link request for the accounts in ``needed`` (those without a second factor of
    their own): a message with a one-time code to each, nothing linked yet (``Linked.pending``).
    The messages say whose authenticator would protect the group."""
    holder = future_holder(session, caller, other)
    request = link_requests.open_request(
        session,
        requester=caller,
        other=other,
        caller_group_id=caller_link.group_id if caller_link is not None else None,
        approvers=needed,
        group_emails=group_emails(session, caller, other),
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


def _refusals(session: Session, *, actor: str, now: datetime, client: Client) -> Refusals:
    return Refusals(session, "account_link_accepted", actor=actor, now=now, client=client)


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
    me = caller_of(session, auth)
    refuse = _refusals(session, actor=me.id, now=now, client=client)
    found = link_requests.find(session, token, now)
    if found is None:
        return refuse(LinkRequestInvalid(), "invalid", None)
    request = found.request
    if found.approval.principal_id != me.id:
        return refuse(LinkRequestForAnotherAccount(), "other_account", request.id)
    waiting = _agree(session, found, now=now, client=client)
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


def _agree(
    session: Session, found: link_requests.Found, *, now: datetime, client: Client
) -> list[str]:
    """Record the acceptance of the account ``found`` names; the accounts still to accept."""
    link_requests.approve(session, found.approval, now)
    audit.append(
        session,
        action="account_link_accepted",
        outcome="success",
        now=now,
        actor=found.approval.principal_id,
        target=found.request.id,
        client=client,
    )
    return link_requests.missing(session, found.request.id)


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
    refuse = _refusals(session, actor=auth.principal_id, now=now, client=client)
    caller = session.get(Principal, request.requested_by)
    other = session.get(Principal, request.other_principal_id)
    caller_link = repo.link_of(session, caller.id) if caller is not None else None
    if (
        caller is None
        or other is None
        or not _as_agreed(
            session, request=request, caller=caller, other=other, caller_link=caller_link
        )
    ):
        link_requests.close(session, request, now=now, outcome=link_requests.STALE)
        return refuse(LinkRequestStale(), "stale", request.id)
    if not link_requests.close(session, request, now=now, outcome=link_requests.LINKED):
        return refuse(LinkRequestInvalid(), "closed", request.id)
    linked = join_and_announce(
        session,
        caller=caller,
        other=other,
        caller_link=caller_link,
        auth=auth,
        now=now,
        client=client,
        sender=sender,
        lang=lang,
        base_url=base_url,
        request_id=request.id,
    )
    return linked if linked is not None else refuse(LinkRequestStale(), "stale", request.id)


def _as_agreed(
    session: Session,
    *,
    request: LinkRequest,
    caller: Principal,
    other: Principal,
    caller_link: IdentityLink | None,
) -> bool:
    """Whether the accounts are still as they were when the link was asked for (both active and
    verified, the caller in the same group, the other in none) and every account that must
    agree has agreed."""
    if not all(p.status == "active" and p.email_verified_at for p in (caller, other)):
        return False
    if (caller_link.group_id if caller_link else None) != request.caller_group_id:
        return False
    if repo.link_of(session, other.id) is not None:
        return False
    needed = {p.id for p in needs_consent(session, caller, other)}
    return needed <= link_requests.approved_by(session, request.id)


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
    members = group_emails(session, caller, other)
    holder = future_holder(session, caller, other)
    return RequestView(
        request_id=request.id,
        requester=caller.email,
        account_id=account.id,
        account=account.email,
        others=[e for e in members if e != account.email],
        holder=holder.email if holder is not None else None,
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
