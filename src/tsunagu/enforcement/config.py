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

from pathlib import Path

from tsunagu.core.i18n import N_
from tsunagu.enforcement.rules import (
    CANCELLATION_RATE,
    LATE_SHIPMENT_RATE,
    ORDER_DEFECT_RATE,
    RELATED_MODES,
    VALID_TRACKING_RATE,
    EnforcementConfig,
)
from tsunagu.marketplaces.registry import BadSetting, Marketplace, MarketplaceSettings

DEFAULT = EnforcementConfig()
#: the issue codes a metric can raise (the lists ``at_risk_metrics`` and ``sustained_metrics``)
METRIC_CODES = (ORDER_DEFECT_RATE, LATE_SHIPMENT_RATE, CANCELLATION_RATE, VALID_TRACKING_RATE)


def _value(key: str, raw: object, current: object, source: Path) -> object:
    if key == "related_accounts":
        if raw not in RELATED_MODES:
            raise BadSetting(N_('expected "deactivate" or "flag"'))
        return raw
    if isinstance(current, tuple):
        if not isinstance(raw, list) or any(code not in METRIC_CODES for code in raw):
            raise BadSetting(N_("expected a list of metric issue codes"))
        return tuple(dict.fromkeys(raw))
    if isinstance(current, int):
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
            raise BadSetting(N_("expected a whole number ≥ 0"))
        return raw
    raise BadSetting(N_("not configurable"))  # pragma: no cover


SETTINGS = MarketplaceSettings("enforcement", DEFAULT, _value)
#: the enforcement slice's section of the config file, for the composition root
SECTION = SETTINGS.section


def enforcement_of(marketplace: Marketplace) -> EnforcementConfig:
    """This marketplace's thresholds: the defaults, then ``[enforcement]``, then
    ``[enforcement.marketplace.<CODE>]`` of the config file it was loaded with."""
    return SETTINGS.of(marketplace)
