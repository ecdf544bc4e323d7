"""API-10 at the door: no path holding a character that is not printable reaches a route.

Every segment of a tsunagu path is an identifier (a seller id, a marketplace, an order id, an
import, job, session or token id, a static file's name), so it must be printable
(:func:`tsunagu.core.text.is_printable`: no control or invisible character). One check here, on
the decoded path, instead of one per route: PostgreSQL refuses NUL in text, so
``/v1/sellers/x/orders/JP/50%003`` used to end in a 500. Query parameters are checked where they
are read (a cursor by :func:`tsunagu.core.paging.decode_cursor`, a file name by
:func:`tsunagu.core.uploads.file_label`).

The answer is 422 ``invalid_value`` whose ``details.field`` names the path parameter (found by
matching the application's routes) or says ``path`` when no route matches. ``/v1`` gets the JSON
envelope; a dashboard page gets the error page in the page's language.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tsunagu.core.i18n import N_, translate
from tsunagu.core.text import is_printable
from tsunagu.http.responses import envelope, request_language

_MESSAGE = N_("{field} in the address must hold printable characters only")


class HostileText:
    """ASGI middleware: refuse a request whose path holds what API-10 forbids."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = hostile_part(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        response = _answer(scope, *problem)
        await response(scope, receive, send)


def hostile_part(scope: Scope) -> tuple[str, str] | None:
    """``(field, value)`` of the path parameter API-10 refuses (``path`` and the whole path
    when no route matches), or ``None`` when the path is fine."""
    path = str(scope.get("path", ""))
    if is_printable(path):
        return None
    for name, value in _path_params(scope).items():
        if isinstance(value, str) and not is_printable(value):
            return name, value
    return "path", path


def _matched_route(scope: Scope) -> tuple[Any, dict[str, str]] | None:
    """The first route whose path pattern matches (methods aside) and its path parameters."""
    path = str(scope.get("path", ""))
    for context in iter_route_contexts(getattr(scope.get("app"), "routes", ())):
        pattern = getattr(context, "path_regex", None)
        found = pattern.match(path) if pattern is not None else None
        if found is not None:
            return context.original_route, found.groupdict()
    return None


def _path_params(scope: Scope) -> dict[str, Any]:
    found = _matched_route(scope)
    return found[1] if found is not None else {}


def _page_answer(scope: Scope) -> Any:
    """The matched page route's ``error_answer`` (pages answer errors with a page in their
    language, :class:`tsunagu.web.render.PageRoute`), or None for the API and unknown paths."""
    if str(scope.get("path", "")).startswith("/v1"):
        return None
    found = _matched_route(scope)
    answer = getattr(found[0], "error_answer", None) if found is not None else None
    return answer if callable(answer) else None


def _answer(scope: Scope, field: str, value: str) -> Response:
    # the page is rendered as if for the site's root: the hostile path goes no further
    safe = Request({**scope, "path": "/", "raw_path": b"/", "query_string": b"", "path_params": {}})
    page_answer = _page_answer(scope)
    if page_answer is not None:
        response: Response = page_answer(safe, 422, _MESSAGE, "invalid_value", field=field)
        return response
    message = translate(_MESSAGE, request_language(safe), field=field)
    return envelope(422, "invalid_value", message, {"field": field, "value": value})
