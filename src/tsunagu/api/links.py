"""``/v1/auth/links``: link this account with another region's account, list and unlink them
(ADR 0014). Linking proves control of both accounts inside one request; an account without a
second factor of its own also accepts by e-mail, signed in (the link waits until it does);
unlinking needs a step-up and the code e-mailed by the first unlink request (AUTH-12, AUTH-13)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tsunagu.access import service as access
from tsunagu.api.auth import Code, Email, LiveRow, Password
from tsunagu.core.clock import utcnow
from tsunagu.http.deps import SessionActorDep, SessionDep, SettingsDep, client_of
from tsunagu.http.responses import documented, request_language
from tsunagu.identity import link_requests, links
from tsunagu.identity.schemas import LinkedAccountOut, LinkRequestOut

router = APIRouter(prefix="/v1/auth/links", tags=["auth"])


class LinkIn(BaseModel):
    """The other account's own sign-in: its e-mail, password and, when it uses 2FA, a code."""

    email: Email
    password: Password
    code: Code | None = None


class LinkOut(BaseModel):
    group_id: str
    principal_id: str = Field(description="The account now linked with yours.")
    replaced_factor: bool = Field(
        description="Both accounts had 2FA: the other account's authenticator and recovery codes "
        "were replaced by yours, which now protect both."
    )


class LinkPendingOut(BaseModel):
    """The link waits: the accounts in `waiting_for` have no second factor of their own, so each
    must accept the message sent to its address, signed in as itself."""

    status: str = Field(default="pending", examples=["pending"])
    request_id: str
    principal_id: str = Field(description="The account it would link with yours.")
    waiting_for: list[str] = Field(description="Accounts whose acceptance it waits for.")


class LinkAccepted(BaseModel):
    """`linked` once every account agreed (then `group_id`), else `pending`."""

    status: str = Field(examples=["linked", "pending"])
    request_id: str | None = None
    group_id: str | None = None
    principal_id: str | None = None
    replaced_factor: bool = False
    waiting_for: list[str] = Field(default_factory=list)


class LinkToken(BaseModel):
    token: str = Field(
        min_length=1, max_length=200, description="The code from the message (its link's token)."
    )


class UnlinkConfirm(BaseModel):
    code: str = Field(min_length=1, max_length=20, description="The code from the e-mail.")


class UnlinkOut(BaseModel):
    detached: str = Field(description="The account that left the link group.")
    recovery_codes: dict[str, list[str]] = Field(
        description="New recovery codes, shown once, for the account that received its own copy "
        "of the authenticator (keyed by account id)."
    )
    revoked_tokens: list[str] = Field(description="API tokens that reached across the link.")


@router.get(
    "",
    summary="Your linked accounts",
    responses=documented(e401="Not signed in."),
)
def list_links(session: SessionDep, actor: SessionActorDep) -> list[LinkedAccountOut]:
    """The other accounts of your link group; their sellers are reachable with this sign-in."""
    return links.list_linked(session, principal_id=actor.principal_id or "")


@router.post(
    "",
    status_code=201,
    response_model=LinkOut,
    summary="Link another account to yours",
    responses={
        202: {
            "model": LinkPendingOut,
            "description": "The link waits for accounts without a second factor of their own "
            "to accept it.",
        },
        **documented(
            422,
            e401="No step-up in the last 5 minutes (`reauth_required`), or the other account's "
            "password or code is wrong (`invalid_credentials`, `invalid_code`).",
            e409="Already linked (`already_linked`), or the other account is in another group "
            "(`linked_elsewhere`).",
            e403="An account's e-mail address is not verified (`email_unverified`).",
            e429="Too many attempts.",
        ),
    },
)
def link(
    body: LinkIn,
    request: Request,
    session: SessionDep,
    row: LiveRow,
    settings: SettingsDep,
) -> LinkOut | JSONResponse:
    """Sign in to the other account inside this request (password, and a code when it uses
    2FA); then one sign-in reaches both accounts' sellers and one authenticator protects both.
    Never by e-mail address alone.

    When both accounts have 2FA the link is made at once (201). Otherwise it waits (202): an
    account without a second factor of its own gets a message at its verified address and
    accepts it signed in as itself (`POST /v1/auth/links/requests/accept`), so nobody who only
    knows its password can put it under another authenticator."""
    result = links.link_with(
        session,
        auth=row,
        email=body.email,
        password=body.password,
        code=body.code,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        lang=request_language(request),
        base_url=settings.public_url,
    )
    session.commit()
    result.raise_failure()
    if result.pending:
        assert result.request_id is not None
        assert result.principal_id is not None
        pending = LinkPendingOut(
            request_id=result.request_id,
            principal_id=result.principal_id,
            waiting_for=result.waiting_for,
        )
        return JSONResponse(pending.model_dump(), status_code=202)
    assert result.group_id is not None
    assert result.principal_id is not None
    return LinkOut(
        group_id=result.group_id,
        principal_id=result.principal_id,
        replaced_factor=result.replaced_factor,
    )


@router.get(
    "/requests",
    summary="Links waiting for acceptance",
    responses=documented(e401="Not signed in."),
)
def list_requests(session: SessionDep, actor: SessionActorDep) -> list[LinkRequestOut]:
    """Open link requests you made or must accept, with who has accepted so far."""
    return link_requests.waiting(session, principal_id=actor.principal_id or "", now=utcnow())


@router.post(
    "/requests/accept",
    summary="Accept a link with the code from the message",
    responses=documented(
        422,
        e400="Unknown, used, declined, superseded or expired code (`link_request_invalid`).",
        e401="No step-up in the last 5 minutes (`reauth_required`).",
        e403="The message went to another account (`link_request_other_account`).",
        e409="The accounts changed since the link was asked for (`link_request_stale`).",
    ),
)
def accept(
    body: LinkToken,
    request: Request,
    session: SessionDep,
    row: LiveRow,
    settings: SettingsDep,
) -> LinkAccepted:
    """Signed in as the account the message was sent to, after a step-up. The last acceptance
    makes the link."""
    result = links.accept_link(
        session,
        auth=row,
        token=body.token,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        lang=request_language(request),
        base_url=settings.public_url,
    )
    session.commit()
    result.raise_failure()
    return LinkAccepted(
        status="pending" if result.pending else "linked",
        request_id=result.request_id,
        group_id=result.group_id,
        principal_id=result.principal_id,
        replaced_factor=result.replaced_factor,
        waiting_for=result.waiting_for,
    )


@router.post(
    "/requests/decline",
    status_code=204,
    response_class=Response,
    summary="Decline a link with the code from the message",
    responses=documented(
        422, e400="Unknown, used, declined, superseded or expired code (`link_request_invalid`)."
    ),
)
def decline(body: LinkToken, request: Request, session: SessionDep) -> Response:
    """Needs no sign-in: the code is the proof, and declining leaves everything as it is. The
    account that asked is told."""
    result = links.decline_link(
        session,
        token=body.token,
        now=utcnow(),
        client=client_of(request),
        lang=request_language(request),
    )
    session.commit()
    result.raise_failure()
    return Response(status_code=204)


@router.post(
    "/{principal_id}/unlink",
    status_code=202,
    response_class=Response,
    summary="Ask to unlink an account",
    responses=documented(
        e401="No step-up in the last 5 minutes (`reauth_required`).",
        e404="Not an account of your link group (`link_not_found`).",
    ),
)
def begin_unlink(
    principal_id: Annotated[str, Path(min_length=1, max_length=40)],
    request: Request,
    session: SessionDep,
    row: LiveRow,
    settings: SettingsDep,
) -> Response:
    """E-mails you a confirmation code (valid 10 minutes) for detaching `principal_id` (yours
    or another account of the group); confirm with `POST /v1/auth/links/unlink/confirm`."""
    links.begin_unlink(
        session,
        auth=row,
        principal_id=principal_id,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        lang=request_language(request),
    )
    session.commit()
    return Response(status_code=202)


@router.post(
    "/unlink/confirm",
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
    settings: SettingsDep,
) -> UnlinkOut:
    """Each account keeps its own password and 2FA; every other session of the former group
    ends, and API tokens that reached across the link are revoked."""
    result = access.unlink(
        session,
        auth=row,
        code=body.code,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        lang=request_language(request),
    )
    session.commit()
    result.raise_failure()
    assert result.detached is not None
    return UnlinkOut(
        detached=result.detached,
        recovery_codes=result.recovery_codes,
        revoked_tokens=result.revoked_tokens,
    )
