"""What every page shares: the language, the templates, formatting and the error page.

Pages act for the caller through the API's one access check (:func:`tsunagu.http.deps.
seller_access`); its errors, and every other :class:`TsunaguError`, are rendered by
:class:`PageRoute` as a page in the chosen language instead of the API's JSON envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from tsunagu import __version__
from tsunagu.access.actor import Actor
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, normalise, translate
from tsunagu.identity.errors import ReauthRequired
from tsunagu.identity.service import get_principal
from tsunagu.sellers.service import list_sellers
from tsunagu.web import format as fmt
from tsunagu.web.session import (
    Redirect,
    clear_session_cookies,
    here,
    private,
    redirect,
    step_up_url,
)

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
COOKIE_YEAR = 365 * 86400
UTC_ZONE = ZoneInfo("UTC")
#: the store switcher lists at most this many sellers (an operator reaches every seller)
SWITCHER_LIMIT = 100


def page_language(request: Request) -> str:
    """``?lang=`` first (and remembered in a cookie), then the cookie, then Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen:
        return normalise(chosen)
    return normalise(request.headers.get("accept-language", "en").split(",")[0])


class Formatter:
    """The :mod:`tsunagu.web.format` helpers bound to the page's language, for templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def money(self, amount: int, currency: str) -> str:
        return fmt.money(amount, currency, self.lang)

    def number(self, value: int | float) -> str:
        return fmt.number(value, self.lang)

    def percent(self, rate: float | None) -> str:
        return fmt.percent(rate, self.lang)

    def instant(self, value: datetime | None, zone: ZoneInfo) -> str:
        return fmt.instant(value, zone, self.lang)

    def day(self, value: date | None) -> str:
        return fmt.day(value, self.lang)


def _switch_url(request: Request, lang: str) -> str:
    url = request.url.include_query_params(lang=lang)
    return f"{url.path}?{url.query}"


def signed_in_header(request: Request) -> dict[str, Any] | None:
    """The header of a signed-in page: who is signed in, and the store switcher with every
    seller the session reaches (linked accounts' sellers too) and its stores, the current one
    marked. None on pages nobody is signed in to."""
    actor = getattr(request.state, "actor", None)
    if not isinstance(actor, Actor) or actor.principal_id is None:
        return None
    # a page about one store names it in its path, or (an appeal's page) in ``request.state``
    current_seller = request.path_params.get("seller_id") or getattr(
        request.state, "seller_id", None
    )
    current_store = request.path_params.get("marketplace") or getattr(
        request.state, "marketplace", None
    )
    reachable = actor.sellers
    with request.app.state.read_factory() as session:
        principal = get_principal(session, actor.principal_id)
        sellers = list_sellers(
            session,
            limit=SWITCHER_LIMIT,
            only=None if reachable is None else sorted(reachable),
        )
        stores = {s.id: [st.marketplace for st in s.stores] for s in sellers}
        name = (principal.display_name or principal.email) if principal is not None else ""
        email = principal.email if principal is not None else ""
    if getattr(request.state, "error_page", False):
        current_seller = current_store = None  # an error page is no seller's nor store's page
    current_name = next((s.name for s in sellers if s.id == current_seller), None)
    if current_store not in stores.get(current_seller or "", []):
        current_store = None  # a store the seller does not have is not "current"
    return {
        "name": name,
        "email": email,
        "account": actor.via == "session",
        "operator": actor.roles is not None and actor.roles.operator,
        "current_seller": current_seller if current_name is not None else None,
        "current_name": current_name,
        "current_store": current_store,
        "sellers": [
            {
                "id": s.id,
                "name": s.name,
                "stores": stores.get(s.id, []),
                "current": s.id == current_seller,
            }
            for s in sellers
        ],
    }


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    seller_id: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """The template in the page's language; ``seller_id`` turns on the seller's navigation."""
    lang = page_language(request)

    def t(msgid: str, **params: object) -> str:
        return translate(msgid, lang, **params)

    html = env.get_template(template).render(
        t=t,
        lang=lang,
        f=Formatter(lang),
        version=__version__,
        seller_id=seller_id,
        path=request.url.path,
        switch={code: _switch_url(request, code) for code in ("en", "ja")},
        me=signed_in_header(request),
        utc=UTC_ZONE,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang"):
        response.set_cookie("lang", lang, max_age=COOKIE_YEAR, samesite="lax", httponly=True)
    return response


def error_page(request: Request, status: int, message: str, code: str) -> HTMLResponse:
    seller_id = request.path_params.get("seller_id") if status != 404 else None
    request.state.error_page = True
    return render(
        request,
        "error.html",
        status=status,
        seller_id=seller_id,
        status_code=status,
        message=message,
        code=code,
        title=N_("Not found") if status == 404 else N_("Something is not right"),
    )


class PageRoute(APIRoute):
    """A page route: expected errors become an error page in the page's language; a missing
    sign-in, or a sensitive action without a recent step-up, becomes a redirect to the page
    that fixes it (and back)."""

    def error_answer(
        self, request: Request, status: int, message: str, code: str, **params: Any
    ) -> Response:
        """The error page for an error found before this route runs (the API's middleware asks
        the matched route, so that it needs no page code of its own): ``message`` is a catalog
        template translated into the page's language with ``params``."""
        return error_page(
            request, status, translate(message, page_language(request), **params), code
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Redirect as exc:
                if request.headers.get("hx-request") == "true":
                    # an htmx fragment: the whole page goes (htmx would swap the target in)
                    response: Response = Response(status_code=204)
                    response.headers["HX-Redirect"] = exc.location
                else:
                    response = redirect(exc.location)
                if exc.clear_session:
                    clear_session_cookies(request, response)
                return response
            except ReauthRequired:
                # a sensitive action: confirm it is you, then come back to the page
                return redirect(step_up_url(here(request)))
            except TsunaguError as exc:
                return error_page(
                    request, exc.status, exc.message(page_language(request)), exc.code
                )
            except StarletteHTTPException as exc:
                lang = page_language(request)
                message = translate(N_("The request could not be handled ({status})."), lang)
                return error_page(
                    request, exc.status_code, message.format(status=exc.status_code), "http_error"
                )
            except RequestValidationError:
                lang = page_language(request)
                message = translate(
                    N_("The address or the form has a value that is not valid."), lang
                )
                return error_page(request, 422, message, "validation_error")

        return handler


def failure(request: Request, exc: TsunaguError) -> dict[str, Any]:
    """A service's refusal as a form shows it: the message in the page's language, its stable
    code, and the wait before the next try when there is one."""
    retry = exc.details.get("retry_after")
    return {
        "message": exc.message(page_language(request)),
        "code": exc.code,
        # too_many_attempts says the wait in its own message
        "retry_after": retry if exc.code != "too_many_attempts" else None,
    }


def form_page(
    request: Request,
    template: str,
    *,
    error: TsunaguError | None = None,
    status: int | None = None,
    **context: Any,
) -> HTMLResponse:
    """An account or sign-in form: the error (if any) shown on the form with its status (and
    ``Retry-After``), and headers that keep the page out of caches and frames."""
    response = render(
        request,
        template,
        status=status or (error.status if error is not None else 200),
        error=failure(request, error) if error is not None else None,
        **context,
    )
    if error is not None and isinstance(error.details.get("retry_after"), int):
        response.headers["Retry-After"] = str(error.details["retry_after"])
    return private(response)
