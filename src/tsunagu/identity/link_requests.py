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

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tsunagu.core.i18n import N_, translate
from tsunagu.core.ids import new_id
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
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Found:
    """An approval found by its token, with its request (both still open and unexpired)."""

    approval: LinkApproval
    request: LinkRequest


def supersede(session: Session, *, requested_by: str, other: str, now: datetime) -> None:
    """Close the open requests between the same two accounts: the newest one counts."""
    session.execute(
        update(LinkRequest)
        .where(
            LinkRequest.requested_by == requested_by,
            LinkRequest.other_principal_id == other,
            LinkRequest.closed_at.is_(None),
        )
        .values(closed_at=now, outcome=SUPERSEDED)
        .execution_options(synchronize_session=False)
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
        token = secrets.token_urlsafe(32)  # 256 bits, shown only in the message
        session.add(
            LinkApproval(
                id=new_id("lap"),
                request_id=request.id,
                principal_id=approver.id,
                token_hash=hash_token(token),
            )
        )
        note = ""
        if holder_email is not None and holder_email != approver.email:
            note = translate(
                REQUEST_FACTOR_NOTE, lang, email=approver.email, holder_email=holder_email
            )
        sender.send(
            session,
            Mail(
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
                    link=f"{link_base}?token={token}\n" if link_base else "",
                    confirmation_code=token,
                ),
            ),
            now,
        )
    session.flush()
    return request


def find(session: Session, token: str, now: datetime) -> Found | None:
    """The open, unexpired request behind ``token`` and the approval it names, else None."""
    row = session.execute(
        select(LinkApproval, LinkRequest)
        .join(LinkRequest, LinkRequest.id == LinkApproval.request_id)
        .where(LinkApproval.token_hash == hash_token(token.strip()))
    ).first()
    if row is None:
        return None
    approval, request = row
    if request.closed_at is not None or now >= request.expires_at:
        return None
    return Found(approval=approval, request=request)


def approve(session: Session, approval: LinkApproval, now: datetime) -> bool:
    """Record the acceptance once (a guarded UPDATE); False when it was already given."""
    result = session.execute(
        update(LinkApproval)
        .where(LinkApproval.id == approval.id, LinkApproval.approved_at.is_(None))
        .values(approved_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(approval)
    return getattr(result, "rowcount", 0) == 1


def missing(session: Session, request_id: str) -> list[str]:
    """Principals whose acceptance the request still waits for."""
    return list(
        session.scalars(
            select(LinkApproval.principal_id)
            .where(LinkApproval.request_id == request_id, LinkApproval.approved_at.is_(None))
            .order_by(LinkApproval.principal_id)
        )
    )


def approved_by(session: Session, request_id: str) -> set[str]:
    return set(
        session.scalars(
            select(LinkApproval.principal_id).where(
                LinkApproval.request_id == request_id, LinkApproval.approved_at.is_not(None)
            )
        )
    )


def close(session: Session, request: LinkRequest, *, now: datetime, outcome: str) -> bool:
    """Close an open request once; False when another transaction closed it first."""
    result = session.execute(
        update(LinkRequest)
        .where(LinkRequest.id == request.id, LinkRequest.closed_at.is_(None))
        .values(closed_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


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
    asked_of = select(LinkApproval.request_id).where(LinkApproval.principal_id == principal_id)
    requests = session.scalars(
        select(LinkRequest)
        .where(
            LinkRequest.closed_at.is_(None),
            LinkRequest.expires_at > now,
            or_(LinkRequest.requested_by == principal_id, LinkRequest.id.in_(asked_of)),
        )
        .order_by(LinkRequest.created_at.desc(), LinkRequest.id.desc())
    ).all()
    found = []
    for request in requests:
        approvals = session.execute(
            select(LinkApproval, Principal)
            .join(Principal, Principal.id == LinkApproval.principal_id)
            .where(LinkApproval.request_id == request.id)
            .order_by(Principal.email)
        ).all()
        emails = {
            p.id: p.email
            for p in session.scalars(
                select(Principal).where(
                    Principal.id.in_([request.requested_by, request.other_principal_id])
                )
            )
        }
        found.append(
            LinkRequestOut(
                request_id=request.id,
                requested_by=emails.get(request.requested_by, ""),
                other=emails.get(request.other_principal_id, ""),
                created_at=request.created_at,
                expires_at=request.expires_at,
                waiting_for=[
                    LinkWaiting(
                        principal_id=p.id,
                        email=p.email,
                        accepted=a.approved_at is not None,
                    )
                    for a, p in approvals
                ],
            )
        )
    return found
