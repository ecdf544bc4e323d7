"""The words a seller reads for a policy violation: each policy's name as Seller Central's
Account Health page writes it, its severity and its status, in English and Japanese.

The keys are the ``policy`` values of ``violation_opened`` events (tsunagu uses the V2 account
health report's keys for them, amazon-domain.md §2.3) and the V2 report's own keys. Marked with
``N_``: the caller translates with ``translate(text, lang)`` or uses :func:`policy_name`.

Where the Japanese comes from. Seller Central's Japanese Account Health page calls the section
「規約の遵守」 and names two of its lines 「知的財産権侵害の疑い」 and 「知的財産に関する苦情」
(Japanese seller guides quoting the page). For the other lines no Japanese source was found:
their Japanese names are written the way Seller Central words its other policy pages
(「制限対象商品」, 「カスタマーからの苦情」 …) and are listed in :data:`INFERRED_JA`, so that a
seller who sees the real page can correct them.

A key tsunagu does not know (events may name any policy) is never shown as it is: its words
are split out of it (``someNewPolicy`` → "Some new policy") by :func:`readable`.
"""

from __future__ import annotations

import re

from tsunagu.core.i18n import N_, translate

#: the Account Health page's section of these policies
SECTION = N_("Policy compliance")

#: policy key → its name on the Account Health page (English msgid; Japanese in the catalog)
POLICIES: dict[str, str] = {
    "receivedIntellectualPropertyComplaints": N_("Received Intellectual Property Complaints"),
    "suspectedIntellectualPropertyViolations": N_("Suspected Intellectual Property Violations"),
    "productAuthenticityCustomerComplaints": N_("Product Authenticity Customer Complaints"),
    "productConditionCustomerComplaints": N_("Product Condition Customer Complaints"),
    "productSafetyCustomerComplaints": N_("Product Safety Customer Complaints"),
    "foodAndProductSafetyIssues": N_("Food and Product Safety Issues"),
    "listingPolicyViolations": N_("Listing Policy Violations"),
    "restrictedProductPolicyViolations": N_("Restricted Product Policy Violations"),
    "customerProductReviewsPolicyViolations": N_("Customer Product Reviews Policy Violations"),
    "otherPolicyViolations": N_("Other Policy Violations"),
    "documentRequests": N_("Document Requests"),
    "policyViolationWarnings": N_("Policy Violation Warnings"),
    # a violation stored without a policy (the rating calls it "unknown")
    "unknown": N_("Policy not recorded"),
}

#: keys whose Japanese name is tsunagu's wording, not found on Seller Central's Japanese page
INFERRED_JA: frozenset[str] = frozenset(
    {
        "productAuthenticityCustomerComplaints",
        "productConditionCustomerComplaints",
        "productSafetyCustomerComplaints",
        "foodAndProductSafetyIssues",
        "listingPolicyViolations",
        "restrictedProductPolicyViolations",
        "customerProductReviewsPolicyViolations",
        "otherPolicyViolations",
        "documentRequests",
        "policyViolationWarnings",
        "unknown",
    }
)

#: a key this module does not know, in words ("{words}" is English, split out of the key)
UNKNOWN_POLICY = N_("Policy: {words}")

#: severity (the Account Health page's "impact"); the same words as the rating's terms
SEVERITY: dict[str, str] = {
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
}
SEVERITY_NOT_RECORDED = N_("not recorded")

#: where a violation stands on the evaluation day
STATUS: dict[str, str] = {
    "open": N_("Open"),
    "resolved": N_("Resolved"),
    "aged_out": N_("Aged out"),
}

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def readable(key: str) -> str:
    """The words of a key: ``someNewPolicy_v2`` → "Some new policy v 2"; acronyms stay upper
    case (``receivedIPComplaints`` → "Received IP complaints"). A key without letters or digits
    reads "Unnamed"."""
    words = _WORD.findall(key)
    if not words:
        return "Unnamed"
    shown = [w if (w.isupper() and len(w) > 1) else w.lower() for w in words]
    first = shown[0]
    shown[0] = first[:1].upper() + first[1:]
    return " ".join(shown)


def policy_name(key: str | None, lang: str | None = None) -> str:
    """A policy's name in ``lang``: Seller Central's words for a known key, the key's own words
    for any other."""
    if key is None:
        return translate(POLICIES["unknown"], lang)
    known = POLICIES.get(key)
    if known is not None:
        return translate(known, lang)
    return translate(UNKNOWN_POLICY, lang, words=readable(key))


def severity_word(severity: str | None, lang: str | None = None) -> str:
    known = SEVERITY.get(severity or "")
    if known is None:
        return translate(SEVERITY_NOT_RECORDED, lang)
    return translate(known, lang)


def status_word(status: str, lang: str | None = None) -> str:
    known = STATUS.get(status)
    return translate(known, lang) if known is not None else readable(status)
