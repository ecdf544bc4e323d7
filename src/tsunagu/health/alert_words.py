"""What an alert says, in the reader's language: for the alerts page, the CLI and the daily digest.

Pure: no database. A metric alert names its level in words: a metric past its target has
*missed* it (issue 16: an ODR of 2.22 % against < 1 % is not "near its target"), one within the
warning margin is *near* it; both give the value and the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tsunagu.core.i18n import N_, translate

#: the same English text as the dashboard's and the CLI's word lists, so one translation serves
METRICS = {
    "order_defect_rate_mfn": N_("Order defect rate (seller-fulfilled)"),
    "order_defect_rate_afn": N_("Order defect rate (fulfilled by Amazon)"),
    "late_shipment_rate_10": N_("Late shipment rate (10 days)"),
    "late_shipment_rate_30": N_("Late shipment rate (30 days)"),
    "pre_fulfillment_cancel_rate": N_("Pre-fulfilment cancel rate"),
    "valid_tracking_rate": N_("Valid tracking rate"),
    "on_time_delivery_rate": N_("On-time delivery rate"),
    "unit_on_time_delivery_rate": N_("Unit on-time delivery rate"),
    "contact_response": N_("Contact response within 24 hours"),
    "return_dissatisfaction_rate": N_("Return dissatisfaction rate"),
    "customer_service_dissatisfaction_rate": N_("Customer service dissatisfaction rate"),
    "invoice_defect_rate": N_("Invoice defect rate"),
}

BANDS = {"healthy": N_("healthy"), "at_risk": N_("at risk"), "unhealthy": N_("unhealthy")}

ACCOUNT_STATUS = {
    "NORMAL": N_("Normal"),
    "AT_RISK": N_("At risk of deactivation"),
    "UNDER_REVIEW": N_("Under review"),
    "DEACTIVATED": N_("Deactivated"),
}

#: (kind, level) → what kind of alert it is
KIND_LABELS = {
    ("metric_margin", "missed"): N_("metric missed its target"),
    ("metric_margin", "near"): N_("metric near its target"),
    ("account_status", "missed"): N_("account at risk"),
    ("band_drop", None): N_("dropped a band"),
    ("band_forecast", None): N_("band drop forecast"),
}

LEVEL_LABELS = {"missed": N_("missed"), "near": N_("near")}

#: a comparison a rate must meet (the target) or that raises a warning (the threshold)
SYMBOLS = {"<": "<", "<=": "≤", ">=": "≥", ">": ">"}


def _word(words: Mapping[str, str], code: str, lang: str) -> str:
    found = words.get(code)
    return translate(found, lang) if found is not None else code.replace("_", " ")


def metric_name(name: str, lang: str) -> str:
    return _word(METRICS, name, lang)


def band_name(code: str, lang: str) -> str:
    return _word(BANDS, code, lang)


def status_name(code: str, lang: str) -> str:
    found = ACCOUNT_STATUS.get(code)
    return translate(found, lang) if found is not None else code.replace("_", " ").capitalize()


def percent(rate: object) -> str:
    """``0.0222`` → ``2.22%``; ``–`` for anything that is not a number."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        return "–"
    return f"{rate * 100:.2f}%"


def level_of(kind: str, level: str | None, details: Mapping[str, Any]) -> str | None:
    """The alert's level; a metric alert recorded before levels existed counts as near."""
    if kind == "metric_margin":
        found = level or details.get("level")
        return str(found) if found in LEVEL_LABELS else "near"
    if kind == "account_status":
        return "missed"
    return None


def kind_label(kind: str, level: str | None, lang: str) -> str:
    found = KIND_LABELS.get((kind, level)) or KIND_LABELS.get((kind, None))
    return translate(found, lang) if found is not None else kind.replace("_", " ")


def value_text(kind: str, details: Mapping[str, Any]) -> str:
    """The figure the alert is about: a metric's rate, or the rating's score."""
    if kind == "metric_margin":
        return percent(details.get("value"))
    score = details.get("forecast_score" if kind == "band_forecast" else "score")
    return "–" if score is None or kind == "account_status" else str(score)


def target_text(kind: str, details: Mapping[str, Any]) -> str:
    """The target the figure is measured against (``< 1.00%``), or ``–``."""
    if kind != "metric_margin" or details.get("target") is None:
        return "–"
    symbol = SYMBOLS.get(str(details.get("target_comparison", "")), "")
    return f"{symbol} {percent(details.get('target'))}".strip()


def threshold_text(kind: str, details: Mapping[str, Any]) -> str:
    """The warning threshold (``≥ 0.75%``), or ``–``."""
    if kind != "metric_margin" or details.get("threshold") is None:
        return "–"
    symbol = SYMBOLS.get(str(details.get("comparison", "")), "")
    return f"{symbol} {percent(details.get('threshold'))}".strip()


def describe(
    kind: str, subject: str, level: str | None, details: Mapping[str, Any], lang: str
) -> str:
    """One sentence saying what the alert is about, with its figures."""
    level = level_of(kind, level, details)
    if kind == "metric_margin":
        params = {
            "metric": metric_name(subject, lang),
            "value": value_text(kind, details),
            "target": target_text(kind, details),
        }
        if level == "missed":
            return translate(
                N_("{metric} missed its target: {value} (target {target})"), lang, **params
            )
        return translate(
            N_("{metric} is near its target: {value} (target {target}, warning at {threshold})"),
            lang,
            threshold=threshold_text(kind, details),
            **params,
        )
    if kind == "account_status":
        return translate(N_("Account status: {status}"), lang, status=status_name(subject, lang))
    if kind == "band_drop":
        return translate(
            N_("Account Health Rating dropped from {previous} to {band} (score {score})"),
            lang,
            previous=band_name(str(details.get("previous_band", "")), lang),
            band=band_name(subject, lang),
            score=details.get("score", "–"),
        )
    if kind == "band_forecast":
        return translate(
            N_("Account Health Rating forecast to be {band} on {day} (score {score})"),
            lang,
            band=band_name(subject, lang),
            day=details.get("forecast_day", "–"),
            score=details.get("forecast_score", "–"),
        )
    return kind_label(kind, level, lang)
