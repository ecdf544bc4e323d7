"""Runtime settings, read once from the environment.

Everything a deployment changes lives here so that tests and the CLI build the same object
instead of reading ``os.environ`` in scattered places.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///tsunagu.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    config_path: Path | None = None
    #: Largest request body the API accepts, in bytes (API-06).
    max_body_bytes: int = 10 * 1024 * 1024
    #: Events written per transaction during imports; a crash loses at most one chunk of work.
    import_chunk_size: int = 5000


def _int_env(name: str, default: int) -> int:
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


def load_settings() -> Settings:
    config = os.environ.get("TSUNAGU_CONFIG")
    config_path: Path | None = Path(config) if config else None
    if config_path is None and Path("tsunagu.toml").is_file():
        config_path = Path("tsunagu.toml")
    return Settings(
        database_url=os.environ.get("TSUNAGU_DATABASE_URL") or DEFAULT_DATABASE_URL,
        config_path=config_path,
        max_body_bytes=_int_env("TSUNAGU_MAX_BODY_BYTES", Settings.max_body_bytes),
        import_chunk_size=_int_env("TSUNAGU_IMPORT_CHUNK_SIZE", Settings.import_chunk_size),
    )
