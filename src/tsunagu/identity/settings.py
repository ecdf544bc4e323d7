"""The identity slice's own settings from the environment: session lifetimes, the longest
API-token lifetime and the key that seals TOTP seeds. :mod:`tsunagu.settings` puts them in the
deployment's settings; nothing else reads these variables."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tsunagu.core.env import int_env
from tsunagu.identity.rules import PRODUCTION, IdentitySettings
from tsunagu.identity.sealing import BadKey, SecretKeyRequired, SeedKey, parse_key


def seed_key_from_env(database_url: str) -> SeedKey | None:
    """The key that seals TOTP seeds: ``TSUNAGU_SECRET_KEY`` (base64url, 32 bytes), else the
    file ``TSUNAGU_SECRET_KEY_FILE``, else for a SQLite file ``<database>.key`` beside it (made
    on first use). A server database without either keeps seeds in clear (the README says to set
    one)."""
    text = os.environ.get("TSUNAGU_SECRET_KEY", "").strip()
    if text:
        try:
            return SeedKey(raw=parse_key(text))
        except BadKey as exc:
            raise SystemExit(f"TSUNAGU_SECRET_KEY must be 32 bytes in base64url: {exc}") from exc
    file = os.environ.get("TSUNAGU_SECRET_KEY_FILE", "").strip()
    if file:
        return SeedKey(path=Path(file))
    return _sqlite_key(database_url)


def seeded(identity: IdentitySettings, database_url: str) -> IdentitySettings:
    """``identity`` with a key that seals TOTP seeds, or :class:`SecretKeyRequired`: a SQLite
    file gets its ``<database>.key`` when none was given; a server database without a key would
    store seeds in clear, so the application refuses to start on it (issue 11, item 12)."""
    if identity.seed_key is not None:
        return identity
    derived = _sqlite_key(database_url)
    if derived is None:
        raise SecretKeyRequired()
    return replace(identity, seed_key=derived)


def _sqlite_key(database_url: str) -> SeedKey | None:
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SeedKey(path=Path(f"{url.database}.key"))
    return None


def identity_from_env(database_url: str) -> IdentitySettings:
    """Session lifetimes (AUTH-15), the longest API-token lifetime (AUTH-18) and the seed key
    from the environment; everything else keeps its default."""
    sessions = PRODUCTION.sessions
    idle = int_env("TSUNAGU_SESSION_IDLE_MINUTES", int(sessions.idle.total_seconds() // 60))
    absolute = int_env(
        "TSUNAGU_SESSION_ABSOLUTE_HOURS", int(sessions.absolute.total_seconds() // 3600)
    )
    if idle > absolute * 60:
        raise SystemExit(
            "TSUNAGU_SESSION_IDLE_MINUTES must not be longer than TSUNAGU_SESSION_ABSOLUTE_HOURS"
        )
    token_days = int_env(
        "TSUNAGU_TOKEN_MAX_DAYS", int(PRODUCTION.token_max_lifetime.total_seconds() // 86400)
    )
    return replace(
        PRODUCTION,
        seed_key=seed_key_from_env(database_url),
        token_max_lifetime=timedelta(days=token_days),
        sessions=replace(
            sessions, idle=timedelta(minutes=idle), absolute=timedelta(hours=absolute)
        ),
    )
