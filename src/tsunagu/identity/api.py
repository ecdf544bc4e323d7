"""``/v1/auth``: sign-in, the second factor, step-up, sessions, TOTP, recovery codes, password
reset and e-mail verification; ``/v1/auth/links``: link this account with another region's
account, the links that wait for consent, and asking to unlink (ADR 0014). Thin: every rule is
in the identity services. The routes that also settle sellers, roles or seller-scoped API tokens
are the access slice's (:mod:`tsunagu.access.api`).

Attempts that can fail (a wrong password, a wrong code) are *remembered* even when they fail:
the route commits the attempt's outcome first and raises its error after (ADR 0012).

Linking proves control of both accounts inside one request; an account without a second factor
of its own also accepts by e-mail, signed in (the link waits until it does); unlinking needs a
step-up and the code e-mailed by the first unlink request (AUTH-12, AUTH-13).
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from tsunagu.core.clock import utcnow
from tsunagu.http.calls import call_of, mail_sender, mailing_call_of
from tsunagu.http.deps import (
    AuthenticationRequired,
    SessionActorDep,
    SessionDep,
    SettingsDep,
    client_of,
    presented_token,
)
from tsunagu.http.responses import documented, request_language
from tsunagu.identity import factors, link_requests, links, reset, verify
from tsunagu.identity import service as identity
from tsunagu.identity.errors import Outcome
from tsunagu.identity.joining import Linked
from tsunagu.identity.models import AuthSession
from tsunagu.identity.schemas import (
    CodeIn,
    LinkAccepted,
    LinkedAccountOut,
    LinkIn,
    LinkOut,
    LinkPendingOut,
    LinkRequestOut,
    LinkToken,
    PasswordChange,
    PasswordChangedOut,
    RecoveryCodes,
    ResetRequest,
    SessionItem,
    SignedIn,
    SignInIn,
    StepUpIn,
    TotpEnrolment,
    VerificationConfirm,
)

router = APIRouter(prefix="/v1/auth", tags=["auth"])
links_router = APIRouter(prefix="/v1/auth/links", tags=["auth"])

#: Routes anyone may call: they are how a caller gets credentials in the first place.
PUBLIC_PATHS = frozenset(
    {
        "/v1/auth/sign-in",
        "/v1/auth/password-reset",
        "/v1/auth/password-reset/complete",
        # the link in the message is the credential: it may be opened signed out, or elsewhere
        "/v1/auth/verify-email/confirm",
        # declining a link asked of you changes nothing, so the e-mailed token is enough
        "/v1/auth/links/requests/decline",
    }
)

AnyOutcome = TypeVar("AnyOutcome", bound=Outcome)


def remembered(session: Session, outcome: AnyOutcome) -> AnyOutcome:
    """Commit the attempt (a failure too: the throttles and the audit log must keep it), then
    raise its failure, if any (ADR 0012)."""
    session.commit()
    outcome.raise_failure()
    return outcome


def live_row(session: SessionDep, actor: SessionActorDep) -> AuthSession:
    """The caller's session row in this request's (write) transaction."""
    return identity.session_row(session, actor.session_id)


LiveRow = Annotated[AuthSession, Depends(live_row)]


def _raw_token(request: Request) -> str:
    found = presented_token(request)
    if found is None:
        raise AuthenticationRequired()
    return found[0]


def _signed_in(result: identity.SignIn) -> SignedIn:
    assert result.token
    assert result.session_id
    assert result.principal_id
    assert result.stage
    return SignedIn(
        token=result.token,
        session_id=result.session_id,
        principal_id=result.principal_id,
        stage=result.stage,
        password_on_list=result.password_on_list,
    )


# -- signing in and out -----------------------------------------------------------------------


@router.post(
    "/sign-in",
    summary="Sign in with e-mail and password",
    responses=documented(
        422,
        e401="Wrong e-mail or password (`invalid_credentials`): the same answer whether or not "
        "the account exists.",
        e429="Back off (`too_many_attempts`, with `Retry-After`) or locked after 100 failures "
        "(`sign_in_locked`).",
    ),
)
def sign_in(body: SignInIn, request: Request, session: SessionDep) -> SignedIn:
    """A session token. With 2FA on, the session waits for `POST /v1/auth/second-factor`."""
    result = identity.sign_in(session, email=body.email, password=body.password, **call_of(request))
    return _signed_in(remembered(session, result))


@router.post(
    "/second-factor",
    summary="Finish signing in with the authenticator code",
    responses=documented(
        422,
        e401="No pending session (`session_invalid`) or a wrong, used or expired code "
        "(`invalid_code`).",
        e429="Too many wrong codes (`too_many_attempts`).",
    ),
)
def second_factor(body: CodeIn, request: Request, session: SessionDep) -> SignedIn:
    """Send the pending session's token as the bearer; the answer is a new token (the pending one
    stops working)."""
    result = identity.complete_second_factor(
        session, token=_raw_token(request), code=body.code, **call_of(request)
    )
    return _signed_in(remembered(session, result))


@router.post(
    "/step-up",
    summary="Confirm it is you before a sensitive action",
    responses=documented(
        422,
        e401="Not signed in, or a wrong password or code (`invalid_credentials`, `invalid_code`).",
        e429="Too many attempts.",
    ),
)
def step_up(
    body: StepUpIn, request: Request, session: SessionDep, actor: SessionActorDep
) -> SignedIn:
    """Password (and code when 2FA is on) again. For the next 5 minutes the new session may
    change 2FA, regenerate recovery codes, end other sessions and link or unlink accounts."""
    result = identity.step_up(
        session,
        token=_raw_token(request),
        password=body.password,
        code=body.code,
        **call_of(request),
    )
    return _signed_in(remembered(session, result))


@router.post(
    "/sign-out",
    status_code=204,
    response_class=Response,
    summary="Sign out",
    responses=documented(e401="Not signed in."),
)
def sign_out(request: Request, session: SessionDep, actor: SessionActorDep) -> Response:
    """Ends this session on the server; its token stops working at once."""
    identity.sign_out(session, token=_raw_token(request), now=utcnow(), client=client_of(request))
    session.commit()
    return Response(status_code=204)


# -- sessions ---------------------------------------------------------------------------------


@router.get(
    "/sessions",
    summary="Your signed-in sessions",
    responses=documented(e401="Not signed in."),
)
def sessions(
    session: SessionDep, actor: SessionActorDep, settings: SettingsDep
) -> list[SessionItem]:
    """Every session of yours that still works, newest first; `current` marks this one."""
    assert actor.principal_id is not None
    return [
        SessionItem(**s.model_dump(), current=s.id == actor.session_id)
        for s in identity.list_sessions(
            session, principal_id=actor.principal_id, now=utcnow(), settings=settings.identity
        )
    ]


SessionId = Annotated[str, Path(min_length=1, max_length=40)]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    response_class=Response,
    summary="End one of your sessions",
    responses=documented(e401="Not signed in.", e404="Not one of your live sessions."),
)
def end_session(
    session_id: SessionId, request: Request, session: SessionDep, row: LiveRow
) -> Response:
    """That session's token stops working at once; another user's session id is not found."""
    identity.revoke_own_session(
        session, auth=row, session_id=session_id, now=utcnow(), client=client_of(request)
    )
    session.commit()
    return Response(status_code=204)


# -- two-factor authentication ----------------------------------------------------------------


@router.post(
    "/totp",
    summary="Start setting up 2FA",
    responses=documented(
        e401="Not signed in, or no step-up in the last 5 minutes (`reauth_required`).",
        e409="2FA is already on (`totp_already_enrolled`).",
    ),
)
def totp_begin(session: SessionDep, row: LiveRow, settings: SettingsDep) -> TotpEnrolment:
    """A new secret, its `otpauth://` URI and a QR code (SVG made on the server); confirm with
    the first code the app shows."""
    enrolment = factors.begin_totp(session, auth=row, now=utcnow(), settings=settings.identity)
    session.commit()
    return enrolment


@router.post(
    "/totp/confirm",
    summary="Turn 2FA on with the first code",
    responses=documented(
        422,
        e401="Wrong code (`invalid_code`) or no recent step-up (`reauth_required`).",
        e409="No set-up in progress (`totp_not_enrolled`), or 2FA is already on "
        "(`totp_already_enrolled`).",
        e429="Too many wrong codes (`too_many_attempts`).",
    ),
)
def totp_confirm(
    body: CodeIn, request: Request, session: SessionDep, row: LiveRow
) -> RecoveryCodes:
    """2FA is on (for every linked account too); the 10 recovery codes are shown once."""
    result = factors.confirm_totp(session, auth=row, code=body.code, **call_of(request))
    return RecoveryCodes(recovery_codes=remembered(session, result).recovery_codes)


@router.post(
    "/totp/disable",
    status_code=204,
    response_class=Response,
    summary="Turn 2FA off",
    responses=documented(
        e401="No step-up in the last 5 minutes (`reauth_required`).",
        e409="2FA is not on (`totp_not_enrolled`).",
    ),
)
def totp_disable(request: Request, session: SessionDep, row: LiveRow) -> Response:
    """After a step-up; for linked accounts 2FA goes off for all of them."""
    factors.disable_totp(session, auth=row, **call_of(request))
    session.commit()
    return Response(status_code=204)


@router.post(
    "/recovery-codes",
    summary="Replace your recovery codes",
    responses=documented(
        e401="No step-up in the last 5 minutes (`reauth_required`).",
        e409="2FA is not on (`totp_not_enrolled`).",
    ),
)
def recovery_codes(request: Request, session: SessionDep, row: LiveRow) -> RecoveryCodes:
    """Ten new codes, shown once; the old ones stop working."""
    codes = factors.regenerate_recovery_codes(session, auth=row, **call_of(request))
    session.commit()
    return RecoveryCodes(recovery_codes=codes)


# -- the password -----------------------------------------------------------------------------


@router.post(
    "/password",
    summary="Change your password",
    responses=documented(
        e401="Wrong current password (`invalid_credentials`).",
        e422="The new password is too short, too common or contains your e-mail.",
        e429="Too many wrong passwords (`too_many_attempts`, `sign_in_locked`).",
    ),
)
def change_password(
    body: PasswordChange, request: Request, session: SessionDep, row: LiveRow
) -> PasswordChangedOut:
    """Every other session ends; with `revoke_tokens` every API token of the account too."""
    result = identity.change_password(
        session,
        auth=row,
        current_password=body.current_password,
        new_password=body.new_password,
        **call_of(request),
        sender=mail_sender(request),
        revoke_tokens=body.revoke_tokens,
    )
    remembered(session, result)
    return PasswordChangedOut(
        sessions_ended=result.sessions_ended, tokens_revoked=len(result.revoked_tokens)
    )


@router.post(
    "/password-reset",
    status_code=202,
    response_class=Response,
    summary="Ask for a password-reset e-mail",
    responses=documented(422),
)
def request_password_reset(
    body: ResetRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Always 202, whether or not the address has an account (no enumeration). The message goes
    through the installation's mail sender (by default the outbox: `tsunagu outbox list`)."""
    reset.request_reset(
        session,
        email=body.email,
        **mailing_call_of(request, lang=request_language(request)),
        link_base=settings.link("/reset-password"),  # never from the request (AUTH-17)
    )
    session.commit()
    return Response(status_code=202)


# -- e-mail verification ----------------------------------------------------------------------


@router.post(
    "/verify-email",
    status_code=202,
    response_class=Response,
    summary="Send a message that verifies your e-mail address",
    responses=documented(
        e401="Not signed in.",
        e429="More than 3 messages in a row (`too_many_attempts`, with `Retry-After`).",
    ),
)
def request_email_verification(
    request: Request, session: SessionDep, actor: SessionActorDep, settings: SettingsDep
) -> Response:
    """Always 202. When the address is not verified yet, a message with a link
    (`<base>/verify-email?token=…`, valid 24 hours, once) goes through the installation's mail
    sender (by default the outbox: `tsunagu outbox list`) and earlier links stop working. When it
    is verified already nothing is sent: `GET /v1/auth/me` shows `email_verified_at`. Linking
    accounts needs both addresses verified."""
    sent = verify.request_unless_verified(
        session,
        principal_id=actor.principal_id or "",
        **mailing_call_of(request, lang=request_language(request)),
        link_base=settings.link("/verify-email"),  # never from the request (AUTH-17)
    )
    if sent:
        session.commit()
    return Response(status_code=202)


@router.post(
    "/verify-email/confirm",
    status_code=204,
    response_class=Response,
    summary="Verify your e-mail address with the code from the message",
    responses=documented(
        422, e400="Unknown, used, superseded or expired code (`verification_invalid`)."
    ),
)
def confirm_email_verification(
    body: VerificationConfirm, request: Request, session: SessionDep
) -> Response:
    """Needs no sign-in: the code is the proof. It works once; the address it was sent to is
    then verified (`email_verified_at` in `GET /v1/auth/me`)."""
    result = verify.confirm_verification(
        session, token=body.token, now=utcnow(), client=client_of(request)
    )
    remembered(session, result)
    return Response(status_code=204)


# -- linked accounts --------------------------------------------------------------------------


@links_router.get(
    "",
    summary="Your linked accounts",
    responses=documented(e401="Not signed in."),
)
def list_links(session: SessionDep, actor: SessionActorDep) -> list[LinkedAccountOut]:
    """The other accounts of your link group; their sellers are reachable with this sign-in."""
    return links.list_linked(session, principal_id=actor.principal_id or "")


@links_router.post(
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
        **call_of(request),
        lang=request_language(request),
        base_url=settings.public_url,
    )
    return _link_answer(remembered(session, result))


def _link_answer(result: Linked) -> LinkOut | JSONResponse:
    """201 with the link made, or 202 with the accounts it waits for."""
    assert result.principal_id is not None
    if result.pending:
        assert result.request_id is not None
        pending = LinkPendingOut(
            request_id=result.request_id,
            principal_id=result.principal_id,
            waiting_for=result.waiting_for,
        )
        return JSONResponse(pending.model_dump(), status_code=202)
    assert result.group_id is not None
    return LinkOut(
        group_id=result.group_id,
        principal_id=result.principal_id,
        replaced_factor=result.replaced_factor,
    )


@links_router.get(
    "/requests",
    summary="Links waiting for acceptance",
    responses=documented(e401="Not signed in."),
)
def list_requests(session: SessionDep, actor: SessionActorDep) -> list[LinkRequestOut]:
    """Open link requests you made or must accept, with who has accepted so far."""
    return link_requests.waiting(session, principal_id=actor.principal_id or "", now=utcnow())


@links_router.post(
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
        **call_of(request),
        lang=request_language(request),
        base_url=settings.public_url,
    )
    remembered(session, result)
    return LinkAccepted(
        status="pending" if result.pending else "linked",
        request_id=result.request_id,
        group_id=result.group_id,
        principal_id=result.principal_id,
        replaced_factor=result.replaced_factor,
        waiting_for=result.waiting_for,
    )


@links_router.post(
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
    remembered(session, result)
    return Response(status_code=204)


@links_router.post(
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
) -> Response:
    """E-mails you a confirmation code (valid 10 minutes) for detaching `principal_id` (yours
    or another account of the group); confirm with `POST /v1/auth/links/unlink/confirm`."""
    links.begin_unlink(
        session,
        auth=row,
        principal_id=principal_id,
        **call_of(request),
        lang=request_language(request),
    )
    session.commit()
    return Response(status_code=202)


__all__ = ["PUBLIC_PATHS", "LiveRow", "links_router", "remembered", "router"]
