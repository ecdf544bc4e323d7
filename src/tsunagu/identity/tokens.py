"""API tokens for automation (issue 6, point 6; ADR 0013): named, scoped, shown once, stored as
SHA-256, expiring, revocable, with a last-used time. Functions never commit.

A token is ``tsu_`` + 256 random bits. Because it is that strong, a fast hash is enough: nobody
can guess or brute-force an input whose SHA-256 matches, and a lookup by hash means the secret is
never compared character by character (no timing side channel on the token itself).

``resources`` are opaque ids owned by the slice that grants access (seller ids for seller
tokens; see ``tsunagu.access.service``): this module stays subject-agnostic.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.identity import audit, repo
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.identity.errors import Outcome, PrincipalNotFound, TokenInvalid, TokenNotFound
from tsunagu.identity.models import ApiToken, Principal
from tsunagu.identity.rules import PRODUCTION, TOKEN_PREFIX, TOKEN_SCOPES, has_control
from tsunagu.identity.schemas import ApiTokenOut

#: characters of the token kept in clear for listings (the prefix plus 8 of 43 random ones)
SHOWN_CHARS = len(TOKEN_PREFIX) + 8
MAX_NAME = 100


@dataclass(frozen=True)
class NewToken:
    """The one moment the token exists in clear: hand ``token`` to the user, then forget it."""

    token: str
    info: ApiTokenOut


@dataclass
class TokenAuth(Outcome):
    """The result of :func:`authenticate_token`: commit (the audit entry and the last-used
    time), then ``raise_failure()``."""

    principal_id: str | None = None
    token_id: str | None = None
    scope: str | None = None
    resources: list[str] = field(default_factory=list)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME or has_control(clean):
        raise InvalidInput(
            N_("A token name needs 1 to {maximum} characters and no control characters."),
            code="invalid_token_name",
            maximum=MAX_NAME,
            details={"field": "name"},
        )
    return clean


def check_scope(scope: str) -> str:
    if scope not in TOKEN_SCOPES:
        raise InvalidInput(
            N_("The scope must be read or write, not {scope}."),
            code="invalid_scope",
            scope=scope,
            details={"field": "scope", "value": scope},
        )
    return scope


def _check_expiry(
    expires_at: datetime | None, *, now: datetime, max_lifetime: timedelta
) -> datetime:
    """The expiry of a new token: ``expires_at`` if it is in the future and at most
    ``max_lifetime`` away, that far away when none is given."""
    if expires_at is not None and expires_at <= now:
        raise InvalidInput(
            N_("The expiry must be in the future."),
            code="invalid_expiry",
            details={"field": "expires_at"},
        )
    latest = now + max_lifetime
    if expires_at is None:
        return latest
    if expires_at > latest:
        raise InvalidInput(
            N_("An API token may live at most {days} days: choose an expiry before {latest}."),
            code="expiry_too_late",
            details={"field": "expires_at", "latest": latest.isoformat()},
            days=max_lifetime.days,
            latest=latest.strftime("%Y-%m-%d %H:%M UTC"),
        )
    return expires_at


def create_token(
    session: Session,
    *,
    principal_id: str,
    name: str,
    scope: str,
    resources: Sequence[str],
    now: datetime,
    expires_at: datetime | None,
    actor: str,
    client: Client = NO_CLIENT,
    max_lifetime: timedelta = PRODUCTION.token_max_lifetime,
) -> NewToken:
    """A new token. It expires at ``expires_at``, or after ``max_lifetime`` when none is given;
    a later expiry is refused (``expiry_too_late``, AUTH-18): a forgotten token dies by itself."""
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise PrincipalNotFound()
    clean = _check_name(name)
    check_scope(scope)
    expiry = _check_expiry(expires_at, now=now, max_lifetime=max_lifetime)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 bits from the CSPRNG
    row = ApiToken(
        id=new_id("tok"),
        principal_id=principal_id,
        name=clean,
        token_hash=hash_api_token(token),
        prefix=token[:SHOWN_CHARS],
        scope=scope,
        resources=sorted(set(resources)),
        created_at=now,
        expires_at=expiry,
    )
    session.add(row)
    session.flush()
    _record_created(session, row, now=now, actor=actor, client=client)
    return NewToken(token=token, info=ApiTokenOut.model_validate(row))


def _record_created(
    session: Session, row: ApiToken, *, now: datetime, actor: str, client: Client
) -> None:
    audit.append(
        session,
        action="authn_token_created",
        outcome="success",
        now=now,
        actor=actor,
        target=row.id,
        client=client,
        details={
            "principal": row.principal_id,
            "name": row.name,
            "scope": row.scope,
            "resources": row.resources,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
    )


def list_tokens(
    session: Session, *, principal_id: str | None = None, include_revoked: bool = True
) -> list[ApiTokenOut]:
    rows = repo.api_tokens(session, principal_id=principal_id, include_revoked=include_revoked)
    return [ApiTokenOut.model_validate(row) for row in rows]


def live_tokens(session: Session, principal_ids: Sequence[str]) -> list[ApiToken]:
    """The tokens of these principals that are not revoked (expired ones included), by id."""
    return repo.live_tokens_of(session, principal_ids)


def revoke_token(
    session: Session,
    *,
    token_id: str,
    now: datetime,
    actor: str,
    owner: str | None = None,
    client: Client = NO_CLIENT,
) -> bool:
    """Revoke a token; True when this call revoked it, False when it already was.

    With ``owner`` set, another principal's token is "not found" (never revoked, never confirmed).
    """
    row = session.get(ApiToken, token_id)
    if row is None or (owner is not None and row.principal_id != owner):
        raise TokenNotFound(token_id)
    revoked = repo.revoke_api_token(session, token_id=token_id, now=now)
    if revoked:
        session.refresh(row)
        audit.append(
            session,
            action="authn_token_revoked",
            outcome="success",
            now=now,
            actor=actor,
            target=token_id,
            client=client,
            details={"principal": row.principal_id},
        )
    return revoked


def revoke_all(
    session: Session, *, principal_id: str, now: datetime, actor: str, client: Client = NO_CLIENT
) -> list[str]:
    """Revoke every live token of ``principal_id`` (a password reset does, a change may);
    the ids revoked by this call."""
    return [
        token.id
        for token in repo.live_tokens_of(session, [principal_id])
        if revoke_token(session, token_id=token.id, now=now, actor=actor, client=client)
    ]


def _fail(
    session: Session,
    *,
    reason: str,
    now: datetime,
    client: Client,
    row: ApiToken | None = None,
) -> TokenAuth:
    audit.refusal(
        session, action="authn_token_fail", reason=reason, now=now, client=client, row=row
    )
    return TokenAuth(TokenInvalid())


def authenticate_token(
    session: Session, *, token: str, now: datetime, client: Client = NO_CLIENT
) -> TokenAuth:
    """The principal and scope behind ``token``, or ``token_invalid`` (unknown, revoked,
    expired, disabled principal: one answer; the audit entry says which). Success records the
    last-used time."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return _fail(session, reason="malformed", now=now, client=client)
    row = repo.api_token_by_hash(session, hash_api_token(token))
    if row is None:
        return _fail(session, reason="unknown", now=now, client=client)
    if row.revoked_at is not None:
        return _fail(session, reason="revoked", now=now, client=client, row=row)
    if row.expires_at is not None and now >= row.expires_at:
        return _fail(session, reason="expired", now=now, client=client, row=row)
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.status != "active":
        return _fail(session, reason="principal_disabled", now=now, client=client, row=row)
    row.last_used_at = now if row.last_used_at is None else max(row.last_used_at, now)
    session.flush()
    return TokenAuth(
        principal_id=row.principal_id,
        token_id=row.id,
        scope=row.scope,
        resources=list(row.resources),
    )
