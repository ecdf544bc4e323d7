"""The one error type of tsunagu.

Every expected failure is a :class:`TsunaguError` with a stable ``code`` (part of the public API:
never rename one), an HTTP status, an English message template that is translated when it is shown,
and ``details`` (field, line, value …). The API renders it as
``{"error": {"code", "message", "details"}}``; the CLI prints the message and exits non-zero.
"""

from __future__ import annotations

from typing import Any

from tsunagu.core.i18n import translate


class TsunaguError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        **params: object,
    ) -> None:
        super().__init__(message)
        self.template = message
        self.params = params
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details: dict[str, Any] = dict(details or {})

    def message(self, lang: str | None = None) -> str:
        return translate(self.template, lang, **self.params)

    def envelope(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "error": {"code": self.code, "message": self.message(lang), "details": self.details}
        }

    def __str__(self) -> str:
        return self.message("en")


class NotFound(TsunaguError):
    status = 404
    code = "not_found"


class Conflict(TsunaguError):
    status = 409
    code = "conflict"


class InvalidInput(TsunaguError):
    status = 422
    code = "invalid_input"


class UsageError(TsunaguError):
    """The caller asked for something that cannot work (bad flag, unreadable file): CLI exit 2."""

    status = 400
    code = "usage_error"
