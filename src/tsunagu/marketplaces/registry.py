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

The same file's ``[health]`` tables set health windows, targets, the AHR profile and alert margins,
for every marketplace and per marketplace (see :mod:`tsunagu.health.config`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import UnknownCurrencyError, get_currency_precision

from tsunagu.core.errors import NotFound, TsunaguError, UsageError
from tsunagu.core.i18n import N_
from tsunagu.health.config import DEFAULT as DEFAULT_HEALTH
from tsunagu.health.config import HealthConfig, apply


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
    #: metric windows and targets, AHR model and alert margins for this marketplace
    health: HealthConfig = field(default=DEFAULT_HEALTH, compare=False)

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
    items = list(BUILTIN)
    if config_path is None:
        return Registry(tuple(items))
    items.extend(_load_file(config_path))
    return Registry(_with_health(tuple(items), config_path))


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
def _with_health(items: tuple[Marketplace, ...], path: Path) -> tuple[Marketplace, ...]:
    """Each marketplace with ``[health]`` and then ``[health.marketplace.<CODE>]`` applied."""
    table = _read(path).get("health", {})
    if not isinstance(table, dict):
        raise UsageError(N_("{path}: [health] must be a table"), code="invalid_config", path=path)
    common = apply(DEFAULT_HEALTH, table, source=path, where="health")
    per = table.get("marketplace", {})
    if not isinstance(per, dict):
        raise UsageError(
            N_("{path}: [health.marketplace] must be a table"), code="invalid_config", path=path
        )
    codes = {m.code for m in items}
    for raw_code, sub in per.items():
        if str(raw_code).upper() not in codes or not isinstance(sub, dict):
            raise UsageError(
                N_("{path}: [health.marketplace.{market}] names no known marketplace"),
                code="invalid_config",
                path=path,
                market=raw_code,
            )
    by_code = {str(k).upper(): v for k, v in per.items()}
    return tuple(
        dataclasses.replace(
            m,
            health=apply(
                common,
                by_code.get(m.code, {}),
                source=path,
                where=f"health.marketplace.{m.code}",
            ),
        )
        for m in items
    )


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
