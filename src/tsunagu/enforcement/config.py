"""Enforcement thresholds per marketplace (ADR 0024).

Defaults are the issue's (Amazon's where it documents them). The TOML config file overrides them,
first for every marketplace, then per marketplace::

    [enforcement]
    sustained_days = 7
    at_risk_metrics = ["ORDER_DEFECT_RATE", "LATE_SHIPMENT_RATE", "CANCELLATION_RATE",
                       "VALID_TRACKING_RATE"]
    related_accounts = "flag"          # or "deactivate"

    [enforcement.marketplace.US]
    grace_hours = 48

Keys are the fields of :class:`~tsunagu.enforcement.rules.EnforcementConfig`. An unknown key or
a value of the wrong kind is an ``invalid_config`` error naming the file, the table and the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    ORDER_DEFECT_RATE,
    RELATED_MODES,
    VALID_TRACKING_RATE,
    EnforcementConfig,
)
from tsunagu.marketplaces.registry import ConfigFile, Marketplace, Registry, SettingsSection

DEFAULT = EnforcementConfig()
#: the issue codes a metric can raise (the lists ``at_risk_metrics`` and ``sustained_metrics``)
METRIC_CODES = (ORDER_DEFECT_RATE, LATE_SHIPMENT_RATE, CANCELLATION_RATE, VALID_TRACKING_RATE)
_FIELDS = {f.name for f in dataclasses.fields(EnforcementConfig)}


def enforcement_of(marketplace: Marketplace) -> EnforcementConfig:
    """This marketplace's thresholds: the defaults, then ``[enforcement]``, then
    ``[enforcement.marketplace.<CODE>]`` of the config file it was loaded with."""
    return _configured(marketplace.config, marketplace.code)


@cache
def _configured(file: ConfigFile, code: str) -> EnforcementConfig:
    if file.path is None:
        return DEFAULT
    common, per = file.section("enforcement")
    base = apply(DEFAULT, common, source=file.path, where="enforcement")
    return apply(base, per.get(code, {}), source=file.path, where=f"enforcement.marketplace.{code}")


def _check(registry: Registry) -> None:
    for marketplace in registry.marketplaces:
        enforcement_of(marketplace)


#: the enforcement slice's section of the config file, for the composition root
SECTION = SettingsSection(name="enforcement", check=_check)


def apply(
    base: EnforcementConfig, table: Mapping[str, Any], *, source: Path, where: str
) -> EnforcementConfig:
    """``base`` with the keys of one TOML table applied (``marketplace`` sub-tables excluded)."""
    changes: dict[str, Any] = {}
    for key, raw in table.items():
        if key == "marketplace":
            continue
        if key not in _FIELDS:
            raise _invalid(source, where, key, N_("unknown key"))
        changes[key] = _value(key, raw, getattr(base, key), source=source, where=where)
    return dataclasses.replace(base, **changes)


def _value(key: str, raw: object, current: object, *, source: Path, where: str) -> object:
    if key == "related_accounts":
        if raw not in RELATED_MODES:
            raise _invalid(source, where, key, N_('expected "deactivate" or "flag"'))
        return raw
    if isinstance(current, tuple):
        if not isinstance(raw, list) or any(code not in METRIC_CODES for code in raw):
            raise _invalid(source, where, key, N_("expected a list of metric issue codes"))
        return tuple(dict.fromkeys(raw))
    if isinstance(current, int):
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise _invalid(source, where, key, N_("expected a whole number ≥ 0"))
        return raw
    raise _invalid(source, where, key, N_("not configurable"))  # pragma: no cover


def _invalid(source: Path, where: str, key: str, reason: str) -> UsageError:
    return UsageError(
        N_("{path}: [{table}] {key}: {reason}"),
        code="invalid_config",
        path=source,
        table=where,
        key=key,
        reason=reason,
        details={"table": where, "key": key},
    )
