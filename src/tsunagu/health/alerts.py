"""Health alerts (issue 4, "Alerts"): which warning conditions hold for a store on a day.

Pure: no database, no clock. The service (``health/alert_service.py``) feeds in one day's metric
rates and rating, the previous day's band and the forecast, and records each condition once, when
it starts; this module only says which conditions hold and whether an alert already raised still
does (ADR 0010).

Three kinds of condition:

* ``metric_margin`` — a metric is within the configured margin of its target, or past it. The
  comparisons are inclusive: an ODR of exactly 0.75 % alerts, a valid tracking rate of exactly
  96 % alerts. A metric with no rate (nothing measurable) raises nothing. Subject: the metric name.
* ``band_drop`` — the rating's band on the day is lower than on the previous day. Subject: the
  band entered.
* ``band_forecast`` — if nothing new happens, the rating enters a band lower than the day's within
  ``alert_forecast_days`` days. Subject: the first lower band entered; details name its first day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from tsunagu.health.config import AlertConfig

AlertKind = Literal["metric_margin", "band_drop", "band_forecast"]
KINDS: tuple[AlertKind, ...] = ("metric_margin", "band_drop", "band_forecast")

#: best first; a band is "lower" than another when it comes later here
BANDS = ("healthy", "at_risk", "unhealthy")

Comparison = Literal[">=", "<="]


@dataclass(frozen=True)
class MarginRule:
    """``metric`` alerts when its rate compares with the configured threshold as ``comparison``."""

    metric: str
    config_key: str
    comparison: Comparison


#: The watched metrics, in display order: the names are those of ``health.metrics.evaluate``.
MARGIN_RULES: tuple[MarginRule, ...] = (
    MarginRule("order_defect_rate_mfn", "alert_odr", ">="),
    MarginRule("order_defect_rate_afn", "alert_odr", ">="),
    MarginRule("late_shipment_rate_30", "alert_late_shipment", ">="),
    MarginRule("pre_fulfillment_cancel_rate", "alert_cancel", ">="),
    MarginRule("valid_tracking_rate", "alert_valid_tracking", "<="),
    MarginRule("contact_response", "alert_contact_response", "<="),
)


@dataclass(frozen=True)
class ForecastDay:
    day: date
    score: int
    band: str


@dataclass(frozen=True)
class AlertInput:
    """What the rules look at for one store on ``day``."""

    day: date
    #: metric name → rate (a fraction), ``None`` when nothing is measurable
    rates: Mapping[str, float | None]
    score: int
    band: str
    #: the band the day before (``None``: unknown, no drop can be seen)
    previous_band: str | None = None
    previous_score: int | None = None
    #: the rating on the following days if nothing new happens, in day order
    forecast: Sequence[ForecastDay] = ()


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.subject)


def band_rank(band: str) -> int:
    """0 for healthy, 1 for at risk, 2 for unhealthy; an unknown band ranks as healthy."""
    return BANDS.index(band) if band in BANDS else 0


def lower(band: str, than: str) -> bool:
    """``band`` is worse than ``than``."""
    return band_rank(band) > band_rank(than)


def _margin(rule: MarginRule, rate: float, threshold: float) -> bool:
    return rate >= threshold if rule.comparison == ">=" else rate <= threshold


def metric_conditions(rates: Mapping[str, float | None], config: AlertConfig) -> list[Condition]:
    """One ``metric_margin`` condition per watched metric at or past its alert threshold."""
    found = []
    for rule in MARGIN_RULES:
        rate = rates.get(rule.metric)
        if rate is None:
            continue
        threshold = float(getattr(config, rule.config_key))
        if _margin(rule, rate, threshold):
            found.append(
                Condition(
                    "metric_margin",
                    rule.metric,
                    {
                        "metric": rule.metric,
                        "value": rate,
                        "threshold": threshold,
                        "comparison": rule.comparison,
                    },
                )
            )
    return found


def band_conditions(inp: AlertInput, config: AlertConfig) -> list[Condition]:
    """``band_drop`` when the day's band is lower than the previous day's; ``band_forecast`` when
    the forecast enters a lower band than the day's within ``alert_forecast_days`` days."""
    found = []
    if inp.previous_band is not None and lower(inp.band, inp.previous_band):
        found.append(
            Condition(
                "band_drop",
                inp.band,
                {
                    "band": inp.band,
                    "score": inp.score,
                    "previous_band": inp.previous_band,
                    "previous_score": inp.previous_score,
                },
            )
        )
    horizon = max(config.alert_forecast_days, 0)
    for ahead in inp.forecast:
        days = (ahead.day - inp.day).days
        if days < 1:
            continue
        if days > horizon:
            break
        if lower(ahead.band, inp.band):
            found.append(
                Condition(
                    "band_forecast",
                    ahead.band,
                    {
                        "band": ahead.band,
                        "forecast_day": ahead.day.isoformat(),
                        "days_ahead": days,
                        "forecast_score": ahead.score,
                        "score": inp.score,
                        "current_band": inp.band,
                    },
                )
            )
            break
    return found


def conditions(inp: AlertInput, config: AlertConfig) -> dict[tuple[str, str], Condition]:
    """Every condition that holds on ``inp.day``, keyed by (kind, subject)."""
    found = [*metric_conditions(inp.rates, config), *band_conditions(inp, config)]
    return {c.key: c for c in found}


def still_holds(
    kind: str,
    subject: str,
    inp: AlertInput,
    current: Mapping[tuple[str, str], Condition],
) -> bool:
    """Whether an alert raised earlier is still active on ``inp.day``.

    A ``metric_margin`` or ``band_forecast`` alert holds while its condition does. A ``band_drop``
    happens on one day, so its alert holds while the store stays in the band it entered or a lower
    one, and clears once the rating is back above that band (ADR 0010).
    """
    if kind == "band_drop":
        return subject in BANDS and not lower(subject, inp.band)
    return (kind, subject) in current
