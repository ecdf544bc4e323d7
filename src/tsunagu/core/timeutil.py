"""Instants: aware UTC in, aware UTC out, one canonical text form."""

from __future__ import annotations

from datetime import UTC, datetime


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
    return parsed.astimezone(UTC)


def format_instant(value: datetime) -> str:
    """``2026-10-02T03:04:05Z`` (microseconds only when present); the canonical event form."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
