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

Without the table (or with an empty ``allowed_hosts``) no webhook can be created and nothing is
ever sent: a delivery only reaches an address the operator allowed. There is no per-marketplace
table. A bad value is ``invalid_config``, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from functools import cache

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.marketplaces.registry import ConfigFile, Registry, SettingsSection, config_error
from tsunagu.notifications.rules import Allowlist, parse_allow_entry

NAME = "notifications"


@dataclass(frozen=True)
class NotificationsConfig:
    allowed_hosts: Allowlist = field(default_factory=Allowlist)
    max_attempts: int = 8
    first_retry_seconds: int = 60
    max_retry_seconds: int = 3600
    timeout_seconds: int = 10
    max_response_bytes: int = 65536
    batch_size: int = 50

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
    """The installation's notification settings (one for every marketplace)."""
    if not registry.marketplaces:
        return DEFAULT
    return _configured(registry.marketplaces[0].config)


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
