"""What every page shares: the language, the templates, formatting and the error page.

Pages act for the caller through the API's one access check (:func:`tsunagu.api.deps.
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
from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_, normalise, translate
from tsunagu.web import format as fmt

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)
COOKIE_YEAR = 365 * 86400


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
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang"):
        response.set_cookie("lang", lang, max_age=COOKIE_YEAR, samesite="lax", httponly=True)
    return response


def error_page(request: Request, status: int, message: str, code: str) -> HTMLResponse:
    seller_id = request.path_params.get("seller_id") if status != 404 else None
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
    """A page route: expected errors become an error page in the page's language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
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
