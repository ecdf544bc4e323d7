"""One error envelope for every failure: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
import secrets

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tsunagu.core.errors import TsunaguError
from tsunagu.http.responses import envelope, error_headers, request_language

log = logging.getLogger("tsunagu.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


#: FastAPI's message for a JSON body it cannot decode (not UTF-8, …)
_FASTAPI_BAD_BODY = "There was an error parsing the body"


def install(app: FastAPI) -> None:
    @app.exception_handler(TsunaguError)
    async def _tsunagu(request: Request, exc: TsunaguError) -> JSONResponse:
        return envelope(
            exc.status,
            exc.code,
            exc.message(request_language(request)),
            exc.details,
            headers=error_headers(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "code": str(err.get("type", "invalid")),
                "message": str(err.get("msg", "")),
            }
            for err in exc.errors()
        ]
        return envelope(422, "validation_error", "The request is not valid.", {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 400 and exc.detail == _FASTAPI_BAD_BODY:
            code = "invalid_json"  # the same code as a body tsunagu parses itself
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names the methods of the first route whose path matched; several routes
            # can share a path (GET and POST /v1/sellers), so name them all.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return envelope(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(SQLAlchemyTimeout)
    async def _busy(request: Request, exc: SQLAlchemyTimeout) -> JSONResponse:
        # every database connection stayed busy past the pool's timeout: overload, not a bug
        return envelope(
            503,
            "busy",
            "The server is busy; try again shortly.",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = secrets.token_hex(8)
        log.exception("unhandled error, request_id=%s", request_id)
        return envelope(
            500, "internal_error", "Something went wrong on our side.", {"request_id": request_id}
        )


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route fully matches for this path (routers may nest, so ask each)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, declared or streamed (API-06)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._too_large(scope, send)
                return
        seen = 0
        limit = self.limit

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # handled by the HTTP exception handler like any other 413
                    raise StarletteHTTPException(
                        413, f"The request body is larger than {limit} bytes."
                    )
            return message

        await self.app(scope, limited_receive, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        response = envelope(
            413,
            "payload_too_large",
            f"The request body is larger than {self.limit} bytes.",
            {"limit_bytes": self.limit},
        )
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
