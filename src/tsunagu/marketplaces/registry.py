"""The region table: which marketplaces tsunagu knows and how each one counts days and money.

JP and US are built in. Others come from the ``[marketplaces.<CODE>]`` tables of the TOML config
file (``TSUNAGU_CONFIG`` or ``./tsunagu.toml``), e.g.::

    [marketplaces.UK]
    marketplace_id = "A1F83G8C2ARO7P"
    currency = "GBP"
    timezone = "Europe/London"
    sales_channel = "Amazon.co.uk"
    region = "EU"
    name = "Amazon.co.uk"

The same file holds each slice's own settings: a slice named ``health`` reads ``[health]`` (every
marketplace) and then ``[health.marketplace.<CODE>]`` (one marketplace) through
:meth:`ConfigFile.section`, and parses them itself (:mod:`tsunagu.health.config`). The region
table knows no slice; the composition root (:mod:`tsunagu.slices`) lists the sections and checks
them when tsunagu starts.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import UnknownCurrencyError, get_currency_precision

from tsunagu.core.errors import NotFound, TsunaguError, UsageError
from tsunagu.core.i18n import N_

#: a slice's frozen settings dataclass
C = TypeVar("C")


@dataclass(frozen=True, eq=False)
class ConfigFile:
    """The TOML config file as read (hashable by identity: one object per file and load)."""

    path: Path | None = None
    document: Mapping[str, object] = field(default_factory=dict)
    codes: frozenset[str] = frozenset()

    def section(self, name: str) -> tuple[Mapping[str, object], Mapping[str, Mapping[str, object]]]:
        """A slice's tables: ``[name]`` without its ``marketplace`` sub-table, and
        ``[name.marketplace.<CODE>]`` by marketplace code. ``invalid_config`` when either is not
        a table or a code names no known marketplace."""
        if self.path is None:
            return {}, {}
        table = self.document.get(name, {})
        if not isinstance(table, dict):
            raise UsageError(
                N_("{path}: [{table}] must be a table"),
                code="invalid_config",
                path=self.path,
                table=name,
            )
        per = table.get("marketplace", {})
        if not isinstance(per, dict):
            raise UsageError(
                N_("{path}: [{table}.marketplace] must be a table"),
                code="invalid_config",
                path=self.path,
                table=name,
            )
        by_code: dict[str, Mapping[str, object]] = {}
        for raw_code, sub in per.items():
            if str(raw_code).upper() not in self.codes or not isinstance(sub, dict):
                raise UsageError(
                    N_("{path}: [{table}.marketplace.{market}] names no known marketplace"),
                    code="invalid_config",
                    path=self.path,
                    table=name,
                    market=raw_code,
                )
            by_code[str(raw_code).upper()] = sub
        return {k: v for k, v in table.items() if k != "marketplace"}, by_code


NO_FILE = ConfigFile()


@dataclass(frozen=True)
class SettingsSection:
    """A slice's section of the config file, as the composition root lists it: ``check`` reads
    it for every marketplace of a registry and raises ``invalid_config`` on a mistake, so a bad
    file stops ``tsunagu`` at start rather than at the first page that needs the value."""

    name: str
    check: Callable[[Registry], object]


def config_error(source: Path, where: str, key: str, reason: str) -> UsageError:
    """``invalid_config`` naming the file, the table and the key (``reason`` is an ``N_``
    message): the one wording of every slice's section."""
    return UsageError(
        N_("{path}: [{table}] {key}: {reason}"),
        code="invalid_config",
        path=source,
        table=where,
        key=key,
        reason=reason,
        details={"table": where, "key": key},
    )


class BadSetting(Exception):
    """A value a slice's section refuses; ``reason`` is an ``N_`` message saying what it
    expects. :class:`MarketplaceSettings` turns it into :func:`config_error`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: one TOML value to a field's value: ``(key, raw, current value, config file)``; raises
#: :class:`BadSetting`
SettingValue = Callable[[str, object, object, Path], object]


@dataclass(frozen=True, eq=False)
class MarketplaceSettings(Generic[C]):
    """A slice's section of the config file as one frozen dataclass per marketplace: the
    defaults, laid over by ``[name]``, then by ``[name.marketplace.<CODE>]``. Keys are the
    dataclass's fields (anything else: ``invalid_config``, "unknown key"); ``value`` checks each
    one. Read once per file and marketplace."""

    name: str
    default: C
    value: SettingValue
    _read: dict[tuple[ConfigFile, str], C] = field(default_factory=dict, repr=False)

    def of(self, marketplace: Marketplace) -> C:
        key = (marketplace.config, marketplace.code)
        found = self._read.get(key)
        if found is None:
            found = self._configured(marketplace.config, marketplace.code)
            self._read[key] = found
        return found

    def _configured(self, file: ConfigFile, code: str) -> C:
        if file.path is None:
            return self.default
        common, per = file.section(self.name)
        base = self.apply(self.default, common, source=file.path, where=self.name)
        where = f"{self.name}.marketplace.{code}"
        return self.apply(base, per.get(code, {}), source=file.path, where=where)

    def apply(self, base: C, table: Mapping[str, object], *, source: Path, where: str) -> C:
        """``base`` with the keys of one TOML table applied (``marketplace`` sub-tables
        excluded)."""
        fields = {f.name for f in dataclasses.fields(base)}  # type: ignore[arg-type]
        changes: dict[str, object] = {}
        for key, raw in table.items():
            if key == "marketplace":
                continue
            if key not in fields:
                raise config_error(source, where, key, N_("unknown key"))
            try:
                changes[key] = self.value(key, raw, getattr(base, key), source)
            except BadSetting as bad:
                raise config_error(source, where, key, bad.reason) from None
        return dataclasses.replace(base, **changes)  # type: ignore[type-var]

    def check(self, registry: Registry) -> None:
        for marketplace in registry.marketplaces:
            self.of(marketplace)

    @property
    def section(self) -> SettingsSection:
        return SettingsSection(name=self.name, check=self.check)


@dataclass(frozen=True)
class Marketplace:
    code: str
    marketplace_id: str
    currency: str
    timezone: str
    sales_channel: str
    region: str
    name: str
    builtin: bool = True
    #: the config file this marketplace was loaded with: slices read their sections from it
    config: ConfigFile = field(default=NO_FILE, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


BUILTIN: tuple[Marketplace, ...] = (
    Marketplace("JP", "A1VC38T7YXB528", "JPY", "Asia/Tokyo", "Amazon.co.jp", "FE", "Amazon.co.jp"),
    Marketplace(
        "US", "ATVPDKIKX0DER", "USD", "America/Los_Angeles", "Amazon.com", "NA", "Amazon.com"
    ),
)

_REQUIRED = ("marketplace_id", "currency", "timezone", "sales_channel", "region")


def _from_config(code: str, table: object, source: Path) -> Marketplace:
    if not isinstance(table, dict):
        raise UsageError(
            N_("{path}: [marketplaces.{market}] must be a table"),
            code="invalid_config",
            path=source,
            market=code,
        )
    missing = [key for key in _REQUIRED if not isinstance(table.get(key), str) or not table[key]]
    if missing:
        raise UsageError(
            N_("{path}: marketplace {market} is missing {fields}"),
            code="invalid_config",
            path=source,
            market=code,
            fields=", ".join(missing),
            details={"marketplace": code, "missing": missing},
        )
    try:
        ZoneInfo(table["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            N_("{path}: marketplace {market} has an unknown time zone {tz}"),
            code="invalid_config",
            path=source,
            market=code,
            tz=table["timezone"],
        ) from exc
    try:
        get_currency_precision(table["currency"].upper())
    except UnknownCurrencyError as exc:
        raise UsageError(
            N_("{path}: marketplace {market} has an unknown currency {currency}"),
            code="invalid_config",
            path=source,
            market=code,
            currency=table["currency"],
        ) from exc
    return Marketplace(
        code=code,
        marketplace_id=table["marketplace_id"],
        currency=table["currency"].upper(),
        timezone=table["timezone"],
        sales_channel=table["sales_channel"],
        region=table["region"],
        name=str(table.get("name") or table["sales_channel"]),
        builtin=False,
    )


@dataclass(frozen=True)
class Registry:
    marketplaces: tuple[Marketplace, ...]

    def get(self, key: str) -> Marketplace | None:
        """Look up by tsunagu code (``JP``) or Amazon marketplace id (``A1VC38T7YXB528``)."""
        wanted = key.strip()
        for mp in self.marketplaces:
            if mp.code == wanted.upper() or mp.marketplace_id == wanted:
                return mp
        return None

    def require(self, key: str, error: type[TsunaguError] = NotFound) -> Marketplace:
        """The marketplace, or ``error`` (NotFound for a path, InvalidInput/UsageError for a
        filter or flag) with code ``unknown_marketplace``."""
        mp = self.get(key)
        if mp is None:
            raise error(
                N_("Unknown marketplace {key}; known: {known}"),
                code="unknown_marketplace",
                key=key,
                known=", ".join(m.code for m in self.marketplaces),
                details={"marketplace": key},
            )
        return mp

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.marketplaces)


def load_registry(config_path: Path | None) -> Registry:
    if config_path is None:
        return Registry(BUILTIN)
    return Registry(_with_config(config_path))


@cache
def _with_config(path: Path) -> tuple[Marketplace, ...]:
    """The built-in and configured marketplaces, each carrying the file for the slices."""
    items = (*BUILTIN, *_load_file(path))
    file = ConfigFile(path=path, document=_read(path), codes=frozenset(m.code for m in items))
    return tuple(dataclasses.replace(m, config=file) for m in items)


@cache
def _read(path: Path) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            N_("Cannot read config file {path}"), code="invalid_config", path=path
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            N_("{path} is not valid TOML: {reason}"), code="invalid_config", path=path, reason=exc
        ) from exc
    return data


@cache
def _load_file(path: Path) -> tuple[Marketplace, ...]:
    data = _read(path)
    tables = data.get("marketplaces", {})
    if not isinstance(tables, dict):
        raise UsageError(
            N_("{path}: [marketplaces] must be a table"), code="invalid_config", path=path
        )
    taken = {m.code for m in BUILTIN} | {m.marketplace_id for m in BUILTIN}
    result = []
    for raw_code, table in tables.items():
        code = str(raw_code).upper()
        mp = _from_config(code, table, path)
        if code in taken or mp.marketplace_id in taken:
            raise UsageError(
                N_("{path}: marketplace {market} is already defined"),
                code="invalid_config",
                path=path,
                market=code,
            )
        taken |= {code, mp.marketplace_id}
        result.append(mp)
    return tuple(result)
