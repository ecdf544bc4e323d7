"""The words for the enforcement slice's codes (account statuses and the issues behind them),
for the CLI; the same English text as the dashboard's (``web/labels.py``), so one translation
serves both. Translate with ``_()`` when shown."""

from __future__ import annotations

from tsunagu.core.i18n import N_, _

STATUS = {
    "NORMAL": N_("Normal"),
    "AT_RISK": N_("At risk of deactivation"),
    "UNDER_REVIEW": N_("Under review"),
    "DEACTIVATED": N_("Deactivated"),
}

ISSUES = {
    "ORDER_DEFECT_RATE": N_("Order defect rate over its target"),
    "LATE_SHIPMENT_RATE": N_("Late shipment rate over its target"),
    "CANCELLATION_RATE": N_("Pre-fulfilment cancel rate over its target"),
    "VALID_TRACKING_RATE": N_("Valid tracking rate under its target"),
    "POLICY_VIOLATION": N_("Policy violations"),
    "LOW_ACCOUNT_HEALTH": N_("Account Health Rating too low"),
    "RELATED_ACCOUNT": N_("Related account deactivated"),
}


def status(code: str) -> str:
    found = STATUS.get(code)
    return _(found) if found is not None else code.replace("_", " ").capitalize()


def issue(code: str) -> str:
    found = ISSUES.get(code)
    return _(found) if found is not None else code.replace("_", " ").capitalize()
