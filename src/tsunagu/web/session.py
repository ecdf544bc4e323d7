"""The dashboard's sign-in state: the session cookie, the gate in front of every page, and the
redirects to the sign-in, code and step-up pages.

The cookie holds the same session token the API hands out (``POST /v1/auth/sign-in``);
:func:`tsunagu.http.deps.current_actor` reads it. It is HttpOnly, SameSite=Lax and path ``/``;
over HTTPS (or with ``Settings(secure_cookies=True)``) it is also Secure and named
``__Host-tsunagu_session``. Whenever the identity service rotates the session (after the second
factor and after step-up) the page sets the new token at once: the old one no longer works.

A page without a usable session answers 303 to ``/sign-in?next=<path>``; ``next`` is honoured
only when it is a path on this site (:func:`safe_next`), so the sign-in page cannot be used to
send someone elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from tsunagu.access.actor import Actor
from tsunagu.http.deps import (
    PLAIN_COOKIE,
    SECURE_COOKIE,
    AuthenticationRequired,
    CrossSiteRequest,
    SessionRequired,
    cookie_is_secure,
    current_actor,
    same_origin,
    session_cookie_name,
)
from tsunagu.identity.errors import ReauthRequired, SecondFactorRequired, SessionInvalid
from tsunagu.identity.models import AuthSession
from tsunagu.identity.rules import require_recent_auth
from tsunagu.settings import Settings

SIGN_IN = "/sign-in"
SIGN_IN_CODE = "/sign-in/code"
STEP_UP = "/account/step-up"
MAX_NEXT = 2000
R = TypeVar("R", bound=Response)


class Redirect(Exception):
    """Raised by a page or a dependency; :class:`tsunagu.web.render.PageRoute` answers 303."""

    def __init__(self, location: str, *, clear_session: bool = False) -> None:
        super().__init__(location)
        self.location = location
        self.clear_session = clear_session


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site (``/…``), else ``default``.

    Refused: absolute URLs (``https://…``), scheme-relative ones (``//host``, ``/\\host``, which
    browsers read as ``//host``), any scheme (``javascript:``) and control characters.
    """
    if not value or len(value) > MAX_NEXT:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def here(request: Request) -> str:
    """This request's path and query, as a ``next`` value."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def with_next(path: str, next_path: str) -> str:
    if next_path in ("", "/"):
        return path
    return f"{path}?next={quote(next_path, safe='/')}"


def sign_in_url(request: Request) -> str:
    return with_next(SIGN_IN, here(request))


def step_up_url(next_path: str) -> str:
    return with_next(STEP_UP, safe_next(next_path))


def session_token(request: Request) -> str | None:
    """The session token from the cookie (the dashboard never reads a bearer header here)."""
    for name in (SECURE_COOKIE, PLAIN_COOKIE):
        value = request.cookies.get(name, "")
        if value:
            return value[:200]
    return None


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    secure = cookie_is_secure(request)
    response.set_cookie(
        session_cookie_name(request),
        token,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    other = PLAIN_COOKIE if secure else SECURE_COOKIE
    if other in request.cookies:
        _delete(response, other)


def clear_session_cookies(request: Request, response: Response) -> None:
    _delete(response, session_cookie_name(request))
    for name in (SECURE_COOKIE, PLAIN_COOKIE):
        if name in request.cookies and name != session_cookie_name(request):
            _delete(response, name)


def _delete(response: Response, name: str) -> None:
    # a __Host- cookie is only replaced by one that is Secure, path / and host-only as well
    response.delete_cookie(
        name, path="/", secure=name == SECURE_COOKIE, httponly=True, samesite="lax"
    )


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def same_site(request: Request) -> None:
    """A form posted to a page that does not go through :func:`current_actor` (sign-in, the
    code, reset, sign-out) must come from this site as well: ``Origin`` (or ``Referer``) names
    this host (no login CSRF)."""
    if not same_origin(request):
        raise CrossSiteRequest()


def page_actor(request: Request) -> Actor:
    """Every page but the sign-in and reset pages depends on this: the caller, or a redirect to
    sign in (and back), or to the code prompt when the session still waits for its second
    factor."""
    try:
        return current_actor(request)
    except AuthenticationRequired:
        raise Redirect(sign_in_url(request)) from None
    except SessionInvalid:
        raise Redirect(sign_in_url(request), clear_session=True) from None
    except SecondFactorRequired:
        raise Redirect(with_next(SIGN_IN_CODE, here(request))) from None


def session_actor(request: Request) -> Actor:
    """Account pages: a signed-in dashboard session (an API token cannot manage an account)."""
    actor = page_actor(request)
    if actor.via != "session" or actor.principal_id is None or actor.session_id is None:
        raise SessionRequired()
    return actor


def is_fresh(row: AuthSession, now: datetime, settings: Settings) -> bool:
    """Whether the session stepped up recently enough for a sensitive action (AUTH-12)."""
    try:
        require_recent_auth(row, now, settings.identity.recent_auth)
    except ReauthRequired:
        return False
    return True


def private(response: R) -> R:
    """Headers for answers with account data or secrets, redirects that set a session cookie
    included: never cached, and the address (which may carry a reset token) not sent to other
    sites. Every HTML page also gets the framing and script policy (``api/guard.py``)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response
