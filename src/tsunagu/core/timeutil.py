"""Instants: aware UTC in, aware UTC out, one canonical text form."""

from __future__ import annotations

from datetime import UTC, datetime

#: Instants outside these years are refused: no marketplace event is older or that far ahead,
#: and the bounds keep every accepted value printable and comparable on both databases.
MIN_YEAR = 1970
MAX_YEAR = 2999


class InstantError(ValueError):
    """Raised with a short reason the caller turns into an error code."""


def parse_instant(value: object, *, assume_utc: bool = False) -> datetime:
    """Parse ISO-8601 with an offset (``Z`` accepted) into aware UTC.

    A missing offset is an error unless ``assume_utc`` (Amazon's JP reports are in GMT and some
    files drop the offset).
    """
    if not isinstance(value, str):
        raise InstantError("not a string")
    text = value.strip()
    if not text:
        raise InstantError("empty")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InstantError("not ISO-8601") from exc
    if parsed.tzinfo is None:
        if not assume_utc:
            raise InstantError("no UTC offset")
        parsed = parsed.replace(tzinfo=UTC)
    try:
        result = parsed.astimezone(UTC)
    except OverflowError as exc:
        raise InstantError("out of range") from exc
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise InstantError(f"year outside {MIN_YEAR}-{MAX_YEAR}")
    return result


def format_instant(value: datetime) -> str:
    """``2026-10-02T03:04:05Z`` (microseconds only when present); the canonical event form."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"
