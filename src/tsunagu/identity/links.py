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
is in :mod:`tsunagu.identity.unlinking`, consent in :mod:`tsunagu.identity.link_consent` and
joining in :mod:`tsunagu.identity.joining` (the public names are re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.identity import audit, factors, repo, service
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    AlreadyLinked,
    EmailUnverified,
    InvalidCredentials,
    LinkedElsewhere,
)
from tsunagu.identity.joining import Linked, Refusals, join_and_announce, needs_consent
from tsunagu.identity.link_consent import (
    RequestView,
    accept_link,
    ask_consent,
    decline_link,
    describe_request,
)
from tsunagu.identity.mail import DEFAULT_SENDER, Mail, MailSender
from tsunagu.identity.models import AuthSession, IdentityLink, LinkGroup, Principal
from tsunagu.identity.rules import PRODUCTION, IdentitySettings, require_recent_auth
from tsunagu.identity.schemas import LinkedAccountOut
from tsunagu.identity.unlinking import (
    Unlinked,
    begin_unlink,
    caller_of,
    confirm_unlink,
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
    "RequestView",
    "Unlinked",
    "accept_link",
    "acting_ids",
    "begin_unlink",
    "confirm_unlink",
    "cut_links",
    "decline_link",
    "describe_request",
    "factor_holder",
    "link_with",
    "linked_ids",
    "list_linked",
]


#: ``linked_by`` when the local administrator linked the accounts on the command line
LOCAL_LINKER = "local-owner"


def linked_ids(session: Session, principal_id: str) -> list[str]:
    """Every principal of the caller's link group, the caller included, sorted (just
    ``[principal_id]`` when it is not linked)."""
    return repo.linked_ids(session, principal_id)


def factor_holder(session: Session, principal_id: str) -> str:
    """The principal whose TOTP factor and recovery codes protect ``principal_id``: its group's
    factor holder, else itself."""
    return repo.factor_holder(session, principal_id)


def acting_ids(session: Session, principal_id: str) -> list[str]:
    """The principal and the *active* members of its link group, sorted: a disabled member is
    not reachable through a linked sign-in."""
    ids = repo.linked_ids(session, principal_id)
    if len(ids) == 1:
        return ids
    active = repo.active_ids(session, ids)
    return [p for p in ids if p == principal_id or p in active]


def list_linked(session: Session, *, principal_id: str) -> list[LinkedAccountOut]:
    """The other members of the principal's link group (empty when it is not linked)."""
    link = repo.link_of(session, principal_id)
    if link is None:
        return []
    group = session.get(LinkGroup, link.group_id)
    holder = group.factor_principal_id if group is not None else None
    return [
        LinkedAccountOut(
            principal_id=p.id,
            email=p.email,
            display_name=p.display_name,
            linked_at=row.linked_at,
            holds_factor=p.id == holder,
        )
        for row, p in repo.linked_accounts(session, group_id=link.group_id, besides=principal_id)
    ]


@dataclass(frozen=True)
class _Attempt:
    """One attempt of ``caller`` to link another account."""

    session: Session
    caller: Principal
    now: datetime
    settings: IdentitySettings
    client: Client

    @property
    def refuse(self) -> Refusals:
        """Its refusals are recorded as ``account_linked`` failures."""
        return Refusals(
            self.session, "account_linked", actor=self.caller.id, now=self.now, client=self.client
        )


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
    caller = caller_of(session, auth)
    attempt = _Attempt(session, caller=caller, now=now, settings=settings, client=client)
    other = _other_account(attempt, email=email, password=password)
    if isinstance(other, Linked):
        return other
    caller_link = repo.link_of(session, caller.id)
    refused = _refuse_other(attempt, other=other, caller_link=caller_link, code=code)
    if refused is not None:
        return refused
    return _link_or_ask(
        attempt,
        auth=auth,
        other=other,
        caller_link=caller_link,
        sender=sender,
        lang=lang,
        base_url=base_url,
    )


def _link_or_ask(
    attempt: _Attempt,
    *,
    auth: AuthSession,
    other: Principal,
    caller_link: IdentityLink | None,
    sender: MailSender,
    lang: str,
    base_url: str | None,
) -> Linked:
    """Link the caller's account with ``other`` (both proven) at once, or, when an account
    has no second factor of its own, ask it to agree first."""
    needed = needs_consent(attempt.session, attempt.caller, other)
    if needed:
        return ask_consent(
            attempt.session,
            caller=attempt.caller,
            other=other,
            caller_link=caller_link,
            needed=needed,
            now=attempt.now,
            settings=attempt.settings,
            client=attempt.client,
            sender=sender,
            lang=lang,
            base_url=base_url,
        )
    linked = join_and_announce(
        attempt.session,
        caller=attempt.caller,
        other=other,
        caller_link=caller_link,
        auth=auth,
        now=attempt.now,
        client=attempt.client,
        sender=sender,
        lang=lang,
        base_url=base_url,
    )
    return linked if linked is not None else _lost_race(attempt, other)


def _other_account(attempt: _Attempt, *, email: str, password: str) -> Principal | Linked:
    """The other account, signed in with its password through the sign-in's own throttled check
    (the caller's address must be verified first); else the refusal."""
    if attempt.caller.email_verified_at is None:
        return attempt.refuse(EmailUnverified(), "caller_unverified", None)
    other = service.find_principal(attempt.session, email)
    wrong = service.check_password(
        attempt.session,
        principal=other,
        password=password,
        email=email,
        now=attempt.now,
        settings=attempt.settings,
        client=attempt.client,
    )
    if wrong is not None or other is None:
        return attempt.refuse(
            wrong or InvalidCredentials(), "credentials", other.id if other else None
        )
    return other


def _refuse_other(
    attempt: _Attempt, *, other: Principal, caller_link: IdentityLink | None, code: str | None
) -> Linked | None:
    """Why the other account (whose password was right) cannot be linked with the caller's:
    already linked with it, a wrong second factor, an unverified address, another group. None
    when it can."""
    other_link = repo.link_of(attempt.session, other.id)
    if other.id == attempt.caller.id or (
        caller_link is not None
        and other_link is not None
        and other_link.group_id == caller_link.group_id
    ):
        same = attempt.refuse(AlreadyLinked(), "already_linked", other.id)
        same.group_id = caller_link.group_id if caller_link is not None else None
        same.principal_id = other.id
        return same
    failure = factors.verify_if_enrolled(
        attempt.session,
        principal_id=other.id,
        code=code,
        now=attempt.now,
        settings=attempt.settings,
        client=attempt.client,
    )
    if failure is not None:
        return attempt.refuse(failure, "second_factor", other.id)
    if other.email_verified_at is None:
        return attempt.refuse(EmailUnverified(), "other_unverified", other.id)
    if other_link is not None:
        return attempt.refuse(LinkedElsewhere(), "linked_elsewhere", other.id)
    return None


def _lost_race(attempt: _Attempt, other: Principal) -> Linked:
    """A concurrent request linked one of the two first: already linked, or linked elsewhere."""
    now_linked = other.id in repo.linked_ids(attempt.session, attempt.caller.id)
    error: TsunaguError = AlreadyLinked() if now_linked else LinkedElsewhere()
    return attempt.refuse(error, error.code, other.id)


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
    repo.delete_group(session, group.id)
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
    _notify_cut(
        session, principal_id=principal_id, members=members, now=now, sender=sender, lang=lang
    )
    return members


def _notify_cut(
    session: Session,
    *,
    principal_id: str,
    members: list[str],
    now: datetime,
    sender: MailSender,
    lang: str,
) -> None:
    """Tell every former member that the owner of ``principal_id`` cut the links."""
    principals = repo.principals_by_id(session, members)
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
