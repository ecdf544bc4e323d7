"""The words of policy violations (issue 16, items 6 and 7): every policy key tsunagu knows —
the V2 report's keys and the policies the demo opens violations under — has Seller Central's
name in English and Japanese, and a key tsunagu does not know is shown as words, never as the
key itself."""

from __future__ import annotations

import re

import pytest

from tsunagu.connectors.amazon.health_report import LISTING_VIOLATIONS
from tsunagu.demo.profiles import EXTRA_POLICIES, plan_sellers
from tsunagu.health.report import LISTING_VIOLATION_KEYS
from tsunagu.violations import words

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: a snake_case or camelCase token (what no page may show, issue 16 item 7)
CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]*\b")


def _demo_policies() -> set[str]:
    import random

    plans = plan_sellers(random.Random(7), 6000, 3)
    return {v.policy for p in plans for v in p.violations} | set(EXTRA_POLICIES)


KNOWN = sorted(
    set(LISTING_VIOLATIONS)
    | set(LISTING_VIOLATION_KEYS)
    | {"policyViolationWarnings"}
    | _demo_policies()
)


@pytest.mark.parametrize("key", KNOWN)
def test_every_known_policy_has_seller_centrals_name_in_both_languages(key: str) -> None:
    assert key in words.POLICIES
    english = words.policy_name(key, "en")
    japanese = words.policy_name(key, "ja")
    assert english == words.POLICIES[key]
    assert not english.startswith("Policy:")
    assert not CODE.search(english), english
    assert JAPANESE.search(japanese), f"{key}: no Japanese ({japanese!r})"
    assert key not in english
    assert key not in japanese


def test_the_two_intellectual_property_lines_read_as_on_seller_central() -> None:
    key = "receivedIntellectualPropertyComplaints"
    assert words.policy_name(key, "en") == "Received Intellectual Property Complaints"
    assert words.policy_name(key, "ja") == "知的財産に関する苦情"
    suspected = "suspectedIntellectualPropertyViolations"
    assert words.policy_name(suspected, "ja") == "知的財産権侵害の疑い"
    assert words.policy_name(suspected, "en") == "Suspected Intellectual Property Violations"
    # the Japanese found on Seller Central is not marked as tsunagu's own wording
    assert key not in words.INFERRED_JA
    assert suspected not in words.INFERRED_JA
    assert set(words.POLICIES) >= words.INFERRED_JA


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("hazmatDocumentationMissing", "Hazmat documentation missing"),
        ("counterfeit_test_buy", "Counterfeit test buy"),
        ("receivedIPComplaints", "Received IP complaints"),
        ("pricing-policy-2024", "Pricing policy 2024"),
        ("p", "P"),
        ("___", "Unnamed"),
    ],
)
def test_an_unknown_key_is_shown_as_its_words(key: str, shown: str) -> None:
    assert words.readable(key) == shown
    for lang in ("en", "ja"):
        text = words.policy_name(key, lang)
        assert shown in text
        assert not CODE.search(text), text
        if len(key) > 1:
            assert key not in text


def test_no_policy_severity_or_status_reads_as_a_code() -> None:
    assert words.policy_name(None, "en") == "Policy not recorded"
    assert words.severity_word("critical", "ja") == "重大"
    assert words.severity_word(None, "en") == "not recorded"
    assert words.severity_word("urgent", "en") == "not recorded"
    assert [words.status_word(s, "en") for s in ("open", "resolved", "aged_out")] == [
        "Open",
        "Resolved",
        "Aged out",
    ]
    assert words.status_word("aged_out", "ja") == "対象期間外"
    assert words.status_word("under_appeal", "en") == "Under appeal"
