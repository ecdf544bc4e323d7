"""The words for the health slice's codes (metric names, metric statuses, rating bands), for
every entry point that shows them to a seller (the CLI, and the dashboard through
``web/labels.py``), so each has one translation.

Marked with ``N_``: translate with ``_()`` when shown. A code with no word here is shown as a
last resort through :func:`word`, which never returns a snake_case code to a caller that asks
for words (it falls back to the code with its underscores made spaces).
"""

from __future__ import annotations

from collections.abc import Mapping

from tsunagu.core.i18n import N_, _

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

#: a metric's status against its target
STATUS = {"GOOD": N_("meets target"), "BAD": N_("misses target"), "NONE": N_("no data")}

#: the Account Health Rating's bands
BANDS = {"healthy": N_("healthy"), "at_risk": N_("at risk"), "unhealthy": N_("unhealthy")}

#: the kinds of data a metric is computed from (coverage, ADR 0033), in words (plural: "… are
#: not counted")
SOURCES = {
    "orders": N_("orders"),
    "promises": N_("ship-by and deliver-by dates"),
    "shipments": N_("ship confirmations"),
    "tracking": N_("tracking numbers"),
    "carrier_scans": N_("carrier scans and deliveries"),
    "feedback": N_("buyer feedback ratings"),
    "claims": N_("A-to-z claims"),
    "chargebacks": N_("chargebacks"),
    "returns": N_("return requests"),
    "messages": N_("buyer messages"),
    "surveys": N_("customer service survey answers"),
    "invoices": N_("invoice uploads"),
    "violations": N_("policy violations"),
}

#: the kinds of health alert
ALERT_KINDS = {
    "metric_margin": N_("metric near its target"),
    "band_drop": N_("dropped a band"),
    "band_forecast": N_("band drop forecast"),
}


def word(words: Mapping[str, str], code: str) -> str:
    """``code``'s word in the current language; an unknown code with its underscores as
    spaces."""
    found = words.get(code)
    return _(found) if found is not None else code.replace("_", " ")


def metric(name: str) -> str:
    return word(METRICS, name)


def band(code: str) -> str:
    return word(BANDS, code)


def status(code: str) -> str:
    return word(STATUS, code)


def source(code: str) -> str:
    return word(SOURCES, code)
