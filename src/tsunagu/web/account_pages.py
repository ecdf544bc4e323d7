"""The account pages of a signed-in session: who you are, verifying the e-mail address, the
password, step-up, 2FA, recovery codes, sessions and linked accounts.

Every page calls the identity and access services like ``/v1/auth`` does. Sensitive actions
(2FA, recovery codes, ending other sessions, linking and unlinking) need a step-up within the
last 5 minutes: the service raises ``reauth_required`` and :class:`PageRoute` sends the browser to
``/account/step-up?next=<this page>``; pages that lead to such an action send it there first.
Secrets (the TOTP seed, recovery codes) are shown once, in the answer that made them, on pages
that are never cached.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from tsunagu.access import service as access
from tsunagu.access.actor import Actor
from tsunagu.core.clock import utcnow
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, translate
from tsunagu.http.calls import call_of, mail_sender, mailing_call_of
from tsunagu.http.deps import client_of, get_settings, presented_token
from tsunagu.identity import factors, link_requests, links, verify
from tsunagu.identity import service as identity
from tsunagu.identity.errors import LinkNotFound, PasswordRejected, ReauthRequired
from tsunagu.identity.models import AuthSession
from tsunagu.sellers.service import list_sellers
from tsunagu.web import labels, useragent
from tsunagu.web.auth_pages import PASSWORD_PAGE, PasswordsDiffer, link_request_url
from tsunagu.web.render import UTC_ZONE, PageRoute, failure, form_page, page_language
from tsunagu.web.session import (
    MAX_NEXT,
    Redirect,
    is_fresh,
    private,
    redirect,
    safe_next,
    session_actor,
    set_session_cookie,
    step_up_url,
)

router = APIRouter(route_class=PageRoute)

SessionActor = Annotated[Actor, Depends(session_actor)]
Next = Annotated[str | None, Query(max_length=MAX_NEXT)]
NextField = Annotated[str, Form(max_length=MAX_NEXT)]
PasswordField = Annotated[str, Form(max_length=1024)]
CodeField = Annotated[str, Form(max_length=40)]
EmailField = Annotated[str, Form(max_length=320)]
IdField = Annotated[str, Form(max_length=40)]
AccountQuery = Annotated[str, Query(max_length=40)]
TokenField = Annotated[str, Form(max_length=200)]

ACCOUNT = "/account"
VERIFY_EMAIL = "/account/verify-email"
PASSWORD = PASSWORD_PAGE
TWO_FACTOR = "/account/2fa"
TWO_FACTOR_SETUP = "/account/2fa/setup"
RECOVERY_CODES = "/account/recovery-codes"
SESSIONS = "/account/sessions"
LINKS = "/account/links"
LINK_NEW = "/account/links/new"
UNLINK = "/account/links/unlink"
UNLINK_CONFIRM = "/account/links/confirm"
LINK_ACCEPT = "/account/links/accept"


def _row(session: Session, actor: Actor) -> AuthSession:
    """The caller's session row in ``session``."""
    return identity.session_row(session, actor.session_id)


def _fresh(request: Request, actor: Actor) -> bool:
    with request.app.state.read_factory() as session:
        return is_fresh(_row(session, actor), utcnow(), get_settings(request))


def _require_fresh(request: Request, actor: Actor) -> None:
    """Pages that lead straight to a sensitive action ask for the step-up first."""
    if not _fresh(request, actor):
        query = request.url.query
        raise Redirect(step_up_url(request.url.path + (f"?{query}" if query else "")))


def _principal_id(actor: Actor) -> str:
    assert actor.principal_id is not None
    return actor.principal_id


# -- the account ------------------------------------------------------------------------------


@router.get(ACCOUNT, response_class=HTMLResponse)
def account(request: Request, actor: SessionActor, done: Next = None) -> Response:
    principal_id = _principal_id(actor)
    with request.app.state.read_factory() as session:
        me = access.who_am_i(session, principal_id, actor.session_id or "")
        linked = links.list_linked(session, principal_id=principal_id)
    lifetime = get_settings(request).identity.verification_lifetime
    return form_page(
        request,
        "account.html",
        who=me,
        linked=linked,
        roles=labels.ROLES,
        done=done or "",
        verify_hours=int(lifetime.total_seconds() // 3600),
    )


@router.post(VERIFY_EMAIL, response_class=HTMLResponse)
def send_verification(request: Request, actor: SessionActor) -> Response:
    """E-mails a link that verifies the address (earlier links stop working); nothing is sent
    when it is verified already."""
    settings = get_settings(request)
    with request.app.state.factory() as session:
        sent = verify.request_unless_verified(
            session,
            principal_id=_principal_id(actor),
            **mailing_call_of(request, lang=page_language(request)),
            link_base=settings.link("/verify-email"),  # never from the request (AUTH-17)
        )
        if not sent:
            return redirect(ACCOUNT)
        session.commit()
    return redirect(f"{ACCOUNT}?done=verification_sent")


# -- the password -----------------------------------------------------------------------------


def _password_form(
    request: Request,
    *,
    error: TsunaguError | None = None,
    field: str = "",
    common: bool = False,
    next_path: str = "",
    done: bool = False,
    revoked: int = 0,
) -> HTMLResponse:
    """``field`` names the input the error belongs to (``new`` or ``repeat``); other errors
    (a wrong current password, a wait) are shown above the form."""
    return form_page(
        request,
        "password.html",
        error=error if not field else None,
        status=error.status if error is not None else None,
        field_error=failure(request, error) if error is not None and field else None,
        field=field,
        common=common,
        next=next_path,
        done=done,
        revoked=revoked,
    )


@router.get(PASSWORD, response_class=HTMLResponse)
def password_page(
    request: Request,
    actor: SessionActor,
    done: Next = None,
    common: Annotated[str, Query(max_length=10)] = "",
    next: Next = None,
    revoked: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """``common=1``: signing in found the password on the list of common passwords."""
    return _password_form(
        request,
        common=bool(common),
        next_path=safe_next(next, ""),
        done=done == "changed",
        revoked=revoked,
    )


@router.post(PASSWORD, response_class=HTMLResponse)
def change_password(
    request: Request,
    actor: SessionActor,
    current_password: PasswordField = "",
    password: PasswordField = "",
    repeat: PasswordField = "",
    common: Annotated[str, Form(max_length=10)] = "",
    next: NextField = "",
    revoke_tokens: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Needs the current password; every other session of the account ends, this one stays;
    ``revoke_tokens`` also revokes every API token of the account (AUTH-18)."""
    target = safe_next(next, "")

    def refused(error: TsunaguError, field: str = "") -> HTMLResponse:
        return _password_form(
            request, error=error, field=field, common=bool(common), next_path=target
        )

    if password != repeat:
        return refused(PasswordsDiffer(), "repeat")
    with request.app.state.factory() as session:
        try:
            result = identity.change_password(
                session,
                auth=_row(session, actor),
                current_password=current_password,
                new_password=password,
                **call_of(request),
                sender=mail_sender(request),
                revoke_tokens=bool(revoke_tokens),
            )
        except PasswordRejected as exc:  # the policy refused the new password: nothing changed
            session.rollback()
            return refused(exc, "new")
        session.commit()
    if result.failure is not None:
        return refused(result.failure)
    revoked = len(result.revoked_tokens)
    done = f"{PASSWORD}?done=changed" + (f"&revoked={revoked}" if revoked else "")
    return redirect(done + (f"&next={quote(target, safe='/')}" if target else ""))


# -- step-up ----------------------------------------------------------------------------------


def _two_factor_on(request: Request, principal_id: str) -> bool:
    with request.app.state.read_factory() as session:
        return factors.factor_status(session, principal_id).enrolled


@router.get("/account/step-up", response_class=HTMLResponse)
def step_up_page(request: Request, actor: SessionActor, next: Next = None) -> Response:
    return form_page(
        request,
        "step_up.html",
        next=safe_next(next, ACCOUNT),
        needs_code=_two_factor_on(request, _principal_id(actor)),
    )


@router.post("/account/step-up", response_class=HTMLResponse)
def step_up(
    request: Request,
    actor: SessionActor,
    password: PasswordField = "",
    code: CodeField = "",
    next: NextField = ACCOUNT,
) -> Response:
    """Password (and code when 2FA is on) again; the session is rotated: a new cookie."""
    target = safe_next(next, ACCOUNT)
    found = presented_token(request)
    assert found is not None  # session_actor found the session
    with request.app.state.factory() as session:
        result = identity.step_up(
            session, token=found[0], password=password, code=code or None, **call_of(request)
        )
        session.commit()
    if result.failure is not None:
        return form_page(
            request,
            "step_up.html",
            error=result.failure,
            next=target,
            needs_code=_two_factor_on(request, _principal_id(actor)),
        )
    assert result.token is not None
    response = redirect(target)
    set_session_cookie(request, response, result.token)
    return private(response)


# -- two-factor authentication ----------------------------------------------------------------


@router.get(TWO_FACTOR, response_class=HTMLResponse)
def two_factor(request: Request, actor: SessionActor, done: Next = None) -> Response:
    principal_id = _principal_id(actor)
    with request.app.state.read_factory() as session:
        factor = factors.factor_status(session, principal_id)
        fresh = is_fresh(_row(session, actor), utcnow(), get_settings(request))
    return form_page(
        request, "two_factor.html", factor=factor, fresh=fresh, done=done or "", codes=None
    )


@router.post(TWO_FACTOR, response_class=HTMLResponse)
def disable_two_factor(request: Request, actor: SessionActor) -> Response:
    """Turns 2FA off (for linked accounts too: they share it). Step-up first."""
    with request.app.state.factory() as session:
        factors.disable_totp(session, auth=_row(session, actor), **call_of(request))
        session.commit()
    return redirect(f"{TWO_FACTOR}?done=disabled")


@router.get(TWO_FACTOR_SETUP, response_class=HTMLResponse)
def two_factor_setup(request: Request, actor: SessionActor) -> Response:
    """A new seed (replacing one not yet confirmed), as a QR code and as text; only for a session
    that stepped up within the last minutes (otherwise the step-up page comes first)."""
    _require_fresh(request, actor)
    settings = get_settings(request)
    with request.app.state.factory() as session:
        if factors.factor_status(session, _principal_id(actor)).enrolled:
            return redirect(TWO_FACTOR)
        enrolment = factors.begin_totp(
            session, auth=_row(session, actor), now=utcnow(), settings=settings.identity
        )
        session.commit()
    return form_page(
        request,
        "two_factor_setup.html",
        qr=Markup(enrolment.svg),  # noqa: S704 (made here by segno from our own URI)
        secret=enrolment.secret,
        grouped=" ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)),
        uri=enrolment.uri,
    )


@router.post(TWO_FACTOR_SETUP, response_class=HTMLResponse)
def confirm_two_factor(request: Request, actor: SessionActor, code: CodeField = "") -> Response:
    """The first code from the app turns 2FA on; the recovery codes are shown once."""
    with request.app.state.factory() as session:
        result = factors.confirm_totp(
            session, auth=_row(session, actor), code=code, **call_of(request)
        )
        session.commit()
    if result.failure is not None:
        return form_page(
            request, "two_factor_setup.html", error=result.failure, qr=None, secret="", grouped=""
        )
    return form_page(request, "recovery_codes.html", codes=result.recovery_codes, enabled=True)


@router.get(RECOVERY_CODES, response_class=HTMLResponse)
def recovery_codes_page(request: Request, actor: SessionActor) -> Response:
    with request.app.state.read_factory() as session:
        factor = factors.factor_status(session, _principal_id(actor))
        fresh = is_fresh(_row(session, actor), utcnow(), get_settings(request))
    return form_page(request, "recovery_codes.html", factor=factor, fresh=fresh, codes=None)


@router.post(RECOVERY_CODES, response_class=HTMLResponse)
def regenerate_recovery_codes(request: Request, actor: SessionActor) -> Response:
    """Ten new codes, shown once; the old ones stop working. Step-up first."""
    with request.app.state.factory() as session:
        codes = factors.regenerate_recovery_codes(
            session, auth=_row(session, actor), **call_of(request)
        )
        session.commit()
    return form_page(request, "recovery_codes.html", codes=codes, enabled=False)


# -- sessions ---------------------------------------------------------------------------------


#: the cookie the sessions page's script sets to the browser's time zone (an IANA name)
ZONE_COOKIE = "tz"
_ZONE_NAME = re.compile(r"^[A-Za-z]+(?:/[A-Za-z0-9_+-]+){0,2}$")


def viewer_zone(request: Request, actor: Actor) -> ZoneInfo:
    """The zone the caller reads times in: the browser's own (the ``tz`` cookie that
    ``/static/local-time.js`` sets), else the zone of the stores the caller reaches when they
    share one (a Japanese seller's are all Tokyo), else UTC."""
    name = request.cookies.get(ZONE_COOKIE, "")
    if len(name) <= 64 and _ZONE_NAME.match(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    registry = request.app.state.registry
    reachable = actor.sellers
    with request.app.state.read_factory() as session:
        sellers = list_sellers(
            session, limit=100, only=None if reachable is None else sorted(reachable)
        )
        codes = {store.marketplace for s in sellers for store in s.stores}
    zones = {str(mp.tz) for mp in (registry.get(code) for code in codes) if mp is not None}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else UTC_ZONE


def session_device(user_agent: str | None, lang: str) -> str:
    """ "Chrome on Windows", "Safari on iOS", "curl"; "Unknown browser" without a header."""
    agent = useragent.parse(user_agent)
    if agent.browser and agent.system:
        return translate(
            N_("{browser} on {system}"), lang, browser=agent.browser, system=agent.system
        )
    if agent.browser or agent.system:
        return agent.browser or agent.system or ""
    return translate(N_("Unknown browser"), lang)


@router.get(SESSIONS, response_class=HTMLResponse)
def sessions_page(request: Request, actor: SessionActor, done: Next = None) -> Response:
    settings = get_settings(request)
    now = utcnow()
    lang = page_language(request)
    with request.app.state.read_factory() as session:
        rows = identity.list_sessions(
            session, principal_id=_principal_id(actor), now=now, settings=settings.identity
        )
        fresh = is_fresh(_row(session, actor), now, settings)
    return form_page(
        request,
        "sessions.html",
        sessions=rows,
        devices={s.id: session_device(s.user_agent, lang) for s in rows},
        zone=viewer_zone(request, actor),
        current=actor.session_id,
        fresh=fresh,
        done=done or "",
    )


@router.post(SESSIONS, response_class=HTMLResponse)
def end_sessions(
    request: Request,
    actor: SessionActor,
    end: IdField = "",
    others: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """``end=<session id>`` ends one of your sessions; ``others=1`` every other one (after a
    step-up). Ending this session is signing out."""
    with request.app.state.factory() as session:
        row = _row(session, actor)
        if others:
            access.sign_out_everywhere(
                session, auth=row, **mailing_call_of(request, lang=page_language(request))
            )
            done = "others"
        else:
            identity.revoke_own_session(
                session, auth=row, session_id=end, now=utcnow(), client=client_of(request)
            )
            done = "one"
        session.commit()
    if end == actor.session_id:
        raise Redirect("/sign-in", clear_session=True)
    return redirect(f"{SESSIONS}?done={done}")


# -- linked accounts --------------------------------------------------------------------------


@router.get(LINKS, response_class=HTMLResponse)
def links_page(request: Request, actor: SessionActor, done: Next = None) -> Response:
    with request.app.state.read_factory() as session:
        linked = links.list_linked(session, principal_id=_principal_id(actor))
        waiting = link_requests.waiting(session, principal_id=_principal_id(actor), now=utcnow())
    return form_page(
        request,
        "links.html",
        linked=linked,
        waiting=waiting,
        done=done or "",
        own_email=_own_email(request, actor),
    )


@router.get(LINK_NEW, response_class=HTMLResponse)
def link_page(request: Request, actor: SessionActor) -> Response:
    _require_fresh(request, actor)
    return form_page(request, "link_new.html", email="")


@router.post(LINK_NEW, response_class=HTMLResponse)
def link(
    request: Request,
    actor: SessionActor,
    email: EmailField = "",
    password: PasswordField = "",
    code: CodeField = "",
) -> Response:
    """Proves the other account by its password (and its code when it uses 2FA) in this one
    request; step-up first."""
    settings = get_settings(request)
    with request.app.state.factory() as session:
        result = links.link_with(
            session,
            auth=_row(session, actor),
            email=email,
            password=password,
            code=code or None,
            **mailing_call_of(request, lang=page_language(request)),
            base_url=settings.public_url,
        )
        session.commit()
    if result.failure is not None:
        return form_page(request, "link_new.html", error=result.failure, email=email[:320])
    return redirect(f"{LINKS}?done={'pending' if result.pending else 'linked'}")


@router.post(LINK_ACCEPT, response_class=HTMLResponse)
def accept_link(request: Request, actor: SessionActor, token: TokenField = "") -> Response:
    """Agree to a link asked of this account (signed in as it, after a step-up); the last
    agreement makes the link."""
    settings = get_settings(request)
    with request.app.state.factory() as session:
        try:
            result = links.accept_link(
                session,
                auth=_row(session, actor),
                token=token,
                **mailing_call_of(request, lang=page_language(request)),
                base_url=settings.public_url,
            )
        except ReauthRequired:
            # confirm it is you, then back to the request's own page (not to a bare POST)
            raise Redirect(step_up_url(link_request_url(token))) from None
        session.commit()
        view = links.describe_request(session, token=token, now=utcnow())
    if result.failure is not None:
        return form_page(
            request,
            "link_request.html",
            error=result.failure,
            token=token,
            view=view,
            mine=False,
            signed_in_as=None,
            sign_in_url="",
            here=link_request_url(token),
            done="",
        )
    if result.pending:
        return redirect(link_request_url(token))
    return redirect(f"{LINKS}?done=linked")


def _member(request: Request, actor: Actor, principal_id: str) -> dict[str, Any]:
    """One linked account of the caller (or the caller itself when linked): else not found."""
    caller = _principal_id(actor)
    with request.app.state.read_factory() as session:
        for other in links.list_linked(session, principal_id=caller):
            if other.principal_id == principal_id:
                return {"principal_id": other.principal_id, "email": other.email, "me": False}
        if principal_id == caller and links.list_linked(session, principal_id=caller):
            me = identity.get_principal(session, caller)
            assert me is not None
            return {"principal_id": caller, "email": me.email, "me": True}
    raise LinkNotFound()


@router.get(UNLINK, response_class=HTMLResponse)
def unlink_page(request: Request, actor: SessionActor, account: AccountQuery = "") -> Response:
    target = _member(request, actor, account)
    _require_fresh(request, actor)
    return form_page(request, "unlink.html", target=target)


@router.post(UNLINK, response_class=HTMLResponse)
def begin_unlink(request: Request, actor: SessionActor, account: IdField = "") -> Response:
    """E-mails you an 8-digit code that confirms the unlink (step-up first)."""
    with request.app.state.factory() as session:
        try:
            links.begin_unlink(
                session,
                auth=_row(session, actor),
                principal_id=account,
                **mailing_call_of(request, lang=page_language(request)),
            )
        except ReauthRequired:
            # back to this account's unlink page after the step-up, not to a bare POST address
            raise Redirect(step_up_url(f"{UNLINK}?account={quote(account)}")) from None
        session.commit()
    return redirect(UNLINK_CONFIRM)


def _own_email(request: Request, actor: Actor) -> str:
    with request.app.state.read_factory() as session:
        me = identity.get_principal(session, _principal_id(actor))
        return me.email if me is not None else ""


@router.get(UNLINK_CONFIRM, response_class=HTMLResponse)
def unlink_confirm_page(request: Request, actor: SessionActor) -> Response:
    return form_page(request, "unlink_confirm.html", email=_own_email(request, actor))


@router.post(UNLINK_CONFIRM, response_class=HTMLResponse)
def unlink(request: Request, actor: SessionActor, code: CodeField = "") -> Response:
    """The e-mailed code detaches the account; the side that gets its own copy of the
    authenticator gets new recovery codes, shown here once."""
    with request.app.state.factory() as session:
        result = access.unlink(
            session,
            auth=_row(session, actor),
            code=code,
            **mailing_call_of(request, lang=page_language(request)),
        )
        session.commit()
        shown = {*result.recovery_codes, *([result.detached] if result.detached else [])}
        emails = {}
        for principal_id in shown:
            principal = identity.get_principal(session, principal_id)
            emails[principal_id] = principal.email if principal is not None else principal_id
        # the page's header lists what the session reaches from now on
        request.state.actor = replace(actor, roles=access.roles_of(session, _principal_id(actor)))
    if result.failure is not None:
        return form_page(
            request,
            "unlink_confirm.html",
            error=result.failure,
            email=_own_email(request, actor),
        )
    return form_page(
        request,
        "unlinked.html",
        detached=emails.get(result.detached or "", ""),
        codes=[
            {"email": emails.get(p, p), "codes": codes}
            for p, codes in result.recovery_codes.items()
        ],
    )
