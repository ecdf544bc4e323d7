"""``/v1/auth``: sign-in, the second factor, step-up, sessions, TOTP, recovery codes, password
reset, e-mail verification and API tokens. Thin: every rule is in the identity and access slices.

Attempts that can fail (a wrong password, a wrong code) are *remembered* even when they fail:
the route commits the attempt's outcome first and raises its error after (ADR 0012).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.core.clock import utcnow
from tsunagu.http.deps import (
    AuthenticationRequired,
    SessionActorDep,
    SessionDep,
    SettingsDep,
    client_of,
    presented_token,
)
from tsunagu.http.responses import documented, request_language
from tsunagu.identity import factors, reset, verify
from tsunagu.identity import service as identity
from tsunagu.identity import tokens as identity_tokens
from tsunagu.identity.errors import SessionInvalid
from tsunagu.identity.mail import DEFAULT_SENDER, MailSender
from tsunagu.identity.models import AuthSession
from tsunagu.identity.rules import require_recent_auth
from tsunagu.identity.schemas import ApiTokenOut, PrincipalOut, SessionOut, TotpEnrolment
from tsunagu.sellers.service import list_sellers, seller_not_found

router = APIRouter(prefix="/v1/auth", tags=["auth"])

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

Email = Annotated[str, Field(min_length=1, max_length=320, examples=["owner@example.com"])]
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        description="A 6-digit code from the authenticator app, or a recovery code.",
        examples=["123456"],
    ),
]


class SignInIn(BaseModel):
    email: Email
    password: Password


class CodeIn(BaseModel):
    code: Code


class StepUpIn(BaseModel):
    password: Password
    code: Code | None = Field(default=None, description="Needed when 2FA is on.")


class SignedIn(BaseModel):
    """A new session. Send ``token`` as ``Authorization: Bearer <token>``; it is shown once."""

    token: str
    session_id: str
    principal_id: str
    stage: str = Field(
        description="`full`, or `second_factor` when the code from the authenticator app is "
        "still due (`POST /v1/auth/second-factor`).",
        examples=["full"],
    )
    password_on_list: bool = Field(
        default=False,
        description="The password is on the list of common passwords: ask the user to change it.",
    )


class SellerRole(BaseModel):
    seller_id: str
    name: str
    role: str = Field(description="owner, manager, viewer, or operator (read-only).")


class TwoFactorOut(BaseModel):
    enabled: bool
    recovery_codes_left: int


class MeOut(BaseModel):
    principal: PrincipalOut
    session_id: str
    last_authenticated_at: datetime
    operator: bool
    sellers: list[SellerRole]
    two_factor: TwoFactorOut


class SessionItem(SessionOut):
    current: bool = False


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Shown once; each works once.")


class Revoked(BaseModel):
    revoked: int = Field(description="Sessions ended: yours and those of linked accounts.")
    tokens_revoked: int = Field(
        default=0, description="API tokens of linked accounts that reached yours."
    )


class PasswordChange(BaseModel):
    current_password: Password
    new_password: Password
    revoke_tokens: bool = Field(
        default=False, description="Also revoke every API token of this account."
    )


class PasswordChangedOut(BaseModel):
    sessions_ended: int = Field(description="Your other sessions, all ended.")
    tokens_revoked: int = Field(description="API tokens revoked (with `revoke_tokens`).")


class ResetRequest(BaseModel):
    email: Email


class ResetCompletion(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: Password
    cut_links: bool = Field(
        default=False,
        description="Also cut this account's links with other accounts: for a link you did not "
        "make. Each account then signs in as it did before it was linked.",
    )


class ResetOut(BaseModel):
    """What the reset did. Nobody was signed in."""

    sessions_ended: int = Field(description="Sessions of this account, all ended.")
    linked_sessions_ended: int = Field(
        description="Sessions of linked accounts, which reached this one through the link."
    )
    links_cut: bool = Field(description="The account's links were cut (`cut_links`).")
    tokens_revoked: int = Field(
        description="API tokens revoked: every token of this account, and tokens of linked "
        "accounts that reached it."
    )


class VerificationConfirm(BaseModel):
    token: str = Field(
        min_length=1,
        max_length=200,
        description="The code from the verification message (the `token` of its link).",
    )


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["nightly import"])
    scope: str = Field(description="`read` or `write`.", examples=["read"])
    seller_ids: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=100
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="UTC, at most `TSUNAGU_TOKEN_MAX_DAYS` (365) days ahead; none = the longest "
        "allowed.",
    )


class TokenCreated(BaseModel):
    token: str = Field(description="Shown once: store it now.")
    info: ApiTokenOut


def _live_row(session: SessionDep, actor: SessionActorDep) -> AuthSession:
    """The caller's session row in this request's (write) transaction."""
    row = session.get(AuthSession, actor.session_id)
    if row is None:
        raise SessionInvalid()
    return row


LiveRow = Annotated[AuthSession, Depends(_live_row)]


def _mail_sender(request: Request) -> MailSender:
    """The installation's mail sender (the outbox unless the app was given another)."""
    sender: MailSender = getattr(request.app.state, "mail_sender", DEFAULT_SENDER)
    return sender


def _raw_token(request: Request) -> str:
    found = presented_token(request)
    if found is None:
        raise AuthenticationRequired()
    return found[0]


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
def sign_in(
    body: SignInIn, request: Request, session: SessionDep, settings: SettingsDep
) -> SignedIn:
    """A session token. With 2FA on, the session waits for `POST /v1/auth/second-factor`."""
    result = identity.sign_in(
        session,
        email=body.email,
        password=body.password,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
    )
    session.commit()
    result.raise_failure()
    return _signed_in(result)


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
def second_factor(
    body: CodeIn, request: Request, session: SessionDep, settings: SettingsDep
) -> SignedIn:
    """Send the pending session's token as the bearer; the answer is a new token (the pending one
    stops working)."""
    result = identity.complete_second_factor(
        session,
        token=_raw_token(request),
        code=body.code,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
    )
    session.commit()
    result.raise_failure()
    return _signed_in(result)


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
    body: StepUpIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: SessionActorDep,
) -> SignedIn:
    """Password (and code when 2FA is on) again. For the next 5 minutes the new session may
    change 2FA, regenerate recovery codes, end other sessions and link or unlink accounts."""
    result = identity.step_up(
        session,
        token=_raw_token(request),
        password=body.password,
        code=body.code,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
    )
    session.commit()
    result.raise_failure()
    return _signed_in(result)


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


@router.get(
    "/me",
    summary="Who is signed in, and which sellers they reach",
    responses=documented(e401="Not signed in."),
)
def me(session: SessionDep, actor: SessionActorDep) -> MeOut:
    """The principal, the sellers the session reaches (linked accounts' included) with the
    role, and the 2FA state."""
    return who_am_i(session, actor.principal_id or "", actor.session_id or "")


def who_am_i(session: Session, principal_id: str, session_id: str) -> MeOut:
    """Shared with the dashboard's account page."""
    principal = identity.get_principal(session, principal_id)
    row = session.get(AuthSession, session_id)
    if principal is None or row is None:
        raise SessionInvalid()
    roles = access.roles_of(session, principal_id)
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


@router.post(
    "/sign-out-others",
    summary="End every other session of yours",
    responses=documented(
        e401="Not signed in, or no step-up in the last 5 minutes (`reauth_required`)."
    ),
)
def end_other_sessions(
    request: Request, session: SessionDep, row: LiveRow, settings: SettingsDep
) -> Revoked:
    """Sign out everywhere else (after a step-up); this session stays. For a linked account every
    session of the accounts linked with it ends too, and their API tokens that reached this
    account are revoked (they reached it through the link); all of them are told."""
    done = access.sign_out_everywhere(
        session,
        auth=row,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        sender=_mail_sender(request),
        lang=request_language(request),
    )
    session.commit()
    return Revoked(revoked=done.sessions_ended, tokens_revoked=len(done.revoked_tokens))


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
    body: CodeIn, request: Request, session: SessionDep, row: LiveRow, settings: SettingsDep
) -> RecoveryCodes:
    """2FA is on (for every linked account too); the 10 recovery codes are shown once."""
    result = factors.confirm_totp(
        session,
        auth=row,
        code=body.code,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
    )
    session.commit()
    result.raise_failure()
    return RecoveryCodes(recovery_codes=result.recovery_codes)


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
def totp_disable(
    request: Request, session: SessionDep, row: LiveRow, settings: SettingsDep
) -> Response:
    """After a step-up; for linked accounts 2FA goes off for all of them."""
    factors.disable_totp(
        session, auth=row, now=utcnow(), settings=settings.identity, client=client_of(request)
    )
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
def recovery_codes(
    request: Request, session: SessionDep, row: LiveRow, settings: SettingsDep
) -> RecoveryCodes:
    """Ten new codes, shown once; the old ones stop working."""
    codes = factors.regenerate_recovery_codes(
        session, auth=row, now=utcnow(), settings=settings.identity, client=client_of(request)
    )
    session.commit()
    return RecoveryCodes(recovery_codes=codes)


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
    body: PasswordChange, request: Request, session: SessionDep, row: LiveRow, settings: SettingsDep
) -> PasswordChangedOut:
    """Every other session ends; with `revoke_tokens` every API token of the account too."""
    result = identity.change_password(
        session,
        auth=row,
        current_password=body.current_password,
        new_password=body.new_password,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        sender=_mail_sender(request),
        revoke_tokens=body.revoke_tokens,
    )
    session.commit()
    result.raise_failure()
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
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        link_base=settings.link("/reset-password"),  # never from the request (AUTH-17)
        lang=request_language(request),
        sender=_mail_sender(request),
    )
    session.commit()
    return Response(status_code=202)


@router.post(
    "/password-reset/complete",
    summary="Set a new password with a reset token",
    responses=documented(
        e400="Unknown, used or expired token (`reset_token_invalid`).",
        e422="The new password breaks the policy.",
    ),
)
def complete_password_reset(
    body: ResetCompletion, request: Request, session: SessionDep, settings: SettingsDep
) -> ResetOut:
    """Signs nobody in; 2FA stays on. Every session of the account ends, and every API token of
    it is revoked. For a linked account the sessions of the linked accounts end too, with their
    tokens that reached this one; `cut_links` also dissolves the link (the way out of a link
    you did not make, even when you cannot sign in)."""
    result = access.complete_reset(
        session,
        token=body.token,
        new_password=body.new_password,
        now=utcnow(),
        settings=settings.identity,
        client=client_of(request),
        sender=_mail_sender(request),
        lang=request_language(request),
        cut_links=body.cut_links,
    )
    session.commit()
    result.raise_failure()
    return ResetOut(
        sessions_ended=result.sessions_ended,
        linked_sessions_ended=result.linked_sessions_ended,
        links_cut=result.links_cut,
        tokens_revoked=len(result.revoked_tokens),
    )


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
    principal = identity.get_principal(session, actor.principal_id or "")
    if principal is None:
        raise SessionInvalid()
    if principal.email_verified_at is None:
        verify.request_verification(
            session,
            principal_id=principal.id,
            now=utcnow(),
            sender=_mail_sender(request),
            settings=settings.identity,
            client=client_of(request),
            link_base=settings.link("/verify-email"),  # never from the request (AUTH-17)
            lang=request_language(request),
        )
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
    session.commit()
    result.raise_failure()
    return Response(status_code=204)


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
    if body.scope == "write":  # a token that can change sellers is a sensitive action (AUTH-18)
        require_recent_auth(row, utcnow(), settings.identity.recent_auth)
    unseen = [s for s in body.seller_ids if not actor.allows(s, "read")]
    if unseen:  # a seller the caller cannot see is not found, as everywhere
        raise seller_not_found(unseen[0])
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


__all__ = ["PUBLIC_PATHS", "router"]
