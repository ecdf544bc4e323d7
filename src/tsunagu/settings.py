"""A deployment's settings, read once from the environment.

Everything a deployment changes lives here so that tests and the CLI build the same object
instead of reading ``os.environ`` in scattered places. The module sits above the slices, beside
the composition root (:mod:`tsunagu.slices`): it holds the kernel's keys and each slice's own
section (the identity slice reads its keys itself, :mod:`tsunagu.identity.settings`); only the
entry points import it, so the kernel stays free of slices (ADR 0019).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from tsunagu.core.env import int_env
from tsunagu.core.origins import (
    BadOrigin,
    Network,
    Origin,
    host_name,
    parse_networks,
    public_origin,
)
from tsunagu.identity.rules import PRODUCTION, IdentitySettings
from tsunagu.identity.settings import identity_from_env, seeded

DEFAULT_DATABASE_URL = "sqlite:///tsunagu.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    config_path: Path | None = None
    #: Largest request body the API accepts, in bytes (API-06).
    max_body_bytes: int = 10 * 1024 * 1024
    #: Events written per transaction during imports; a crash loses at most one chunk of work.
    import_chunk_size: int = 5000
    #: Password hashing, throttles, session lifetimes (tests pass cheap hashing here).
    identity: IdentitySettings = field(default_factory=lambda: PRODUCTION)
    #: Session cookies carry ``Secure`` and the ``__Host-`` prefix. ``None`` decides per request:
    #: secure over HTTPS, plain over HTTP (a local ``tsunagu serve`` on 127.0.0.1).
    secure_cookies: bool | None = None
    #: The address users reach tsunagu at (``https://tsunagu.example.com``): links in e-mails
    #: are built from it and cookie-carried writes must come from it (AUTH-17). Never taken
    #: from a request. None: e-mails carry their codes without a link.
    public_url: str | None = None
    #: Host names besides the public URL's and the loopback names that requests may name in
    #: ``Host``; a leading dot allows subdomains. Anything else is refused before routing.
    allowed_hosts: frozenset[str] = frozenset()
    #: Proxy addresses (or CIDR blocks) whose ``X-Forwarded-For``/``-Proto`` are believed
    #: (API-11); empty: forwarded headers are ignored.
    trusted_proxies: tuple[Network, ...] = ()
    #: Where uploaded files are kept (appeal evidence under ``appeals/``):
    #: ``TSUNAGU_FILES_DIR``; None: a ``tsunagu-files`` folder beside the SQLite database file,
    #: or ``./tsunagu-files`` (see :attr:`files_folder`).
    files_dir: Path | None = None

    @cached_property
    def files_folder(self) -> Path:
        """:attr:`files_dir`, or its default for this database."""
        return (
            self.files_dir if self.files_dir is not None else default_files_dir(self.database_url)
        )

    @cached_property
    def origin(self) -> Origin | None:
        """The public URL as an origin (checked when the settings were made)."""
        return public_origin(self.public_url) if self.public_url else None

    @cached_property
    def hosts(self) -> frozenset[str]:
        """Allowed ``Host`` names: the configured ones and the public URL's (loopback names are
        always allowed, see :func:`tsunagu.core.origins.host_allowed`)."""
        origin = self.origin
        return self.allowed_hosts | ({origin.host} if origin else set())

    def link(self, path: str) -> str | None:
        """An absolute link for an e-mail, or None without a public URL (never from a request)."""
        origin = self.origin
        return origin.link(path) if origin else None


def default_files_dir(database_url: str) -> Path:
    """A ``tsunagu-files`` folder beside the SQLite database file; ``./tsunagu-files`` for
    PostgreSQL and in-memory databases."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix):
        name = database_url.removeprefix(prefix).split("?", 1)[0]
        if name and name != ":memory:" and not name.startswith("file:"):
            return Path(name).resolve().parent / "tsunagu-files"
    return Path("tsunagu-files")


def _public_url_env() -> str | None:
    raw = (os.environ.get("TSUNAGU_PUBLIC_URL") or "").strip()
    if not raw:
        return None
    try:
        return public_origin(raw).url
    except BadOrigin as exc:
        raise SystemExit(f"TSUNAGU_PUBLIC_URL {exc}, got {raw!r}") from exc


def _hosts_env() -> frozenset[str]:
    hosts = set()
    for item in (os.environ.get("TSUNAGU_ALLOWED_HOSTS") or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        name = "." + (host_name(item[1:]) or "") if item.startswith(".") else host_name(item)
        if not name or name == ".":
            raise SystemExit(f"TSUNAGU_ALLOWED_HOSTS: {item!r} is not a host name")
        hosts.add(name)
    return frozenset(hosts)


def _proxies_env() -> tuple[Network, ...]:
    try:
        return parse_networks(os.environ.get("TSUNAGU_TRUSTED_PROXIES") or "")
    except BadOrigin as exc:
        raise SystemExit(f"TSUNAGU_TRUSTED_PROXIES: {exc}") from exc


def _bool_env(name: str) -> bool | None:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, got {raw!r}")


def load_settings() -> Settings:
    database_url = os.environ.get("TSUNAGU_DATABASE_URL") or DEFAULT_DATABASE_URL
    config = os.environ.get("TSUNAGU_CONFIG")
    config_path: Path | None = Path(config) if config else None
    if config_path is None and Path("tsunagu.toml").is_file():
        config_path = Path("tsunagu.toml")
    return Settings(
        database_url=database_url,
        config_path=config_path,
        max_body_bytes=int_env("TSUNAGU_MAX_BODY_BYTES", Settings.max_body_bytes),
        import_chunk_size=int_env("TSUNAGU_IMPORT_CHUNK_SIZE", Settings.import_chunk_size),
        secure_cookies=_bool_env("TSUNAGU_SECURE_COOKIES"),
        identity=identity_from_env(database_url),
        public_url=_public_url_env(),
        allowed_hosts=_hosts_env(),
        trusted_proxies=_proxies_env(),
        files_dir=Path(files) if (files := os.environ.get("TSUNAGU_FILES_DIR")) else None,
    )


def with_seed_key(settings: Settings) -> Settings:
    """``settings`` whose identity section has a key to seal TOTP seeds with
    (:func:`tsunagu.identity.settings.with_seed_key`)."""
    identity = seeded(settings.identity, settings.database_url)
    return settings if identity is settings.identity else replace(settings, identity=identity)
