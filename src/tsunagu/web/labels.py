"""The words the dashboard shows for tsunagu's codes (metric names, bands, statuses …).

Marked with ``N_`` for extraction and translated at render time in the page's language; codes that
have no label here are shown as they are.
"""

from __future__ import annotations

from tsunagu.core.i18n import N_

METRICS = {
    "order_defect_rate_mfn": N_("Order defect rate (seller-fulfilled)"),
    "order_defect_rate_afn": N_("Order defect rate (fulfilled by Amazon)"),
    "late_shipment_rate_10": N_("Late shipment rate (10 days)"),
    "late_shipment_rate_30": N_("Late shipment rate (30 days)"),
    "pre_fulfillment_cancel_rate": N_("Pre-fulfilment cancel rate"),
    "valid_tracking_rate": N_("Valid tracking rate"),
    "on_time_delivery_rate": N_("On-time delivery rate"),
    "contact_response": N_("Contact response within 24 hours"),
    "return_dissatisfaction_rate": N_("Return dissatisfaction rate"),
    "customer_service_dissatisfaction_rate": N_("Customer service dissatisfaction rate"),
    "invoice_defect_rate": N_("Invoice defect rate"),
}

#: what the ids behind a metric's numerator are (anything else: order ids)
ID_KINDS = {"contact_response": "message", "return_dissatisfaction_rate": "return"}

BANDS = {"healthy": N_("healthy"), "at_risk": N_("at risk"), "unhealthy": N_("unhealthy")}

STATUS = {"GOOD": N_("meets target"), "BAD": N_("misses target"), "NONE": N_("no data")}

SEVERITY = {
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
}

TERMS = {
    "base": N_("Starting score"),
    "sales_credit": N_("Sales credit ({orders} fulfilled orders)"),
    "violation": N_("Violation ({severity}): {policy}"),
    "critical": N_("Critical violation: {policy} (rating is 0)"),
    "metric": N_("Missed target: {metric}"),
    "floor": N_("Floor: nothing deducted"),
    "clamp": N_("Kept within 0–1000"),
}

ALERT_KINDS = {
    "metric_margin": N_("metric near its target"),
    "band_drop": N_("dropped a band"),
    "band_forecast": N_("band drop forecast"),
}

IMPORT_KINDS = {
    "amazon-orders": N_("Amazon All Orders report"),
    "amazon-unshipped": N_("Amazon Unshipped Orders report"),
    "amazon-feedback": N_("Amazon Seller Feedback report"),
    "events": N_("Events file (JSON lines)"),
}

ORDER_STATUSES = {
    "unshipped": N_("unshipped"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "cancelled": N_("cancelled"),
}

ROLES = {
    "owner": N_("owner"),
    "manager": N_("manager"),
    "viewer": N_("viewer"),
    "operator": N_("operator (read-only)"),
}

#: a store's account status (the enforcement slice); replaces the band-derived status
ENFORCEMENT_STATUS = {
    "NORMAL": N_("Normal"),
    "AT_RISK": N_("At risk of deactivation"),
    "UNDER_REVIEW": N_("Under review"),
    "DEACTIVATED": N_("Deactivated"),
}

#: the issues behind an enforcement decision, as a seller reads them
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

APPEAL_STATUS = {
    "DRAFT": N_("Draft"),
    "SUBMITTED": N_("Submitted"),
    "UNDER_REVIEW": N_("Under review"),
    "ACCEPTED": N_("Accepted"),
    "REJECTED": N_("Rejected"),
    "INFO_REQUESTED": N_("More information needed"),
    "WITHDRAWN": N_("Withdrawn"),
    "EXPIRED": N_("Expired"),
}

PLAN_PARTS = {
    "section": N_("the whole section"),
    "root_cause": N_("Root cause"),
    "actions": N_("Actions taken"),
    "prevention": N_("Preventive measures"),
    "evidence": N_("Evidence"),
}

FINDING_RULES = {
    "apology": N_("Apology instead of facts"),
    "vague_promise": N_("Promise without a number, date or tool"),
    "action_mismatch": N_("Action does not answer this issue"),
    "missing_evidence": N_("Evidence missing"),
}
