"""Health configuration per marketplace: metric windows and targets, the AHR model, alert margins.

Defaults are the issue's (Amazon's where it documents them). The TOML config file overrides them,
first for every marketplace, then per marketplace::

    [health]                      # every marketplace
    odr_target = 0.01
    late_shipment_long_window = [30, 0]     # [days, offset in days]
    alert_odr = 0.0075

    [health.severity_points]
    low = 2
    medium = 4
    high = 8

    [health.marketplace.JP]       # JP only; same keys
    profile = "metrics"
    metric_points = 10

Keys are the field names of :class:`~tsunagu.health.metrics.MetricsConfig`,
:class:`~tsunagu.health.rules.AhrConfig`, :class:`AlertConfig` and
:class:`~tsunagu.health.coverage.CoverageConfig` (``snapshot_max_age_days``,
``event_feed_is_complete``: ADR 0033). An unknown key or a value of the
wrong kind is an ``invalid_config`` error that names the file, the table and the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tsunagu.core.i18n import N_
from tsunagu.health.coverage import CoverageConfig
from tsunagu.health.metrics import MetricsConfig, Window
from tsunagu.health.rules import AhrConfig
from tsunagu.marketplaces.registry import (
    ConfigFile,
    Marketplace,
    Registry,
    SettingsSection,
    config_error,
)


@dataclass(frozen=True)
class AlertConfig:
    """When a metric is close enough to its target to warn (issue 4, "Alerts"), and how far ahead
    the forecast is watched for a drop into a lower band."""

    alert_odr: float = 0.0075  # either channel at or above
    alert_late_shipment: float = 0.03  # 30-day window at or above
    alert_cancel: float = 0.02  # at or above
    alert_valid_tracking: float = 0.96  # at or below
    alert_contact_response: float = 0.92  # at or below
    alert_forecast_days: int = 30


@dataclass(frozen=True)
class HealthConfig:
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    ahr: AhrConfig = field(default_factory=AhrConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    coverage: CoverageConfig = field(default_factory=CoverageConfig)


DEFAULT = HealthConfig()


def health_of(marketplace: Marketplace) -> HealthConfig:
    """This marketplace's health settings: the defaults, then ``[health]``, then
    ``[health.marketplace.<CODE>]`` of the config file it was loaded with."""
    return _configured(marketplace.config, marketplace.code)


@cache
def _configured(file: ConfigFile, code: str) -> HealthConfig:
    if file.path is None:
        return DEFAULT
    common, per = file.section("health")
    base = apply(DEFAULT, common, source=file.path, where="health")
    return apply(base, per.get(code, {}), source=file.path, where=f"health.marketplace.{code}")


def _check(registry: Registry) -> None:
    for marketplace in registry.marketplaces:
        health_of(marketplace)


#: the health slice's section of the config file, for the composition root
SECTION = SettingsSection(name="health", check=_check)

_SECTIONS: tuple[tuple[str, type[Any]], ...] = (
    ("metrics", MetricsConfig),
    ("ahr", AhrConfig),
    ("alerts", AlertConfig),
    ("coverage", CoverageConfig),
)
#: every configurable key and the section it belongs to
_FIELDS: dict[str, str] = {
    f.name: section for section, kind in _SECTIONS for f in dataclasses.fields(kind)
}
_PROFILES = ("amazon", "metrics")
_SEVERITIES = ("low", "medium", "high")


def apply(
    base: HealthConfig, table: Mapping[str, Any], *, source: Path, where: str
) -> HealthConfig:
    """``base`` with the keys of one TOML table applied (``marketplace`` sub-tables excluded)."""
    changes: dict[str, dict[str, Any]] = {name: {} for name, _ in _SECTIONS}
    for key, raw in table.items():
        if key == "marketplace":
            continue
        if key not in _FIELDS:
            raise config_error(source, where, key, N_("unknown key"))
        section = _FIELDS[key]
        current = getattr(getattr(base, section), key)
        changes[section][key] = _value(key, raw, current, source=source, where=where)
    return HealthConfig(
        metrics=dataclasses.replace(base.metrics, **changes["metrics"]),
        ahr=dataclasses.replace(base.ahr, **changes["ahr"]),
        alerts=dataclasses.replace(base.alerts, **changes["alerts"]),
        coverage=dataclasses.replace(base.coverage, **changes["coverage"]),
    )


def _value(key: str, raw: object, current: object, *, source: Path, where: str) -> object:
    if isinstance(current, Window):
        ok = (
            isinstance(raw, list)
            and len(raw) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
            and raw[0] >= 1
            and raw[1] >= 0
        )
        if not ok:
            raise config_error(source, where, key, N_("expected [days ≥ 1, offset days ≥ 0]"))
        assert isinstance(raw, list)
        return Window(raw[0], raw[1])
    if key == "profile":
        if raw not in _PROFILES:
            raise config_error(source, where, key, N_('expected "amazon" or "metrics"'))
        return raw
    if key == "severity_points":
        if not isinstance(raw, dict) or set(raw) - set(_SEVERITIES):
            raise config_error(source, where, key, N_("expected a table of low, medium and high"))
        merged = dict(current) if isinstance(current, Mapping) else {}
        for severity, points in raw.items():
            if not isinstance(points, int) or isinstance(points, bool) or points < 0:
                raise config_error(source, where, key, N_("points must be whole numbers ≥ 0"))
            merged[severity] = points
        return merged
    if isinstance(current, bool):
        if not isinstance(raw, bool):
            raise config_error(source, where, key, N_("expected true or false"))
        return raw
    if isinstance(current, int):
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise config_error(source, where, key, N_("expected a whole number ≥ 0"))
        return raw
    if isinstance(current, float):
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not 0 <= raw <= 1:
            raise config_error(source, where, key, N_("expected a fraction from 0 to 1"))
        return float(raw)
    raise config_error(source, where, key, N_("not configurable"))
