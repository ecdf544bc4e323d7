"""Memberships, operators and seller-scoped API tokens. Functions take ``(session, *, ...)`` and
never commit; every change is written to the audit log (PRIV-05) as
``privilege_permissions_changed``.

"Never leave a seller without an owner" is checked with the seller's owner rows locked
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so two
owners removing each other at once cannot both succeed.

Linked principals (ADR 0014) act with the union of their group's roles: :func:`roles_of` takes,
per seller, the strongest role any active member of the group has. Unlinking goes through
:func:`unlink`, which also revokes the API tokens that only the link made possible (AUTH-13 d).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from tsunagu.access import repo
from tsunagu.access.actor import Actor
from tsunagu.access.errors import (
    InvalidRole,
    LastOwner,
    MembershipNotFound,
    NoSellers,
    ScopeExceedsRole,
)
from tsunagu.access.models import Membership, PlatformOperator
from tsunagu.access.rules import OPERATOR, ROLES, PrincipalRoles, can
from tsunagu.access.schemas import MemberOut, MeOut, SellerRole, TwoFactorOut
from tsunagu.identity import audit, factors, links, reset, tokens
from tsunagu.identity import repo as identity_repo
from tsunagu.identity import service as identity
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import (
    Outcome,
    PrincipalNotFound,
    SessionInvalid,
    TokenScopeDenied,
)
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.models import AuthSession, Principal
from tsunagu.identity.rules import PRODUCTION, IdentitySettings, token_allows
from tsunagu.identity.schemas import PrincipalOut
from tsunagu.sellers.service import get_seller, list_sellers

ACTION = "privilege_permissions_changed"


def _principal(session: Session, principal_id: str) -> Principal:
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise PrincipalNotFound()
    return principal


#: the order in which roles beat each other when linked principals hold different ones
_STRENGTH = {role: len(ROLES) - i for i, role in enumerate(ROLES)}  # owner > manager > viewer


def own_roles(session: Session, principal_id: str) -> PrincipalRoles:
    """The principal's own grants, without its link group's."""
    return _roles(session, [principal_id])


def roles_of(session: Session, principal_id: str) -> PrincipalRoles:
    """What the principal may do: its own grants united with those of the principals linked with
    it (per seller the strongest role; operator if any of them is one). One statement: the link
    group's active members (``links.acting_ids``) are found by the same query as their grants."""
    # a disabled member's roles are not reachable through a linked sign-in either
    return _united(repo.grants_of(session, principal_id))


def _roles(session: Session, principal_ids: Sequence[str]) -> PrincipalRoles:
    grants: list[tuple[str | None, str]] = list(repo.roles_held(session, principal_ids))
    if repo.any_operator(session, principal_ids):
        grants.append((None, repo.OPERATOR_GRANT))
    return _united(grants)


def _united(grants: Sequence[tuple[str | None, str]]) -> PrincipalRoles:
    """Per seller the strongest role granted; operator if any grant says so."""
    memberships: dict[str, str] = {}
    operator = False
    for seller_id, role in grants:
        if seller_id is None:
            operator = operator or role == repo.OPERATOR_GRANT
            continue
        held = memberships.get(seller_id)
        if held is None or _STRENGTH.get(role, 0) > _STRENGTH.get(held, 0):
            memberships[seller_id] = role
    return PrincipalRoles(memberships=memberships, operator=operator)


@dataclass(frozen=True)
class SessionCaller:
    """The caller behind a session token, its session and when that was last seen (the reader
    decides whether to move the idle clock)."""

    actor: Actor
    session_id: str
    last_seen_at: datetime


def session_caller(
    connection: Connection,
    *,
    token: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
) -> SessionCaller:
    """The signed-in caller of a request: what ``identity.service.resolve`` (without touching
    the idle clock) and :func:`roles_of` answer together, in one statement.

    The same refusals in the same order: an unknown or revoked session, or a principal that is
    not active, is :class:`SessionInvalid`, as is a session past its idle or absolute limit
    (AUTH-15); a live session still waiting for its second factor is
    :class:`SecondFactorRequired`. Reads only, so it runs on a read-only connection."""
    found = repo.session_with_grants(connection, identity.hash_token(token))
    if found is None:
        raise SessionInvalid()
    identity.check_live(
        revoked_at=found.revoked_at,
        principal_status=found.principal_status,
        stage=found.stage,
        started_at=found.started_at,
        last_seen_at=found.last_seen_at,
        now=now,
        settings=settings,
    )
    actor = Actor(
        name=found.principal_id,
        principal_id=found.principal_id,
        roles=_united(found.grants),
        via="session",
        session_id=found.session_id,
    )
    return SessionCaller(actor, found.session_id, found.last_seen_at)


def _keep_an_owner(session: Session, seller_id: str, losing: str) -> None:
    if [p for p in repo.owner_ids_locked(session, seller_id) if p != losing] == []:
        raise LastOwner(seller_id)


def grant_role(
    session: Session,
    *,
    principal_id: str,
    seller_id: str,
    role: str,
    now: datetime,
    actor: str,
    client: Client = NO_CLIENT,
) -> MemberOut:
    """Give ``principal_id`` ``role`` in ``seller_id`` (replacing any other role there).

    Demoting the last owner raises ``last_owner``. Granting the role it already has changes
    nothing and writes no audit entry.
    """
    if role not in ROLES:
        raise InvalidRole(role)
    principal = _principal(session, principal_id)
    get_seller(session, seller_id)
    row = session.get(Membership, (principal_id, seller_id))
    previous = row.role if row is not None else None
    if row is not None and previous == role:
        return _member(row, principal)
    if previous == "owner":
        _keep_an_owner(session, seller_id, principal_id)
    if row is None:
        row = Membership(principal_id=principal_id, seller_id=seller_id)
        session.add(row)
    row.role = role
    row.granted_at = now
    row.granted_by = actor
    session.flush()
    audit.append(
        session,
        action=ACTION,
        outcome="success",
        now=now,
        actor=actor,
        target=principal_id,
        client=client,
        details={"seller": seller_id, "role": role, "previous": previous, "change": "grant"},
    )
    return _member(row, principal)


def revoke_role(
    session: Session,
    *,
    principal_id: str,
    seller_id: str,
    now: datetime,
    actor: str,
    client: Client = NO_CLIENT,
) -> None:
    """Remove ``principal_id`` from ``seller_id``; the last owner cannot be removed."""
    _principal(session, principal_id)
    get_seller(session, seller_id)
    row = session.get(Membership, (principal_id, seller_id))
    if row is None:
        raise MembershipNotFound(seller_id)
    previous = row.role
    if previous == "owner":
        _keep_an_owner(session, seller_id, principal_id)
    session.delete(row)
    session.flush()
    audit.append(
        session,
        action=ACTION,
        outcome="success",
        now=now,
        actor=actor,
        target=principal_id,
        client=client,
        details={"seller": seller_id, "role": None, "previous": previous, "change": "revoke"},
    )


def set_operator(
    session: Session,
    *,
    principal_id: str,
    operator: bool,
    now: datetime,
    actor: str,
    client: Client = NO_CLIENT,
) -> bool:
    """Grant or withdraw the platform-wide operator role; True when something changed."""
    _principal(session, principal_id)
    row = session.get(PlatformOperator, principal_id)
    if (row is not None) == operator:
        return False
    if operator:
        session.add(PlatformOperator(principal_id=principal_id, granted_at=now, granted_by=actor))
    else:
        session.delete(row)
    session.flush()
    audit.append(
        session,
        action=ACTION,
        outcome="success",
        now=now,
        actor=actor,
        target=principal_id,
        client=client,
        details={"platform_role": OPERATOR, "change": "grant" if operator else "revoke"},
    )
    return True


def _member(row: Membership, principal: Principal) -> MemberOut:
    return MemberOut(
        principal_id=principal.id,
        email=principal.email,
        display_name=principal.display_name,
        seller_id=row.seller_id,
        role=row.role,
        granted_at=row.granted_at,
        granted_by=row.granted_by,
    )


def list_members(
    session: Session, *, seller_id: str | None = None, principal_id: str | None = None
) -> list[MemberOut]:
    """Memberships of one seller, or of one principal, or all; ordered by seller, then role."""
    if seller_id is not None:
        get_seller(session, seller_id)
    rows = repo.memberships(session, seller_id=seller_id, principal_id=principal_id)
    rank = {role: i for i, role in enumerate(ROLES)}
    members = [_member(m, p) for m, p in rows]
    return sorted(members, key=lambda m: (m.seller_id, rank.get(m.role, 9), m.email))


def operator_ids(session: Session) -> set[str]:
    return repo.operator_ids(session)


def who_am_i(session: Session, principal_id: str, session_id: str) -> MeOut:
    """Who is signed in: the principal, the sellers the session reaches (linked accounts'
    included) with the role there, and the 2FA state. ``GET /v1/auth/me`` and the account page
    show it."""
    principal = identity.get_principal(session, principal_id)
    if principal is None:
        raise SessionInvalid()
    row = identity.session_row(session, session_id)
    roles = roles_of(session, principal_id)
    reachable = list_sellers(
        session, limit=10_000, only=None if roles.operator else sorted(roles.memberships)
    )
    status = factors.factor_status(session, principal_id)
    return MeOut(
        principal=PrincipalOut.model_validate(principal),
        session_id=session_id,
        last_authenticated_at=row.last_authenticated_at,
        operator=roles.operator,
        sellers=[
            SellerRole(seller_id=s.id, name=s.name, role=roles.memberships.get(s.id, "operator"))
            for s in reachable
        ],
        two_factor=TwoFactorOut(
            enabled=status.enrolled, recovery_codes_left=status.recovery_codes_left
        ),
    )


# -- seller tokens ----------------------------------------------------------------------------


def create_seller_token(
    session: Session,
    *,
    principal_id: str,
    name: str,
    scope: str,
    seller_ids: Sequence[str],
    now: datetime,
    expires_at: datetime | None,
    actor: str,
    client: Client = NO_CLIENT,
    max_lifetime: timedelta = PRODUCTION.token_max_lifetime,
) -> tokens.NewToken:
    """A token over ``seller_ids``; refused (``scope_exceeds_role``) for a seller where the
    principal's own role does not allow ``scope``. It lives at most ``max_lifetime``
    (AUTH-18); entry points with a signed-in caller ask for a step-up before a write scope."""
    _principal(session, principal_id)
    tokens.check_scope(scope)
    if not seller_ids:
        raise NoSellers()
    roles = roles_of(session, principal_id)
    for seller_id in seller_ids:
        get_seller(session, seller_id)
        if not can(roles, seller_id, scope):
            raise ScopeExceedsRole(seller_id, scope)
    return tokens.create_token(
        session,
        principal_id=principal_id,
        name=name,
        scope=scope,
        resources=seller_ids,
        now=now,
        expires_at=expires_at,
        actor=actor,
        client=client,
        max_lifetime=max_lifetime,
    )


def authorize_token(
    session: Session,
    *,
    auth: tokens.TokenAuth,
    seller_id: str,
    action: str,
    now: datetime,
    client: Client = NO_CLIENT,
) -> Outcome:
    """Whether an authenticated token may do ``action`` on ``seller_id``: within the token's scope
    *and* still within its principal's current role (a revoked role disables the token there).
    A refusal is audited (``authz_fail``); commit, then ``raise_failure()``."""
    if not auth.ok or auth.principal_id is None:
        return Outcome(auth.failure or TokenScopeDenied())
    allowed = token_allows(auth.scope or "", auth.resources, seller_id, action) and can(
        roles_of(session, auth.principal_id), seller_id, action
    )
    if allowed:
        return Outcome()
    audit.append(
        session,
        action="authz_fail",
        outcome="denied",
        now=now,
        actor=auth.principal_id,
        target=seller_id,
        client=client,
        details={"via": auth.token_id, "action": action},
    )
    return Outcome(TokenScopeDenied())


# -- unlinking --------------------------------------------------------------------------------


def unlink(
    session: Session,
    *,
    auth: AuthSession,
    code: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> links.Unlinked:
    """Confirm an unlink (``identity.links.confirm_unlink``: step-up, the e-mailed code, every
    other session of the former group ended) and then revoke every live API token of a former
    member that names a seller its principal's roles no longer allow at the token's scope: the
    cross-seller tokens issued through the link (AUTH-13 d). Entry points call this, commit,
    then ``raise_failure()``."""
    result = links.confirm_unlink(
        session,
        auth=auth,
        code=code,
        now=now,
        settings=settings,
        client=client,
        sender=sender,
        lang=lang,
    )
    if not result.ok:
        return result
    result.revoked_tokens = _revoke_beyond_own_roles(
        session, members=result.former_members, now=now, actor=auth.principal_id, client=client
    )
    return result


def _revoke_beyond_own_roles(
    session: Session,
    *,
    members: Sequence[str],
    now: datetime,
    actor: str,
    client: Client,
    reaching: str | None = None,
) -> list[str]:
    """Revoke every live API token of ``members`` that names a seller its principal's roles (as
    they are now, links included) do not allow at the token's scope: the tokens issued through a
    link that is gone. With ``reaching``, the link stays: then the tokens of the *other* members
    that name one of ``reaching``'s own sellers beyond their own roles, the ones that reach it
    through the link."""
    live = tokens.live_tokens(session, members)
    target = own_roles(session, reaching) if reaching is not None else None
    judge = roles_of if reaching is None else own_roles
    roles = {member: judge(session, member) for member in members}
    revoked = []
    for token in live:
        if reaching is not None and token.principal_id == reaching:
            continue
        beyond = [s for s in token.resources if not can(roles[token.principal_id], s, token.scope)]
        if target is not None:
            beyond = [s for s in beyond if can(target, s, "read")]
        if not beyond:
            continue
        if tokens.revoke_token(session, token_id=token.id, now=now, actor=actor, client=client):
            revoked.append(token.id)
    return revoked


# -- password reset and "sign out everywhere" (AUTH-13 g, AUTH-18) ---------------------------


def complete_reset(
    session: Session,
    *,
    token: str,
    new_password: str,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
    cut_links: bool = False,
) -> reset.ResetDone:
    """Finish a password reset (``identity.reset.complete_reset``: the password, every session
    of the account and of the accounts linked with it, the links when the owner asks) and revoke
    every API token of the account and every token of a linked account that reached it through
    the link. Then tell the owner and the linked accounts what happened. Entry points call this,
    commit, then ``raise_failure()``."""
    done = reset.complete_reset(
        session,
        token=token,
        new_password=new_password,
        now=now,
        sender=sender,
        settings=settings,
        client=client,
        lang=lang,
        cut_links=cut_links,
    )
    if not done.ok or done.principal_id is None:
        return done
    actor = done.principal_id
    done.revoked_tokens = tokens.revoke_all(
        session, principal_id=actor, now=now, actor=actor, client=client
    )
    if done.linked_with:  # the group as it was, even when the reset just cut it
        done.revoked_tokens += _revoke_beyond_own_roles(
            session,
            members=[actor, *done.linked_with],
            now=now,
            actor=actor,
            client=client,
            reaching=actor,
        )
    reset.notify_reset(session, done=done, now=now, sender=sender, lang=lang)
    return done


@dataclass(frozen=True)
class SignedOutEverywhere:
    sessions_ended: int
    revoked_tokens: list[str]


def sign_out_everywhere(
    session: Session,
    *,
    auth: AuthSession,
    now: datetime,
    settings: IdentitySettings = PRODUCTION,
    client: Client = NO_CLIENT,
    sender: MailSender = DEFAULT_SENDER,
    lang: str = "en",
) -> SignedOutEverywhere:
    """End every other session of the caller and every session of the accounts linked with it
    (``identity.service.revoke_other_sessions``: step-up first), and revoke the API tokens of
    linked accounts that reached the caller through the link (AUTH-13 g). The caller's own
    tokens stay: they are not sessions, and the token list ends them one by one."""
    members = links.linked_ids(session, auth.principal_id)
    ended = identity.revoke_other_sessions(
        session, auth=auth, now=now, settings=settings, client=client, sender=sender, lang=lang
    )
    revoked: list[str] = []
    if len(members) > 1:
        revoked = _revoke_beyond_own_roles(
            session,
            members=members,
            now=now,
            actor=auth.principal_id,
            client=client,
            reaching=auth.principal_id,
        )
    return SignedOutEverywhere(sessions_ended=ended, revoked_tokens=revoked)


# -- enforcement: related sellers, and cutting a deactivated seller's access (issue 14) -------


def linked_sellers(session: Session, seller_id: str) -> list[str]:
    """The other sellers related to ``seller_id`` through its owners (ADR 0024): every seller
    owned by one of its owners or by a principal in the same link group as one of them (ADR
    0014), sorted, ``seller_id`` itself left out."""
    owners = [
        m.principal_id
        for m, _p in repo.memberships(session, seller_id=seller_id, principal_id=None)
        if m.role == "owner"
    ]
    group = sorted({p for owner in owners for p in links.linked_ids(session, owner)})
    related = {s for s, role in repo.roles_held(session, group) if role == "owner"}
    related.discard(seller_id)
    return sorted(related)


@dataclass(frozen=True)
class AccessCut:
    sessions_ended: int
    revoked_tokens: list[str]


def cut_seller_access(
    session: Session, *, seller_id: str, now: datetime, actor: str, reason: str
) -> AccessCut:
    """End every session of the principals that reach ``seller_id`` (its members and the
    accounts linked with them) and revoke every live API token that names it (SH-03: a
    deactivation). Nothing comes back with a reinstatement; signing in again still works, so
    the seller can appeal."""
    members = sorted(
        {
            m.principal_id
            for m, _p in repo.memberships(session, seller_id=seller_id, principal_id=None)
        }
    )
    reaching = sorted({p for member in members for p in links.linked_ids(session, member)})
    ended = sum(
        identity_repo.revoke_sessions_of(session, principal_id=p, now=now, reason=reason)
        for p in reaching
    )
    revoked = [
        token.id
        for token in tokens.live_tokens(session, reaching)
        if seller_id in token.resources
        and tokens.revoke_token(session, token_id=token.id, now=now, actor=actor)
    ]
    audit.append(
        session,
        action="seller_access_cut",
        outcome="success",
        now=now,
        actor=actor,
        target=seller_id,
        details={"reason": reason, "sessions_ended": ended, "tokens_revoked": len(revoked)},
    )
    return AccessCut(sessions_ended=ended, revoked_tokens=revoked)
