"""Links that wait for consent (issue 11; ADR 0014 amendment). Functions never commit.

Linking must never change how an account signs in — nor whose sellers reach it — unless that
account's owner agreed with something an attacker who only knows its password does not have: its
own second factor, presented in the linking request, or its mailbox. So an account that has no
second factor of its own (neither its own TOTP nor its group's) is linked only after its owner
opens a message sent to its verified address and accepts it *signed in as that account*, after
a step-up (AUTH-12, AUTH-13 f).

This module keeps the request and its approvals: opening one (a message with a one-time token to
each account that must agree), finding an approval by its token, recording an acceptance,
closing a request, and listing what waits. :mod:`tsunagu.identity.links` decides when a request
is needed and makes the link when the last approval arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
from tsunagu.identity import one_time_codes, repo
from tsunagu.identity.mail import Mail, MailSender
from tsunagu.identity.models import LinkApproval, LinkRequest, Principal
from tsunagu.identity.schemas import LinkRequestOut, LinkWaiting

REQUEST_SUBJECT = N_("Confirm linking your tsunagu accounts")
REQUEST_BODY = N_(
    "{requester} asked to link your tsunagu account {email} with {others}. Once linked, signing "
    "in to any of them reaches all of them; each keeps its own data, password and roles.\n\n"
    "{factor_note}"
    "Nothing is linked unless you agree. To agree, sign in as {email} and use this confirmation "
    "(valid for {hours} hours, once):\n{link}"
    "Confirmation code: {confirmation_code}\n\n"
    "If you did not ask for this, do nothing (or decline it), and change your password: someone "
    "may know it."
)
REQUEST_FACTOR_NOTE = N_(
    "After linking, signing in to {email} will ask for the code from the authenticator app of "
    "{holder_email}, which protects all the linked accounts.\n\n"
)
DECLINED_SUBJECT = N_("Your request to link tsunagu accounts was declined")
DECLINED_BODY = N_("The owner of {email} declined linking it with {requester}. Nothing was linked.")

#: closed requests say why
LINKED, DECLINED, SUPERSEDED, STALE = "linked", "declined", "superseded", "stale"


def hash_token(token: str) -> str:
    return one_time_codes.hash_secret(token)


@dataclass(frozen=True)
class Found:
    """An approval found by its token, with its request (both still open and unexpired)."""

    approval: LinkApproval
    request: LinkRequest


def supersede(session: Session, *, requested_by: str, other: str, now: datetime) -> None:
    """Close the open requests between the same two accounts: the newest one counts."""
    repo.close_requests_between(
        session, requested_by=requested_by, other=other, now=now, outcome=SUPERSEDED
    )


def open_request(
    session: Session,
    *,
    requester: Principal,
    other: Principal,
    caller_group_id: str | None,
    approvers: list[Principal],
    group_emails: list[str],
    holder_email: str | None,
    now: datetime,
    lifetime: timedelta,
    sender: MailSender,
    link_base: str | None,
    lang: str,
) -> LinkRequest:
    """A new request, and a message with its own one-time token to each approver.

    ``group_emails`` are every address of the group the link would make; ``holder_email`` the
    account whose authenticator would protect it (None: no second factor at all)."""
    supersede(session, requested_by=requester.id, other=other.id, now=now)
    request = LinkRequest(
        id=new_id("lrq"),
        requested_by=requester.id,
        other_principal_id=other.id,
        caller_group_id=caller_group_id,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(request)
    session.flush()
    for approver in approvers:
        token = _new_approval(session, request=request, approver=approver)
        sender.send(
            session,
            _request_mail(
                requester=requester,
                approver=approver,
                group_emails=group_emails,
                holder_email=holder_email,
                lifetime=lifetime,
                link=one_time_codes.link_line(link_base, token),
                token=token,
                lang=lang,
            ),
            now,
        )
    session.flush()
    return request


def _new_approval(session: Session, *, request: LinkRequest, approver: Principal) -> str:
    """The approver's one-time token for the request (stored as its hash), in clear."""
    token = one_time_codes.new_token()  # shown only in the message
    session.add(
        LinkApproval(
            id=new_id("lap"),
            request_id=request.id,
            principal_id=approver.id,
            token_hash=hash_token(token),
        )
    )
    return token


def _request_mail(
    *,
    requester: Principal,
    approver: Principal,
    group_emails: list[str],
    holder_email: str | None,
    lifetime: timedelta,
    link: str,
    token: str,
    lang: str,
) -> Mail:
    note = ""
    if holder_email is not None and holder_email != approver.email:
        note = translate(REQUEST_FACTOR_NOTE, lang, email=approver.email, holder_email=holder_email)
    return Mail(
        to=approver.email,
        kind="link_request",
        subject=translate(REQUEST_SUBJECT, lang),
        body=translate(
            REQUEST_BODY,
            lang,
            requester=requester.email,
            email=approver.email,
            others=", ".join(e for e in group_emails if e != approver.email),
            factor_note=note,
            hours=int(lifetime.total_seconds() // 3600),
            link=link,
            confirmation_code=token,
        ),
    )


def find(session: Session, token: str, now: datetime) -> Found | None:
    """The open, unexpired request behind ``token`` and the approval it names, else None."""
    row = repo.approval_by_token_hash(session, hash_token(token.strip()))
    if row is None:
        return None
    approval, request = row
    if request.closed_at is not None or now >= request.expires_at:
        return None
    return Found(approval=approval, request=request)


def approve(session: Session, approval: LinkApproval, now: datetime) -> bool:
    """Record the acceptance once (a guarded UPDATE); False when it was already given."""
    approved = repo.approve(session, approval_id=approval.id, now=now)
    session.refresh(approval)
    return approved


def missing(session: Session, request_id: str) -> list[str]:
    """Principals whose acceptance the request still waits for."""
    return repo.unapproved_ids(session, request_id)


def approved_by(session: Session, request_id: str) -> set[str]:
    return repo.approved_ids(session, request_id)


def close(session: Session, request: LinkRequest, *, now: datetime, outcome: str) -> bool:
    """Close an open request once; False when another transaction closed it first."""
    return repo.close_request(session, request_id=request.id, now=now, outcome=outcome)


def notify_declined(
    session: Session,
    *,
    request: LinkRequest,
    decliner: Principal,
    now: datetime,
    sender: MailSender,
    lang: str,
) -> None:
    requester = session.get(Principal, request.requested_by)
    if requester is None:
        return
    sender.send(
        session,
        Mail(
            to=requester.email,
            kind="link_declined",
            subject=translate(DECLINED_SUBJECT, lang),
            body=translate(DECLINED_BODY, lang, email=decliner.email, requester=requester.email),
        ),
        now,
    )


def waiting(session: Session, *, principal_id: str, now: datetime) -> list[LinkRequestOut]:
    """Open requests the principal made or must agree to, newest first."""
    return [
        _request_out(session, request)
        for request in repo.open_requests_of(session, principal_id=principal_id, now=now)
    ]


def _request_out(session: Session, request: LinkRequest) -> LinkRequestOut:
    approvals = repo.approvals_of(session, request.id)
    emails = {
        p.id: p.email
        for p in repo.principals_by_id(
            session, [request.requested_by, request.other_principal_id]
        ).values()
    }
    return LinkRequestOut(
        request_id=request.id,
        requested_by=emails.get(request.requested_by, ""),
        other=emails.get(request.other_principal_id, ""),
        created_at=request.created_at,
        expires_at=request.expires_at,
        waiting_for=[
            LinkWaiting(principal_id=p.id, email=p.email, accepted=a.approved_at is not None)
            for a, p in approvals
        ],
    )
