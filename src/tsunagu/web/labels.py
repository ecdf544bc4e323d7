"""The words the dashboard shows for tsunagu's codes (metric names, bands, statuses …).

Marked with ``N_`` for extraction and translated at render time in the page's language; codes that
have no label here are shown as they are.
"""

from __future__ import annotations

from tsunagu.core.i18n import N_
from tsunagu.enforcement import words as enforcement_words
from tsunagu.health import words as health_words

METRICS = health_words.METRICS

#: what the ids behind a metric's numerator are (anything else: order ids)
ID_KINDS = {"contact_response": "message", "return_dissatisfaction_rate": "return"}

BANDS = health_words.BANDS

STATUS = health_words.STATUS

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

ALERT_KINDS = health_words.ALERT_KINDS

IMPORT_KINDS = {
    "amazon-orders": N_("Amazon All Orders report"),
    "amazon-unshipped": N_("Amazon Unshipped Orders report"),
    "amazon-feedback": N_("Amazon Seller Feedback report"),
    "amazon-settlement": N_("Amazon settlement report"),
    "amazon-returns": N_("Amazon Returns report"),
    "amazon-shipconfirm": N_("Shipping confirmation file"),
    "amazon-afn-shipments": N_("Amazon Fulfilled Shipments report"),
    "events": N_("Events file (JSON lines)"),
}

ORDER_STATUSES = {
    "unshipped": N_("Unshipped"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "cancelled": N_("Cancelled"),
}

#: who cancelled an order (its timeline)
CANCELLED_BY = {
    "seller": N_("by the seller"),
    "buyer": N_("by the buyer"),
    "system": N_("by Amazon (not confirmed in time)"),
    "unknown": N_("canceller not recorded"),
}

#: fulfilment channels
CHANNELS = {"MFN": N_("Seller-fulfilled"), "AFN": N_("Fulfilled by Amazon")}

#: why a record counts against a metric (``health/drilldown.py`` REASONS), as the drill-down
#: and the order page say it
DEFECTS = {
    "negative_feedback": N_("Negative feedback"),
    "a_to_z_claim": N_("A-to-z Guarantee claim"),
    "chargeback": N_("Chargeback"),
    "shipped_late": N_("Shipped after the ship-by date"),
    "unshipped_past_due": N_("Not shipped by the ship-by date"),
    "cancelled_by_seller": N_("Cancelled by the seller"),
    "cancelled_by_system": N_("Cancelled by Amazon: not confirmed in time"),
    "no_tracking": N_("Shipped without a tracking number"),
    "tracking_not_scanned": N_("Tracking number never scanned by the carrier"),
    "delivered_late": N_("Delivered after the promised date"),
    "not_delivered": N_("Not delivered by the promised date"),
    "late_response": N_("Answered after 24 hours"),
    "no_response": N_("Not answered within 24 hours"),
    "return_buyer_unhappy": N_("Negative return: the buyer was not satisfied"),
    "return_late_response": N_("Negative return: not handled within 48 hours"),
    "return_invalid_rejection": N_("Negative return: rejected without a valid reason"),
    "service_not_solved": N_("Buyer said customer service did not solve the problem"),
    "invoice_missing": N_("No invoice uploaded"),
    "invoice_late": N_("Invoice uploaded late"),
}

#: a defect's reason in detail: why the seller cancelled, why the buyer claimed
DEFECT_DETAILS = {
    "out_of_stock": N_("out of stock"),
    "buyer_request": N_("at the buyer's request"),
    "address_issue": N_("address problem"),
    "pricing_error": N_("pricing error"),
    "other": N_("other reason"),
    "not_received": N_("item not received"),
    "not_as_described": N_("item not as described"),
    "damaged": N_("item damaged"),
}

#: how an A-to-z claim, a chargeback or a return ended (the order's timeline)
CASE_OUTCOMES = {
    "denied": N_("denied"),
    "withdrawn": N_("withdrawn by the buyer"),
    "seller_refunded": N_("refunded by the seller"),
    "granted_seller_funded": N_("granted, paid by the seller"),
    "granted_amazon_funded": N_("granted, paid by Amazon"),
    "overturned": N_("overturned on appeal"),
    "seller_won": N_("decided for the seller"),
    "seller_lost": N_("decided against the seller"),
    "authorized": N_("return authorised"),
    "refunded": N_("refunded"),
    "rejected_valid": N_("rejected with a valid reason"),
    "rejected_invalid": N_("rejected without a valid reason"),
}

ROLES = {
    "owner": N_("owner"),
    "manager": N_("manager"),
    "viewer": N_("viewer"),
    "operator": N_("operator (read-only)"),
}

#: a store's account status (the enforcement slice); replaces the band-derived status
ENFORCEMENT_STATUS = enforcement_words.STATUS

#: the issues behind an enforcement decision, as a seller reads them
ISSUES = enforcement_words.ISSUES

#: what caused an issue: claim and cancellation reasons, defect kinds
CAUSES = enforcement_words.CAUSES

APPEAL_STATUS = {
    "DRAFT": N_("Draft"),
    "SUBMITTED": N_("Submitted"),
    "UNDER_REVIEW": N_("Under review"),
    "ACCEPTED": N_("Accepted"),
    "REJECTED": N_("Appeal rejected"),
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
