"""Pages anyone may open: sign-in (password, then the authenticator or a recovery code when 2FA
is on), sign-out, the password-reset pages and the page the e-mail verification link opens.

Signing in with a password that is on the list of common passwords (one set before the list
grew) leads once to the password page, which says why, and from there on to where the user was
going.

They call the identity services like ``/v1/auth`` does. Attempts are remembered even when they
fail: the page commits the attempt, then shows its error on the form (ADR 0012).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from tsunagu.access import service as access
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.http.calls import call_of, mail_sender, mailing_call_of
from tsunagu.http.deps import client_of, get_settings, optional_actor
from tsunagu.identity import links, reset, verify
from tsunagu.identity import service as identity
from tsunagu.identity.errors import SessionInvalid
from tsunagu.web.render import PageRoute, form_page, page_language
from tsunagu.web.session import (
    MAX_NEXT,
    SIGN_IN,
    SIGN_IN_CODE,
    Redirect,
    clear_session_cookies,
    private,
    redirect,
    safe_next,
    same_site,
    session_token,
    set_session_cookie,
    with_next,
)

router = APIRouter(route_class=PageRoute)

Next = Annotated[str | None, Query(max_length=MAX_NEXT)]
NextField = Annotated[str, Form(max_length=MAX_NEXT)]
EmailField = Annotated[str, Form(max_length=320)]
PasswordField = Annotated[str, Form(max_length=1024)]
CodeField = Annotated[str, Form(max_length=40)]
TokenField = Annotated[str, Form(max_length=200)]

#: the account's password page (in :mod:`tsunagu.web.account_pages`)
PASSWORD_PAGE = "/account/password"  # noqa: S105 (an address, not a password)

PASSWORDS_DIFFER = N_("The two new passwords are not the same.")


class PasswordsDiffer(TsunaguError):
    status = 422
    code = "passwords_differ"

    def __init__(self) -> None:
        super().__init__(PASSWORDS_DIFFER)


# -- sign-in ----------------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: Next = None) -> Response:
    target = safe_next(next)
    actor = optional_actor(request)
    if actor is not None and actor.via == "session":
        return redirect(target)
    return form_page(request, "sign_in.html", next=target, email="")


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    email: EmailField = "",
    password: PasswordField = "",
    next: NextField = "/",
) -> Response:
    same_site(request)
    target = safe_next(next)
    call = call_of(request)
    previous = session_token(request)
    with request.app.state.factory() as session:
        result = identity.sign_in(session, email=email, password=password, **call)
        if result.ok and previous:
            # the browser's earlier session (perhaps another account's) ends here
            identity.sign_out(session, token=previous, now=call["now"], client=call["client"])
        session.commit()
    if result.failure is not None:
        return form_page(
            request, "sign_in.html", error=result.failure, next=target, email=email[:320]
        )
    assert result.token is not None
    if result.password_on_list:
        target = common_password_notice(target)
    if result.stage == identity.SECOND_FACTOR:
        response = redirect(with_next(SIGN_IN_CODE, target))
    else:
        response = redirect(target)
    set_session_cookie(request, response, result.token)
    return private(response)


def common_password_notice(target: str) -> str:
    """The password page saying the password is on the common list, then on to ``target``."""
    page = f"{PASSWORD_PAGE}?common=1"
    return page if target == "/" else f"{page}&next={quote(target, safe='/')}"


def _pending_stage(request: Request, target: str) -> str:
    """The stage of the browser's session (``second_factor`` or ``full``); no usable session
    sends the browser back to the sign-in form."""
    token = session_token(request)
    if token is None:
        raise Redirect(with_next(SIGN_IN, target))
    settings = get_settings(request)
    with request.app.state.read_factory() as session:
        try:
            row = identity.resolve(
                session,
                token=token,
                now=utcnow(),
                settings=settings.identity,
                second_factor_ok=True,
                touch=False,
            )
        except SessionInvalid:
            raise Redirect(with_next(SIGN_IN, target), clear_session=True) from None
        stage = row.stage
        session.rollback()
    return stage


@router.get("/sign-in/code", response_class=HTMLResponse)
def code_page(request: Request, next: Next = None) -> Response:
    target = safe_next(next)
    if _pending_stage(request, target) == identity.FULL:
        return redirect(target)
    return form_page(request, "sign_in_code.html", next=target)


@router.post("/sign-in/code", response_class=HTMLResponse)
def code(request: Request, code: CodeField = "", next: NextField = "/") -> Response:
    same_site(request)
    target = safe_next(next)
    token = session_token(request)
    if token is None:
        raise Redirect(with_next(SIGN_IN, target))
    with request.app.state.factory() as session:
        try:
            result = identity.complete_second_factor(
                session, token=token, code=code, **call_of(request)
            )
        except SessionInvalid:
            raise Redirect(with_next(SIGN_IN, target), clear_session=True) from None
        session.commit()
    if result.failure is not None:
        return form_page(request, "sign_in_code.html", error=result.failure, next=target)
    assert result.token is not None
    response = redirect(target)
    set_session_cookie(request, response, result.token)
    return private(response)


@router.post("/sign-out")
def sign_out(request: Request, next: NextField = "") -> Response:
    """Ends the session on the server (its token stops working at once) and clears the cookie;
    ``next`` (a path on this site) is where the sign-in page goes afterwards."""
    same_site(request)
    token = session_token(request)
    if token is not None:
        with request.app.state.factory() as session:
            identity.sign_out(session, token=token, now=utcnow(), client=client_of(request))
            session.commit()
    response = redirect(with_next(SIGN_IN, safe_next(next, "")) if next else SIGN_IN)
    clear_session_cookies(request, response)
    return private(response)


# -- password reset ---------------------------------------------------------------------------


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return form_page(request, "forgot_password.html", sent=False)


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot(request: Request, email: EmailField = "") -> Response:
    """Always the same answer, whether or not the address has an account (no enumeration)."""
    same_site(request)
    settings = get_settings(request)
    with request.app.state.factory() as session:
        reset.request_reset(
            session,
            email=email,
            **mailing_call_of(request, lang=page_language(request)),
            link_base=settings.link("/reset-password"),  # never from the request (AUTH-17)
        )
        session.commit()
    return form_page(request, "forgot_password.html", sent=True)


@router.get("/reset-password", response_class=HTMLResponse)
def reset_page(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    return form_page(request, "reset_password.html", token=token, done=None)


@router.post("/reset-password", response_class=HTMLResponse)
def reset_password(
    request: Request,
    token: TokenField = "",
    password: PasswordField = "",
    repeat: PasswordField = "",
    cut_links: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Sets the new password; signs nobody in. Every session of the account (and of the
    accounts linked with it) ends and its API tokens are revoked; ``cut_links`` also cuts the
    account's links — the way out of a link its owner did not make, even when signing in is
    impossible because somebody else's authenticator protects the account."""
    same_site(request)
    if password != repeat:
        return form_page(
            request, "reset_password.html", error=PasswordsDiffer(), token=token, done=None
        )
    with request.app.state.factory() as session:
        try:
            result = access.complete_reset(
                session,
                token=token,
                new_password=password,
                **mailing_call_of(request, lang=page_language(request)),
                cut_links=bool(cut_links),
            )
        except TsunaguError as exc:  # the new password breaks the policy; the token still works
            session.rollback()
            return form_page(request, "reset_password.html", error=exc, token=token, done=None)
        session.commit()
    if result.failure is not None:
        return form_page(request, "reset_password.html", error=result.failure, token="", done=None)
    return form_page(request, "reset_password.html", token="", done=result)


# -- e-mail verification ----------------------------------------------------------------------


@router.get("/verify-email", response_class=HTMLResponse)
def verify_email_page(
    request: Request, token: Annotated[str, Query(max_length=200)] = ""
) -> Response:
    """Only a button: opening the link verifies nothing (mail scanners open links too)."""
    return form_page(request, "verify_email.html", token=token, done=False)


@router.post("/verify-email", response_class=HTMLResponse)
def verify_email(request: Request, token: TokenField = "") -> Response:
    """Spends the code (once) and verifies the address it was sent to; needs no sign-in."""
    same_site(request)
    with request.app.state.factory() as session:
        result = verify.confirm_verification(
            session, token=token, now=utcnow(), client=client_of(request)
        )
        session.commit()
    if result.failure is not None:
        return form_page(request, "verify_email.html", error=result.failure, token="", done=False)
    return form_page(request, "verify_email.html", token="", done=True)


# -- a link that waits for this account's consent ---------------------------------------------

LINK_REQUEST = "/link-request"


def link_request_url(token: str) -> str:
    return f"{LINK_REQUEST}?token={quote(token, safe='')}"


@router.get(LINK_REQUEST, response_class=HTMLResponse)
def link_request_page(
    request: Request,
    token: Annotated[str, Query(max_length=200)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """What the confirmation e-mail opens: who asked to link which accounts and what it would
    change. Opening it changes nothing; agreeing needs a sign-in as the account it was sent to
    (``/account/links/accept``), declining needs nothing but the code."""
    actor = optional_actor(request)
    session_actor = actor if actor is not None and actor.via == "session" else None
    view = None
    signed_in_as = None
    with request.app.state.read_factory() as session:
        if token:
            view = links.describe_request(session, token=token, now=utcnow())
        if session_actor is not None and session_actor.principal_id is not None:
            principal = identity.get_principal(session, session_actor.principal_id)
            signed_in_as = principal.email if principal is not None else None
    mine = (
        view is not None
        and session_actor is not None
        and (session_actor.principal_id == view.account_id)
    )
    here = link_request_url(token) if token else LINK_REQUEST
    return private(
        form_page(
            request,
            "link_request.html",
            token=token,
            view=view,
            mine=mine,
            signed_in_as=None if mine else signed_in_as,
            sign_in_url=with_next(SIGN_IN, here),
            here=here,
            done=done,
        )
    )


@router.post(f"{LINK_REQUEST}/decline", response_class=HTMLResponse)
def decline_link_request(request: Request, token: TokenField = "") -> Response:
    """Declining needs no sign-in: the code proves the mailbox, and nothing changes."""
    same_site(request)
    with request.app.state.factory() as session:
        result = links.decline_link(
            session,
            token=token,
            now=utcnow(),
            client=client_of(request),
            sender=mail_sender(request),
            lang=page_language(request),
        )
        session.commit()
    if result.failure is not None:
        return form_page(
            request, "link_request.html", error=result.failure, token="", view=None, done=""
        )
    return redirect(f"{LINK_REQUEST}?done=declined")
