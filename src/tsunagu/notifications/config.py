"""The ``[notifications]`` table of the config file (ADR 0027)::

    [notifications]
    # where deliveries may go: HOST, HOST:PORT, http://HOST:PORT (plain http), ADDR/BITS
    allowed_hosts = ["hooks.example.com", "http://127.0.0.1:8765", "10.20.0.0/16"]
    max_attempts = 8            # attempts per delivery before it is failed
    first_retry_seconds = 60    # the wait after the first failure, doubled after each one
    max_retry_seconds = 3600    # the longest wait between attempts (plus up to 20 % jitter)
    timeout_seconds = 10        # per attempt: connecting, sending, reading the answer
    max_response_bytes = 65536  # at most this much of an answer is read
    batch_size = 50             # deliveries per run of the job

    [notifications.email]       # e-mail over SMTP (ADR 0034); without it e-mails stay in the outbox
    host = "smtp.example.com"
    port = 587                  # default: 587 for starttls, 465 for tls, 25 for none
    security = "starttls"       # starttls | tls | none
    username = "tsunagu"        # optional: AUTH only when a username is set
    password = "…"              # better: the TSUNAGU_SMTP_PASSWORD environment variable
    from_address = "tsunagu@example.com"
    ca_file = "/etc/ssl/private-ca.pem"  # optional: another authority to trust
    timeout_seconds = 10        # per connection: connecting, each command, each answer
    max_attempts = 5            # attempts per e-mail before it is failed
    max_age_hours = 24          # e-mails queued longer ago are not sent (codes expire anyway)
    digest = true               # the daily alert digest (``health.digest`` job)

Every key of ``[notifications.email]`` may also come from the environment, which wins:
``TSUNAGU_SMTP_HOST``, ``TSUNAGU_SMTP_PORT``, ``TSUNAGU_SMTP_SECURITY``, ``TSUNAGU_SMTP_USERNAME``,
``TSUNAGU_SMTP_PASSWORD``, ``TSUNAGU_SMTP_FROM``, ``TSUNAGU_SMTP_CA_FILE``. The password is never logged or printed.

Without the table (or with an empty ``allowed_hosts``) no webhook can be created and nothing is
ever sent: a delivery only reaches an address the operator allowed. There is no per-marketplace
table. A bad value is ``invalid_config``, naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from functools import cache
from typing import Literal

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import ConfigFile, Registry, SettingsSection, config_error
from tsunagu.notifications.rules import Allowlist, parse_allow_entry

NAME = "notifications"


Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "tls": 465, "none": 25}


@dataclass(frozen=True)
class EmailConfig:
    """Where e-mails go. ``host`` None: nothing is sent over SMTP (the outbox keeps them)."""

    host: str | None = None
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    #: never logged, never printed, not in the repr
    password: str | None = field(default=None, repr=False)
    from_address: str = "tsunagu@localhost"
    #: extra certificate authorities (PEM) the server's certificate may chain to
    ca_file: str | None = None
    timeout_seconds: int = 10
    max_attempts: int = 5
    max_age_hours: int = 24
    digest: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


#: environment variable → key of ``[notifications.email]``
EMAIL_ENV = {
    "TSUNAGU_SMTP_HOST": "host",
    "TSUNAGU_SMTP_PORT": "port",
    "TSUNAGU_SMTP_SECURITY": "security",
    "TSUNAGU_SMTP_USERNAME": "username",
    "TSUNAGU_SMTP_PASSWORD": "password",
    "TSUNAGU_SMTP_FROM": "from_address",
    "TSUNAGU_SMTP_CA_FILE": "ca_file",
}

_EMAIL_TEXT = ("host", "username", "password", "from_address", "ca_file")
_EMAIL_NUMBERS = {"port": 1, "timeout_seconds": 1, "max_attempts": 1, "max_age_hours": 1}


@dataclass(frozen=True)
class NotificationsConfig:
    allowed_hosts: Allowlist = field(default_factory=Allowlist)
    max_attempts: int = 8
    first_retry_seconds: int = 60
    max_retry_seconds: int = 3600
    timeout_seconds: int = 10
    max_response_bytes: int = 65536
    batch_size: int = 50
    email: EmailConfig = field(default_factory=EmailConfig)

    @property
    def first_retry(self) -> timedelta:
        return timedelta(seconds=self.first_retry_seconds)

    @property
    def max_retry(self) -> timedelta:
        return timedelta(seconds=self.max_retry_seconds)


DEFAULT = NotificationsConfig()

#: the smallest value each whole-number key accepts
_MINIMUM = {
    "max_attempts": 1,
    "first_retry_seconds": 1,
    "max_retry_seconds": 1,
    "timeout_seconds": 1,
    "max_response_bytes": 1024,
    "batch_size": 1,
}


def notifications_of(registry: Registry) -> NotificationsConfig:
    """The installation's notification settings (one for every marketplace), with the e-mail
    keys the environment sets (see :func:`email_from_env`)."""
    base = DEFAULT if not registry.marketplaces else _configured(registry.marketplaces[0].config)
    email = email_from_env(base.email, os.environ)
    return base if email == base.email else replace(base, email=email)


def email_from_env(base: EmailConfig, environ: Mapping[str, str]) -> EmailConfig:
    """``base`` with the ``TSUNAGU_SMTP_*`` variables that are set; a bad value stops with an
    ``invalid_config`` error naming the variable (never its value for the password)."""
    table: dict[str, object] = {}
    for name, key in EMAIL_ENV.items():
        raw = (environ.get(name) or "").strip()
        if not raw:
            continue
        if key == "port":
            if not raw.isdigit():
                raise UsageError(
                    N_("{variable} must be a whole number"),
                    code="invalid_config",
                    variable=name,
                )
            table[key] = int(raw)
        else:
            table[key] = raw
    if not table:
        return base
    problem = _email_problem(table)
    if problem is not None:
        key, reason = problem
        variable = next(n for n, k in EMAIL_ENV.items() if k == key)
        raise UsageError(
            N_("{variable}: {reason}"), code="invalid_config", variable=variable, reason=reason
        )
    return replace(base, **table)  # type: ignore[arg-type]


def _email_problem(table: Mapping[str, object]) -> tuple[str, str] | None:
    """The first bad key of an e-mail table and why, or None."""
    known = {f.name for f in fields(EmailConfig)}
    for key, raw in table.items():
        if key not in known:
            return key, N_("unknown key")
        if key in _EMAIL_TEXT:
            if not isinstance(raw, str) or not raw.strip():
                return key, N_("expected a non-empty string")
            if key == "from_address" and "@" not in raw:
                return key, N_("expected an e-mail address")
        elif key == "security":
            if raw not in SECURITIES:
                return key, N_("expected starttls, tls or none")
        elif key == "digest":
            if not isinstance(raw, bool):
                return key, N_("expected true or false")
        elif (
            not isinstance(raw, int)
            or isinstance(raw, bool)
            or raw < _EMAIL_NUMBERS[key]
            or (key == "port" and raw > 65535)
        ):
            return key, N_("expected a whole number ≥ 1")
    return None


@cache
def _configured(file: ConfigFile) -> NotificationsConfig:
    if file.path is None:
        return DEFAULT
    common, per = file.section(NAME)
    if per:
        raise _invalid(file, "marketplace", N_("notifications are not set per marketplace"))
    return apply(DEFAULT, common, file)


def apply(
    base: NotificationsConfig, table: Mapping[str, object], file: ConfigFile
) -> NotificationsConfig:
    known = {f.name for f in fields(NotificationsConfig)}
    changes: dict[str, object] = {}
    for key, raw in table.items():
        if key not in known:
            raise _invalid(file, key, N_("unknown key"))
        if key == "allowed_hosts":
            changes[key] = _allowlist(file, raw)
            continue
        if key == "email":
            if not isinstance(raw, dict):
                raise _invalid(file, key, N_("expected a table"))
            problem = _email_problem(raw)
            if problem is not None:
                assert file.path is not None
                raise config_error(file.path, f"{NAME}.email", problem[0], problem[1])
            changes[key] = replace(base.email, **raw)
            continue
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < _MINIMUM[key]:
            raise _invalid(file, key, f"expected a whole number ≥ {_MINIMUM[key]}")
        changes[key] = raw
    return replace(base, **changes)  # type: ignore[arg-type]


def _allowlist(file: ConfigFile, raw: object) -> Allowlist:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise _invalid(file, "allowed_hosts", N_("expected a list of strings"))
    entries = []
    for item in raw:
        try:
            entries.append(parse_allow_entry(item))
        except ValueError as exc:
            raise _invalid(file, "allowed_hosts", f"{item!r}: {exc}") from None
    return Allowlist(tuple(entries))


def _invalid(file: ConfigFile, key: str, reason: str) -> UsageError:
    assert file.path is not None  # only a file has keys to refuse
    return config_error(file.path, NAME, key, reason)


def _check(registry: Registry) -> None:
    notifications_of(registry)


#: the notifications slice's section of the config file, for the composition root
SECTION = SettingsSection(name=NAME, check=_check)
