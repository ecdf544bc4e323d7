"""The ``/v1/auth`` routes that reach sellers: who is signed in and which sellers they reach,
signing out everywhere, finishing a password reset, unlinking, and seller-scoped API tokens.
Each also settles what the link or the account's roles made possible (API tokens that reached
across a link are revoked). Thin: every rule is in the access and identity services; the
signing-in routes themselves are the identity slice's (:mod:`tsunagu.identity.api`).

Attempts that can fail are *remembered* even when they fail: the route commits the attempt's
outcome first and raises its error after (ADR 0012).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from tsunagu.access import service as access
from tsunagu.access.actor import Actor
from tsunagu.access.schemas import (
    MeOut,
    ResetCompletion,
    ResetOut,
    Revoked,
    TokenCreate,
    TokenCreated,
    UnlinkConfirm,
    UnlinkOut,
)
from tsunagu.core.clock import utcnow
from tsunagu.http.calls import call_of, mailing_call_of
from tsunagu.http.deps import SessionActorDep, SessionDep, SettingsDep, client_of
from tsunagu.http.responses import documented, request_language
from tsunagu.identity import tokens as identity_tokens
from tsunagu.identity.api import LiveRow, remembered
from tsunagu.identity.models import AuthSession
from tsunagu.identity.rules import IdentitySettings, require_recent_auth
from tsunagu.identity.schemas import ApiTokenOut
from tsunagu.sellers.service import seller_not_found

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.get(
    "/me",
    summary="Who is signed in, and which sellers they reach",
    responses=documented(e401="Not signed in."),
)
def me(session: SessionDep, actor: SessionActorDep) -> MeOut:
    """The principal, the sellers the session reaches (linked accounts' included) with the
    role, and the 2FA state."""
    return access.who_am_i(session, actor.principal_id or "", actor.session_id or "")


@router.post(
    "/sign-out-others",
    summary="End every other session of yours",
    responses=documented(
        e401="Not signed in, or no step-up in the last 5 minutes (`reauth_required`)."
    ),
)
def end_other_sessions(request: Request, session: SessionDep, row: LiveRow) -> Revoked:
    """Sign out everywhere else (after a step-up); this session stays. For a linked account every
    session of the accounts linked with it ends too, and their API tokens that reached this
    account are revoked (they reached it through the link); all of them are told."""
    done = access.sign_out_everywhere(
        session, auth=row, **mailing_call_of(request, lang=request_language(request))
    )
    session.commit()
    return Revoked(revoked=done.sessions_ended, tokens_revoked=len(done.revoked_tokens))


@router.post(
    "/password-reset/complete",
    summary="Set a new password with a reset token",
    responses=documented(
        e400="Unknown, used or expired token (`reset_token_invalid`).",
        e422="The new password breaks the policy.",
    ),
)
def complete_password_reset(
    body: ResetCompletion, request: Request, session: SessionDep
) -> ResetOut:
    """Signs nobody in; 2FA stays on. Every session of the account ends, and every API token of
    it is revoked. For a linked account the sessions of the linked accounts end too, with their
    tokens that reached this one; `cut_links` also dissolves the link (the way out of a link
    you did not make, even when you cannot sign in)."""
    result = access.complete_reset(
        session,
        token=body.token,
        new_password=body.new_password,
        **mailing_call_of(request, lang=request_language(request)),
        cut_links=body.cut_links,
    )
    remembered(session, result)
    return ResetOut(
        sessions_ended=result.sessions_ended,
        linked_sessions_ended=result.linked_sessions_ended,
        links_cut=result.links_cut,
        tokens_revoked=len(result.revoked_tokens),
    )


# -- API tokens -------------------------------------------------------------------------------


@router.get(
    "/tokens",
    summary="Your API tokens",
    responses=documented(e401="Not signed in."),
)
def list_tokens(session: SessionDep, actor: SessionActorDep) -> list[ApiTokenOut]:
    """Never the tokens themselves: their first characters, scope, sellers and times."""
    return identity_tokens.list_tokens(session, principal_id=actor.principal_id)


@router.post(
    "/tokens",
    status_code=201,
    summary="Create an API token",
    responses=documented(
        422,
        e401="Not signed in, or a `write` token without a step-up in the last 5 minutes "
        "(`reauth_required`).",
        e403="Your role does not allow that scope on a seller (`scope_exceeds_role`).",
        e404="No such seller (`seller_not_found`).",
    ),
)
def create_token(
    body: TokenCreate,
    request: Request,
    session: SessionDep,
    actor: SessionActorDep,
    row: LiveRow,
    settings: SettingsDep,
) -> TokenCreated:
    """A token over some of your sellers, `read` or `write`; shown once, stored hashed. A
    `write` token needs a step-up in the last 5 minutes. It expires at `expires_at`, at most
    a year ahead (`TSUNAGU_TOKEN_MAX_DAYS`); without one it gets the longest allowed
    (`expiry_too_late` beyond it)."""
    assert actor.principal_id is not None
    _check_token_request(body, actor=actor, row=row, settings=settings.identity)
    created = access.create_seller_token(
        session,
        principal_id=actor.principal_id,
        name=body.name,
        scope=body.scope,
        seller_ids=body.seller_ids,
        now=utcnow(),
        expires_at=body.expires_at,
        actor=actor.principal_id,
        client=client_of(request),
        max_lifetime=settings.identity.token_max_lifetime,
    )
    session.commit()
    return TokenCreated(token=created.token, info=created.info)


def _check_token_request(
    body: TokenCreate, *, actor: Actor, row: AuthSession, settings: IdentitySettings
) -> None:
    """A `write` token needs a recent step-up; a seller the caller cannot see is not found."""
    if body.scope == "write":  # a token that can change sellers is a sensitive action (AUTH-18)
        require_recent_auth(row, utcnow(), settings.recent_auth)
    unseen = [s for s in body.seller_ids if not actor.allows(s, "read")]
    if unseen:  # a seller the caller cannot see is not found, as everywhere
        raise seller_not_found(unseen[0])


@router.delete(
    "/tokens/{token_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API token",
    responses=documented(e401="Not signed in.", e404="Not one of your tokens."),
)
def revoke_token(
    token_id: Annotated[str, Path(min_length=1, max_length=40)],
    request: Request,
    session: SessionDep,
    actor: SessionActorDep,
) -> Response:
    """The token stops working at once; another user's token is not found."""
    assert actor.principal_id is not None
    identity_tokens.revoke_token(
        session,
        token_id=token_id,
        now=utcnow(),
        actor=actor.principal_id,
        owner=actor.principal_id,
        client=client_of(request),
    )
    session.commit()
    return Response(status_code=204)


# -- unlinking --------------------------------------------------------------------------------


@router.post(
    "/links/unlink/confirm",
    summary="Unlink with the e-mailed code",
    responses=documented(
        422,
        e401="No step-up in the last 5 minutes (`reauth_required`) or a wrong, used or expired "
        "code (`invalid_code`).",
        e404="No unlink was asked for (`link_not_found`).",
    ),
)
def confirm_unlink(
    body: UnlinkConfirm,
    request: Request,
    session: SessionDep,
    row: LiveRow,
) -> UnlinkOut:
    """Each account keeps its own password and 2FA; every other session of the former group
    ends, and API tokens that reached across the link are revoked."""
    result = access.unlink(
        session,
        auth=row,
        code=body.code,
        **call_of(request),
        lang=request_language(request),
    )
    remembered(session, result)
    assert result.detached is not None
    return UnlinkOut(
        detached=result.detached,
        recovery_codes=result.recovery_codes,
        revoked_tokens=result.revoked_tokens,
    )


__all__ = ["router"]
