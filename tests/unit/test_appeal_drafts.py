"""Plan-of-Action drafts from the seller's records (issue 14 item 7, ADR 0028): golden texts in
English and Japanese, and over generated facts: a draft passes the checker and is complete."""

from __future__ import annotations

import json
import os
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.appeals.checker import MISSING_EVIDENCE, check_plan
from tsunagu.appeals.drafts import (
    CauseFacts,
    Facts,
    IssueFacts,
    Tally,
    day_text,
    draft_plan,
    load_templates,
)
from tsunagu.appeals.library import default
from tsunagu.appeals.plan import MIN_PART_CHARS, Plan, missing_parts
from tsunagu.core.errors import UsageError
from tsunagu.enforcement.rules import ISSUE_CODES, Issue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "appeals"

# -- the scenario of issue 14: a US MFN store, out-of-stock cancellations and lost parcels ----

ISSUES = [
    Issue("CANCELLATION_RATE", 0.0922, 0.025, {"out_of_stock": 38}),
    Issue("ORDER_DEFECT_RATE", 0.0291, 0.01, {"not_received": 7, "negative_feedback": 3}),
    Issue("LATE_SHIPMENT_RATE", 0.061, 0.04, {"Standard": 12, "Expedited": 6}),
    Issue("VALID_TRACKING_RATE", 0.9, 0.95, {"noTracking": 30}),
    Issue("POLICY_VIOLATION", None, None, {"productAuthenticityCustomerComplaints": 1}),
    Issue("LOW_ACCOUNT_HEALTH", 90, 100),
    Issue("RELATED_ACCOUNT", related={"seller": "sel_x", "marketplace": "JP"}),
]
FACTS = Facts(
    seller_id="sel_demo",
    marketplace="US",
    marketplace_name="Amazon.com",
    day=date(2026, 11, 25),
    issues=(
        IssueFacts(
            "CANCELLATION_RATE",
            start=date(2026, 9, 1),
            end=date(2026, 10, 30),
            total=412,
            affected=38,
            value=0.0922,
            target=0.025,
            causes=(CauseFacts("out_of_stock", 38),),
            skus=(Tally("A", 10), Tally("B", 8), Tally("C", 7), Tally("D", 6)),
            sku_orders=31,
            examples=("111-0000001", "111-0000002", "111-0000003"),
        ),
        IssueFacts(
            "ORDER_DEFECT_RATE",
            start=date(2026, 8, 1),
            end=date(2026, 10, 30),
            total=1412,
            affected=10,
            value=0.0291,
            target=0.01,
            causes=(
                CauseFacts(
                    "not_received",
                    7,
                    undelivered=7,
                    undelivered_services=(Tally("SAL", 5), Tally("Surface mail", 2)),
                    untracked=6,
                ),
                CauseFacts("negative_feedback", 3),
            ),
        ),
        IssueFacts(
            "LATE_SHIPMENT_RATE",
            start=date(2026, 10, 1),
            end=date(2026, 10, 30),
            total=300,
            affected=18,
            late_days=2,
            services=(Tally("Standard", 12), Tally("Expedited", 6)),
        ),
        IssueFacts(
            "VALID_TRACKING_RATE",
            start=date(2026, 10, 1),
            end=date(2026, 10, 30),
            total=300,
            affected=30,
            services=(Tally("SAL", 30),),
        ),
        IssueFacts(
            "POLICY_VIOLATION",
            start=date(2026, 10, 2),
            end=date(2026, 10, 2),
            affected=1,
            causes=(CauseFacts("productAuthenticityCustomerComplaints", 1),),
            asins=("B0TEA00001",),
        ),
        IssueFacts("LOW_ACCOUNT_HEALTH", value=90, target=100),
        IssueFacts(
            "RELATED_ACCOUNT",
            related_marketplace="Amazon.co.jp",
            related_issues=("ORDER_DEFECT_RATE",),
        ),
    ),
)


def _as_json(plan: Plan) -> dict[str, Any]:
    return {
        "sections": [
            {
                "issue": s.issue,
                "root_cause": s.root_cause,
                "actions": s.actions,
                "prevention": s.prevention,
                "evidence": list(s.evidence),
            }
            for s in plan.sections
        ]
    }


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_draft_matches_the_golden_file(lang: str) -> None:
    """The golden files are plans in the ``appeals set`` shape; regenerate them with
    ``TSUNAGU_WRITE_GOLDEN=1`` after a deliberate wording change, and read the diff."""
    golden = FIXTURES / f"draft-golden.{lang}.json"
    drafted = _as_json(draft_plan(ISSUES, FACTS, lang=lang))
    if os.environ.get("TSUNAGU_WRITE_GOLDEN"):
        golden.write_text(json.dumps(drafted, ensure_ascii=False, indent=2) + "\n", "utf-8")
    assert drafted == json.loads(golden.read_text("utf-8"))


def test_the_cancellation_root_cause_reads_as_the_issue_asks_in_english() -> None:
    section = draft_plan(ISSUES[:1], FACTS, lang="en").sections[0]
    assert section.root_cause.startswith(
        "38 of 412 orders placed between 2026-09-01 and 2026-10-30 were cancelled by the seller "
        "because the item was out of stock. 31 of them concern 4 SKUs (A, B, C, D)."
    )


def test_the_cancellation_root_cause_reads_as_the_issue_asks_in_japanese() -> None:
    section = draft_plan(ISSUES[:1], FACTS, lang="ja").sections[0]
    assert section.root_cause.startswith(
        "2026年9月1日から2026年10月30日までの注文412件のうち38件を、在庫切れのため出品者都合で"
        "キャンセルしました。そのうち31件は、4つのSKU（A、B、C、D）に集中しています。"
    )


def test_undelivered_orders_are_named_by_their_shipping_service() -> None:
    en = draft_plan(ISSUES[1:2], FACTS, lang="en").sections[0].root_cause
    ja = draft_plan(ISSUES[1:2], FACTS, lang="ja").sections[0].root_cause
    assert "7 orders shipped by SAL (5) and Surface mail (2) were not delivered" in en
    assert "1,412" in en
    assert "SAL（5件）、Surface mail（2件）で発送した注文7件が" in ja


def test_dates_are_written_in_each_languages_way() -> None:
    assert day_text(date(2026, 9, 1), "en") == "2026-09-01"
    assert day_text(date(2026, 9, 1), "ja") == "2026年9月1日"


def test_one_order_reads_in_the_singular() -> None:
    facts = Facts(
        "s",
        "US",
        "Amazon.com",
        date(2026, 11, 25),
        (
            IssueFacts(
                "CANCELLATION_RATE",
                start=date(2026, 11, 1),
                end=date(2026, 11, 7),
                total=20,
                affected=1,
                causes=(CauseFacts("pricing_error", 1),),
            ),
        ),
    )
    text = draft_plan([Issue("CANCELLATION_RATE")], facts, lang="en").sections[0].root_cause
    assert text.startswith("1 of 20 orders placed between 2026-11-01 and 2026-11-07 was cancelled")


def test_an_issue_without_records_still_gets_a_complete_section() -> None:
    facts = Facts("s", "JP", "Amazon.co.jp", date(2026, 11, 25))
    issues = [Issue("CANCELLATION_RATE", causes={"out_of_stock": 4})]
    for lang in ("en", "ja"):
        plan = draft_plan(issues, facts, lang=lang)
        assert missing_parts(plan, ["CANCELLATION_RATE"]) == []
        assert "tsunagu" in plan.sections[0].root_cause


# -- the template library ------------------------------------------------------------------


def test_every_shipped_text_has_both_languages_and_known_placeholders() -> None:
    tables = default("templates")
    known = {
        "start", "end", "day", "total", "affected", "value", "target", "breakdown", "skus",
        "sku_count", "sku_orders", "sku_phrase", "services", "services_plain", "undelivered",
        "untracked", "late_days", "asins", "asin_count", "listings", "examples",
        "related_marketplace", "related_issues", "reason", "cause", "n", "policy", "issue",
        "issues",
    }  # fmt: skip
    for key, entry in tables["sentences"].items():
        assert {"en", "ja"} <= set(entry), key
    for code, table in tables["suggestions"].items():
        assert code in ISSUE_CODES
        for key, entry in table.items():
            assert {"actions_en", "actions_ja", "prevention_en", "prevention_ja"} <= set(entry), (
                code,
                key,
            )
    for kind in ("sentences", "suggestions", "causes"):
        for text in _leaves(tables[kind]):
            names = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert names <= known, text


def _leaves(table: Any) -> list[str]:
    if isinstance(table, dict):
        return [leaf for value in table.values() for leaf in _leaves(value)]
    return [table] if isinstance(table, str) else []


def test_a_sellers_template_file_replaces_only_what_it_names(tmp_path: Path) -> None:
    own = tmp_path / "templates.toml"
    own.write_text(
        '[suggestions.CANCELLATION_RATE.out_of_stock]\nactions_en = "We use {sku_phrase}."\n',
        "utf-8",
    )
    templates = load_templates(own)
    section = draft_plan(ISSUES[:1], FACTS, lang="en", templates=templates).sections[0]
    assert section.actions == "We use the 4 SKUs concerned (A, B, C, D)."
    default_section = draft_plan(ISSUES[:1], FACTS, lang="en").sections[0]
    assert section.prevention == default_section.prevention
    assert section.root_cause == default_section.root_cause


@pytest.mark.parametrize(
    "content",
    ["[sentences.skus]\nen = 3\n", '[sentences.skus]\nen = "{unclosed"\n', "not toml ["],
)
def test_a_bad_template_file_is_invalid_config(tmp_path: Path, content: str) -> None:
    own = tmp_path / "templates.toml"
    own.write_text(content, "utf-8")
    with pytest.raises(UsageError) as raised:
        load_templates(own)
    assert raised.value.code == "invalid_config"


def test_a_missing_template_file_is_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as raised:
        load_templates(tmp_path / "nowhere.toml")
    assert raised.value.code == "invalid_config"


# -- the property: every draft passes the checker and is complete ---------------------------

KNOWN_CAUSES = {
    "CANCELLATION_RATE": ["out_of_stock", "pricing_error", "address_issue", "buyer_request",
                          "other", "unspecified", "something_new"],
    "ORDER_DEFECT_RATE": ["not_received", "not_as_described", "damaged", "other",
                          "negative_feedback", "chargeback", "unspecified"],
    "LATE_SHIPMENT_RATE": ["Standard", "Expedited", "unspecified"],
    "VALID_TRACKING_RATE": ["noTracking", "unscanned"],
    "POLICY_VIOLATION": ["listingPolicyViolations", "productAuthenticityCustomerComplaints",
                         "restrictedProductPolicyViolations", "aNewPolicyNobodyKnows"],
    "LOW_ACCOUNT_HEALTH": ["listingPolicyViolations", "otherPolicyViolations"],
    "RELATED_ACCOUNT": [],
}  # fmt: skip

_ids = st.text(alphabet=string.ascii_uppercase + string.digits + "-", min_size=1, max_size=12)
_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
_tallies = st.lists(
    st.builds(Tally, _ids, st.integers(1, 5000)), max_size=6, unique_by=lambda t: t.name
).map(tuple)


@st.composite
def _issue_and_facts(draw: st.DrawFn, code: str) -> tuple[Issue, IssueFacts]:
    names = draw(st.lists(st.sampled_from(KNOWN_CAUSES[code] or ["x"]), max_size=4, unique=True))
    if not KNOWN_CAUSES[code]:
        names = []
    causes = tuple(
        CauseFacts(
            name,
            draw(st.integers(1, 5000)),
            skus=draw(_tallies),
            sku_orders=draw(st.integers(0, 5000)),
            undelivered=draw(st.integers(0, 5000)),
            undelivered_services=draw(_tallies),
            untracked=draw(st.integers(0, 5000)),
        )
        for name in names
    )
    start = draw(_days)
    affected = draw(st.integers(0, 100_000))
    value = draw(st.none() | st.floats(0, 1) | st.integers(0, 1000))
    target = draw(st.none() | st.sampled_from([0.01, 0.025, 0.04, 0.95, 100, 200]))
    facts = IssueFacts(
        code,
        start=start,
        end=draw(st.dates(min_value=start, max_value=date(2027, 12, 31))),
        total=draw(st.integers(0, 1_000_000)),
        affected=affected,
        value=None if value is None else float(value),
        target=None if target is None else float(target),
        causes=causes,
        skus=draw(_tallies),
        sku_orders=draw(st.integers(0, 100_000)),
        services=draw(_tallies),
        late_days=draw(st.none() | st.integers(1, 60)),
        examples=tuple(draw(st.lists(_ids, max_size=5))),
        asins=tuple(draw(st.lists(_ids, max_size=5))),
        related_marketplace=draw(st.none() | st.sampled_from(["Amazon.co.jp", "Amazon.com"])),
        related_issues=tuple(draw(st.lists(st.sampled_from(ISSUE_CODES[:5]), max_size=3))),
    )
    issue_causes = {c.cause: c.count for c in causes}
    if draw(st.booleans()):
        extra = draw(st.sampled_from(KNOWN_CAUSES[code] or ["x"]))
        if KNOWN_CAUSES[code]:
            issue_causes.setdefault(extra, 1)
    return Issue(code, value, target, issue_causes), facts


@st.composite
def _drafting_input(draw: st.DrawFn) -> tuple[list[Issue], Facts]:
    codes = draw(st.lists(st.sampled_from(ISSUE_CODES), min_size=1, max_size=7, unique=True))
    pairs = [draw(_issue_and_facts(code)) for code in codes]
    # sometimes the records hold nothing for an issue: the draft must still be complete
    kept = tuple(
        f
        for (_, f), keep in zip(
            pairs,
            draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs))),
            strict=True,
        )
        if keep
    )
    facts = Facts("sel_x", "JP", "Amazon.co.jp", draw(_days), kept)
    return [issue for issue, _ in pairs], facts


_RAW = re.compile(
    r"\b(?:out_of_stock|pricing_error|address_issue|buyer_request|not_received|"
    r"not_as_described|negative_feedback|listingPolicyViolations|"
    r"productAuthenticityCustomerComplaints|noTracking|" + "|".join(ISSUE_CODES) + r")\b"
)


@settings(max_examples=300, deadline=None)
@given(data=_drafting_input(), lang=st.sampled_from(["en", "ja"]))
def test_every_draft_passes_the_checker_and_is_complete(
    data: tuple[list[Issue], Facts], lang: str
) -> None:
    issues, facts = data
    plan = draft_plan(issues, facts, lang=lang)
    assert [s.issue for s in plan.sections] == [i.code for i in issues]
    assert missing_parts(plan, [i.code for i in issues], MIN_PART_CHARS) == []
    findings = [f for f in check_plan(plan, issues, lang=lang) if f.rule != MISSING_EVIDENCE]
    assert findings == []
    for section in plan.sections:
        for text in (section.root_cause, section.actions, section.prevention):
            assert not _RAW.search(text), text
            assert "{" not in text
    assert draft_plan(issues, facts, lang=lang) == plan


def test_the_checker_and_the_drafts_load_no_database_code() -> None:
    """checker.py and drafts.py are held to the purity of a rules module (ADR 0019)."""
    import subprocess
    import sys

    code = (
        "import sys; import tsunagu.appeals.checker, tsunagu.appeals.drafts; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi') "
        "or m.endswith(('.repo', '.service', '.models'))]; print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_config_files_templates_key_is_read_from_the_config_files_folder(tmp_path: Path):
    """``[appeals] templates = "own.toml"`` names a file beside the config file; the appeals
    section hands it to the drafts, and a file that cannot be read is refused when the config
    is checked, naming it."""
    from tsunagu.appeals.config import SECTION, appeals_of, templates_at
    from tsunagu.core.errors import UsageError
    from tsunagu.marketplaces.registry import load_registry

    (tmp_path / "own.toml").write_text(
        '[suggestions.CANCELLATION_RATE.out_of_stock]\nactions_en = "We use {sku_phrase}."\n',
        "utf-8",
    )
    config = tmp_path / "tsunagu.toml"
    config.write_text('[appeals]\ntemplates = "own.toml"\n', "utf-8")
    registry = load_registry(config)
    SECTION.check(registry)
    path = appeals_of(registry.require("US")).templates
    assert path == tmp_path / "own.toml"
    assert path is not None
    section = draft_plan(ISSUES[:1], FACTS, lang="en", templates=templates_at(path)).sections[0]
    assert section.actions == "We use the 4 SKUs concerned (A, B, C, D)."

    broken = tmp_path / "broken.toml"
    broken.write_text('[appeals]\ntemplates = "missing.toml"\n', "utf-8")
    with pytest.raises(UsageError) as raised:
        SECTION.check(load_registry(broken))
    assert raised.value.code == "invalid_config"
    assert "missing.toml" in str(raised.value)
