"""Health alerts (issue 4, "Alerts"): which warning conditions hold for a store on a day.

Pure: no database, no clock. The service (``health/alert_service.py``) feeds in one day's metric
rates and rating, the previous day's band and the forecast, and records each condition once, when
it starts; this module only says which conditions hold and whether an alert already raised still
does (ADR 0010).

Four kinds of condition:

* ``metric_margin`` — a metric is within the configured margin of its target (level ``near``), or
  misses the target (level ``missed``, issue 16: an ODR of 2.22 % against < 1 % has *missed*, it
  is not "near"). The margin comparisons are inclusive: an ODR of exactly 0.75 % is near, a valid
  tracking rate of exactly 96 % is near. Whether a target is missed is the metric's own verdict
  (``health.metrics``: exact, in whole counts), so every metric that misses its target raises a
  ``missed`` alert, watched by a margin rule or not. A metric with no rate raises nothing.
  Subject: the metric name. An alert holds while its metric stays at the same level: a metric
  that moves from near to missed clears the near alert and raises a missed one (ADR 0034).
* ``band_drop`` — the rating's band on the day is lower than on the previous day. Subject: the
  band entered.
* ``band_forecast`` — if nothing new happens, the rating enters a band lower than the day's within
  ``alert_forecast_days`` days. Subject: the first lower band entered; details name its first day.
* ``account_status`` — the store's account status (the enforcement feature) is at risk or worse.
  Subject: the status (``AT_RISK``, ``UNDER_REVIEW``, ``DEACTIVATED``); it holds while the
  status is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from tsunagu.health.config import AlertConfig

AlertKind = Literal["account_status", "metric_margin", "band_drop", "band_forecast"]
KINDS: tuple[AlertKind, ...] = ("account_status", "metric_margin", "band_drop", "band_forecast")

#: how far a metric is: within the warning margin of its target, or past it
Level = Literal["near", "missed"]
NEAR: Level = "near"
MISSED: Level = "missed"
LEVELS: tuple[Level, ...] = (NEAR, MISSED)

#: account statuses that raise an ``account_status`` alert (enforcement's codes)
NORMAL_STATUS = "NORMAL"

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
    #: metric name → (target, comparison a rate must meet, e.g. ``"<"`` for ODR)
    targets: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    #: the metrics that miss their target on the day (the metric's own verdict)
    missed: frozenset[str] = frozenset()
    #: the store's account status (``None``: unknown, nothing raised)
    account_status: str | None = None


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
    #: ``near`` or ``missed`` for a metric; ``None`` for the other kinds
    level: Level | None = None

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


def metric_conditions(
    rates: Mapping[str, float | None],
    config: AlertConfig,
    *,
    targets: Mapping[str, tuple[float, str]] | None = None,
    missed: frozenset[str] = frozenset(),
) -> list[Condition]:
    """One ``metric_margin`` condition per metric that misses its target (level ``missed``: the
    metrics in ``missed``) or, watched by a margin rule, is at or past its alert threshold
    (level ``near``). Details: value, threshold (the warning margin, when a rule watches the
    metric), its comparison, the target and the comparison a rate must meet."""
    targets = targets or {}
    found: dict[str, Condition] = {}
    rules = {rule.metric: rule for rule in MARGIN_RULES}
    names = [rule.metric for rule in MARGIN_RULES] + sorted(set(missed) - set(rules))
    for name in names:
        rate = rates.get(name)
        if rate is None:
            continue
        rule = rules.get(name)
        details: dict[str, Any] = {"metric": name, "value": rate}
        if rule is not None:
            threshold = float(getattr(config, rule.config_key))
            details["threshold"] = threshold
            details["comparison"] = rule.comparison
        if name in targets:
            target, meets = targets[name]
            details["target"] = target
            details["target_comparison"] = meets
        if name in missed:
            level: Level = MISSED
        elif rule is not None and _margin(rule, rate, float(details["threshold"])):
            level = NEAR
        else:
            continue
        details["level"] = level
        found[name] = Condition("metric_margin", name, details, level)
    return list(found.values())


def status_conditions(status: str | None) -> list[Condition]:
    """An ``account_status`` condition when the store is at risk or worse."""
    if status is None or status == NORMAL_STATUS:
        return []
    return [Condition("account_status", status, {"status": status}, MISSED)]


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
    found = [
        *status_conditions(inp.account_status),
        *metric_conditions(inp.rates, config, targets=inp.targets, missed=inp.missed),
        *band_conditions(inp, config),
    ]
    return {c.key: c for c in found}


def still_holds(
    kind: str,
    subject: str,
    inp: AlertInput,
    current: Mapping[tuple[str, str], Condition],
    level: str | None = None,
) -> bool:
    """Whether an alert raised earlier is still active on ``inp.day``.

    A ``band_forecast`` or ``account_status`` alert holds while its condition does; a
    ``metric_margin`` alert while its metric is at the same ``level`` (an alert recorded without a
    level counts as near). A ``band_drop`` happens on one day, so its alert holds while the store
    stays in the band it entered or a lower one, and clears once the rating is back above that
    band (ADR 0010).
    """
    if kind == "band_drop":
        return subject in BANDS and not lower(subject, inp.band)
    found = current.get((kind, subject))
    if found is None:
        return False
    if kind == "metric_margin":
        return found.level == (level or NEAR)
    return True
