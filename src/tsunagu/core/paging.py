"""Opaque cursors for keyset paging: the client passes back what it was given.

Every list that pages does it the same way: it asks its repo for one row more than the page
(``limit + 1``), :func:`next_page` cuts the page and makes the cursor from the last row's sort
key, and :func:`read_cursor` turns a cursor back into that key, each part read by the parser the
list names (:func:`text`, :func:`instant`, :func:`day`).

Anything else is ``invalid_cursor`` (422): a string that is not one, a list of the wrong size, a
part its parser refuses, or parts holding a control character (API-10: a forged cursor must not
carry a NUL to PostgreSQL). A bare id is not a cursor either.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson

from tsunagu.core.errors import InvalidInput
from tsunagu.core.i18n import N_
from tsunagu.core.text import control_character
from tsunagu.core.timeutil import format_instant, parse_instant

Row = TypeVar("Row")
#: reads one part of a cursor; ``ValueError`` when the part is not what the list wrote
Part = Callable[[str], Any]

_DAY = re.compile(r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


def invalid_cursor() -> InvalidInput:
    return InvalidInput(
        N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
    )


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise invalid_cursor() from exc
    if (
        not isinstance(parts, list)
        or len(parts) != size
        or not all(isinstance(p, str) and control_character(p) is None for p in parts)
    ):
        raise invalid_cursor()
    return parts


def text(value: str) -> str:
    """A part kept as written (an id, a marketplace code)."""
    return value


def instant(value: str) -> datetime:
    """A part written by :func:`tsunagu.core.timeutil.format_instant`."""
    return parse_instant(value)


def day(value: str) -> str:
    """A day YYYY-MM-DD in the years 1970–2999, kept as text."""
    if not _DAY.fullmatch(value):
        raise ValueError("not a day")
    return value


def read_cursor(cursor: str | None, *parts: Part) -> tuple[Any, ...] | None:
    """The sort key a cursor carries, one value per parser; ``None`` without a cursor."""
    if not cursor:
        return None
    found = decode_cursor(cursor, len(parts))
    try:
        return tuple(read(value) for read, value in zip(parts, found, strict=True))
    except ValueError as exc:
        raise invalid_cursor() from exc


def next_page(
    rows: Sequence[Row], limit: int, key: Callable[[Row], Sequence[str | datetime]]
) -> tuple[list[Row], str | None]:
    """The page (the first ``limit`` rows) and the cursor after it, ``None`` on the last page.
    ``rows`` were fetched with ``limit + 1``; ``key`` gives a row's sort key (instants are
    written with :func:`format_instant`)."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    parts = [format_instant(p) if isinstance(p, datetime) else p for p in key(page[-1])]
    return page, encode_cursor(*parts)
