"""Reading settings from environment variables, the same way for the kernel and every slice."""

from __future__ import annotations

import os


def int_env(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name``, ``default`` when unset;
    anything else stops the program with a message naming the variable."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise SystemExit(f"{name} must be positive, got {value}")
    return value
