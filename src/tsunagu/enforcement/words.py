"""The words for the enforcement slice's codes (account statuses and the issues behind them),
for the CLI and the dashboard (``web/labels.py`` refers to these), so each has one translation.
Translate with ``_()`` when shown."""

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


#: what caused an issue: claim and cancellation reasons, defect kinds
CAUSES = {
    "not_received": N_("orders not received"),
    "not_as_described": N_("item not as described"),
    "damaged": N_("item damaged"),
    "other": N_("other reasons"),
    "negative_feedback": N_("negative feedback"),
    "a_to_z_claim": N_("A-to-z Guarantee claims"),
    "claim": N_("A-to-z Guarantee claims"),
    "chargeback": N_("chargebacks"),
    "out_of_stock": N_("out of stock"),
    "buyer_request": N_("buyer's request"),
    "address_issue": N_("address problem"),
    "pricing_error": N_("pricing error"),
    "unknown": N_("reason not recorded"),
    "unspecified": N_("not recorded"),
    "noTracking": N_("shipped without a tracking number"),
    "unscanned": N_("tracking number never scanned by the carrier"),
    "fraud": N_("suspected fraud"),
}


def status(code: str) -> str:
    found = STATUS.get(code)
    return _(found) if found is not None else code.replace("_", " ").capitalize()


def issue(code: str) -> str:
    found = ISSUES.get(code)
    return _(found) if found is not None else code.replace("_", " ").capitalize()
