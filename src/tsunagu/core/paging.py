"""Opaque cursors for keyset paging: the client passes back what it was given.

Anything else is ``invalid_cursor`` (422): a string that is not one, a list of the wrong size, or
parts holding a control character (API-10: a forged cursor must not carry a NUL to PostgreSQL).
"""

from __future__ import annotations

import base64

import orjson

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.text import control_character


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(
            N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
        ) from exc
    if (
        not isinstance(parts, list)
        or len(parts) != size
        or not all(isinstance(p, str) and control_character(p) is None for p in parts)
    ):
        raise InvalidInput(
            N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
        )
    return parts
