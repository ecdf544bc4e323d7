"""The error envelope every HTTP failure has, ``{"error": {"code", "message", "details"}}``, and
the helpers routes use to document it; shared by the API, the slices' routes and the pages."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import normalise


class ErrorBody(BaseModel):
    code: str = Field(
        description="A stable error code (README, Error codes); never renamed.",
        examples=["seller_not_found"],
    )
    message: str = Field(
        description="What went wrong, in the language of `Accept-Language` (en or ja).",
        examples=["No seller with id sel_nope"],
    )
    details: dict[str, Any] = Field(
        description="Facts about the error: the field, the value, the limit …; "
        "`errors` lists `{field, code, message}` for `validation_error`.",
        examples=[{"seller_id": "sel_nope"}],
    )


class ErrorEnvelope(BaseModel):
    """Every failure has this shape, whatever the route."""

    error: ErrorBody


#: what a status means when a route does not say more
_DEFAULT_DESCRIPTIONS = {
    400: "The request cannot work as given.",
    404: "Not found.",
    413: "The body is larger than the limit (`payload_too_large`).",
    422: "A parameter or body field is invalid (`validation_error`).",
    503: "Not available right now.",
}


def documented(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each error status with the envelope schema.

    ``documented(422, e404="No such seller.")`` documents 422 with its default text and 404 with
    the text given (keys are ``e`` and the status).
    """
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        found[status] = {"model": ErrorEnvelope, "description": _DEFAULT_DESCRIPTIONS[status]}
    for key, text in described.items():
        found[int(key.removeprefix("e"))] = {"model": ErrorEnvelope, "description": text}
    return found


def request_language(request: Request) -> str:
    return normalise(request.headers.get("accept-language", "en").split(",")[0])


def envelope(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or {}}},
        status_code=status,
        headers=headers,
    )


def error_headers(exc: TsunaguError) -> dict[str, str] | None:
    """HTTP headers an error implies: ``WWW-Authenticate`` on 401 (RFC 6750), ``Retry-After``
    when the error carries a back-off."""
    headers: dict[str, str] = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tsunagu"'
    retry = exc.details.get("retry_after")
    if isinstance(retry, int) and retry > 0:
        headers["Retry-After"] = str(retry)
    return headers or None


def json_answer(content: Any, *, status_code: int = 200) -> Response:
    """``content`` (plain dicts, lists, strings, numbers, dates and aware instants) serialised
    once, by orjson, into the bytes FastAPI would have sent for the same values through the
    route's response model: compact, UTF-8, dates ``YYYY-MM-DD`` and UTC instants ending in
    ``Z``. For hot routes whose answer is built as a plain dict; the route still names its
    ``response_model`` so that the API description documents the shape."""
    return Response(
        orjson.dumps(content, option=orjson.OPT_UTC_Z),
        status_code=status_code,
        media_type="application/json",
    )
