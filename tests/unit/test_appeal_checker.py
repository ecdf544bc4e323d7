"""The Plan-of-Action checker (issue 14 item 6, ADR 0028): four rules, each with passing and
failing fixtures in English and Japanese (tests/fixtures/appeals/checker-cases.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.appeals import checker
from tsunagu.appeals.checker import (
    ACTION_MISMATCH,
    APOLOGY,
    MISSING_EVIDENCE,
    RULES,
    VAGUE_PROMISE,
    Finding,
    check_plan,
)
from tsunagu.appeals.library import normalise, sentences
from tsunagu.appeals.plan import Plan, Section
from tsunagu.enforcement.rules import ISSUE_CODES, Issue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "appeals"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "checker-cases.json").read_text("utf-8"))[
    "cases"
]


def _section(case: dict[str, Any]) -> Section:
    s = case["section"]
    return Section(
        issue=case["issue"]["code"],
        root_cause=s["root_cause"],
        actions=s["actions"],
        prevention=s["prevention"],
        evidence=tuple(s.get("evidence", ())),
    )


def _issue(case: dict[str, Any]) -> Issue:
    return Issue(code=case["issue"]["code"], causes=case["issue"]["causes"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_gives_exactly_the_findings_of_its_rule(case: dict[str, Any]) -> None:
    found = [
        f
        for f in check_plan(Plan((_section(case),)), [_issue(case)], lang=case["lang"])
        if f.rule == case["rule"]
    ]
    expected = case["findings"]
    assert [f.part for f in found] == [e["part"] for e in expected]
    for finding, wanted in zip(found, expected, strict=True):
        assert wanted["text"] in finding.text
        assert finding.issue == case["issue"]["code"]


def test_every_rule_has_a_passing_and_a_failing_fixture_in_both_languages() -> None:
    kinds = {(c["rule"], c["lang"], bool(c["findings"])) for c in CASES}
    assert kinds == {(r, lang, fails) for r in RULES for lang in ("en", "ja") for fails in (1, 0)}


def _plan(**parts: str) -> Plan:
    return Plan((Section("CANCELLATION_RATE", **parts),))


OUT_OF_STOCK = [Issue("CANCELLATION_RATE", causes={"out_of_stock": 38})]


def test_apology_is_reported_once_per_sentence_with_the_sentence_as_excerpt() -> None:
    plan = _plan(root_cause="We are so sorry. 38 orders were cancelled. We deeply regret it.")
    found = [f for f in check_plan(plan, OUT_OF_STOCK, lang="en") if f.rule == APOLOGY]
    assert [f.text for f in found] == ["We are so sorry.", "We deeply regret it."]


def test_japanese_sentences_split_on_full_width_marks_and_full_width_digits_count() -> None:
    assert sentences("在庫を確認します。徹底します！本当に？はい") == [
        "在庫を確認します。",
        "徹底します！",
        "本当に？",
        "はい",
    ]
    plan = _plan(prevention="在庫連携を１５分ごとに実行するよう徹底します。在庫管理を徹底します。")
    found = [f for f in check_plan(plan, OUT_OF_STOCK, lang="ja") if f.rule == VAGUE_PROMISE]
    assert [f.text for f in found] == ["在庫管理を徹底します。"]


def test_english_decimals_and_bullets_do_not_break_sentences() -> None:
    assert sentences("- The rate was 9.22% in October.\n- We will check it daily.") == [
        "The rate was 9.22% in October.",
        "We will check it daily.",
    ]


def test_a_plan_may_mix_languages_both_lexicons_apply() -> None:
    plan = _plan(
        root_cause="38 orders were cancelled. 深くお詫び申し上げます。",
        actions="We will try harder.",
    )
    rules = [f.rule for f in check_plan(plan, OUT_OF_STOCK, lang="en")]
    assert rules.count(APOLOGY) == 1
    assert rules.count(VAGUE_PROMISE) == 1


def test_whole_words_only_for_english_entries() -> None:
    # "willing" is not "will"; "follow-ups" is not the carrier UPS
    plan = _plan(
        actions="We were willing to count the stock, and follow-ups were logged.",
        prevention="Stock levels are synchronised every 15 minutes.",
    )
    found = check_plan(plan, OUT_OF_STOCK, lang="en")
    assert [f.rule for f in found if f.rule in (VAGUE_PROMISE, ACTION_MISMATCH)] == []


def test_japanese_number_with_a_counter_is_concrete_but_as_soon_as_possible_is_not() -> None:
    assert checker.concrete(normalise("安全在庫を三個ずつ確保してまいります。"))
    assert not checker.concrete(normalise("一日も早く改善してまいります。"))


def test_the_issue_with_no_recognised_action_is_reported() -> None:
    plan = _plan(actions="We had a meeting about it on 2026-11-02.", prevention="Done.")
    found = [f for f in check_plan(plan, OUT_OF_STOCK, lang="en") if f.rule == ACTION_MISMATCH]
    assert [(f.part, f.text) for f in found] == [("actions", "")]
    assert "stock synchronisation" in found[0].message("en")


def test_mismatch_explanation_names_the_family_found_and_what_would_answer() -> None:
    plan = _plan(actions="We moved to a tracked courier on 2026-11-02.")
    (finding,) = [f for f in check_plan(plan, OUT_OF_STOCK, lang="en") if f.rule == ACTION_MISMATCH]
    message = finding.message("en")
    assert "a change of carrier or shipping method" in message
    assert "pre-fulfilment cancel rate" in message
    assert "stock synchronisation and safety stock" in message
    assert "{" not in message


def test_names_in_a_finding_follow_the_readers_language() -> None:
    finding = Finding(
        ACTION_MISMATCH,
        "CANCELLATION_RATE",
        "actions",
        "",
        checker.MISMATCH_WHY,
        (("found", "tracked_shipping"), ("issue", "CANCELLATION_RATE"), ("expected", "stock_sync")),
    )
    ja = finding.message("ja")
    assert "配送業者・配送方法の変更" in ja
    assert "出荷前キャンセル率" in ja
    assert "在庫連携" in ja


def test_an_issue_without_any_answering_family_is_never_a_mismatch() -> None:
    issues = [Issue("CANCELLATION_RATE", causes={"a_cause_nobody_mapped": 3})]
    plan = _plan(actions="We moved to a tracked courier on 2026-11-02.")
    assert [f for f in check_plan(plan, issues, lang="en") if f.rule == ACTION_MISMATCH] == []


def test_evidence_ok_decides_whether_an_attachment_exists() -> None:
    issues = [Issue("POLICY_VIOLATION", causes={"listingPolicyViolations": 1})]
    plan = Plan((Section("POLICY_VIOLATION", evidence=("att_1", "att_2")),))
    assert [f.rule for f in check_plan(plan, issues, lang="en")].count(MISSING_EVIDENCE) == 0
    found = check_plan(plan, issues, lang="en", evidence_ok=lambda item: item == "att_9")
    assert [f.part for f in found if f.rule == MISSING_EVIDENCE] == ["evidence"]
    found = check_plan(plan, issues, lang="en", evidence_ok=lambda item: item == "att_2")
    assert [f for f in found if f.rule == MISSING_EVIDENCE] == []


def test_evidence_is_needed_by_cause_only_when_that_cause_is_behind_the_issue() -> None:
    plan = Plan((Section("ORDER_DEFECT_RATE"),))
    fed_back = [Issue("ORDER_DEFECT_RATE", causes={"negative_feedback": 4})]
    lost = [Issue("ORDER_DEFECT_RATE", causes={"not_received": 4})]
    assert [f for f in check_plan(plan, fed_back, lang="en") if f.rule == MISSING_EVIDENCE] == []
    assert [f.rule for f in check_plan(plan, lost, lang="en")] == [MISSING_EVIDENCE]


def test_missing_sections_and_sections_of_other_issues_are_left_to_completeness() -> None:
    plan = Plan((Section("RELATED_ACCOUNT", root_cause="We are so sorry."),))
    assert check_plan(plan, OUT_OF_STOCK, lang="en") == []


def test_findings_follow_the_order_of_the_issues_then_the_parts() -> None:
    issues = [Issue("ORDER_DEFECT_RATE", causes={"not_received": 1}), *OUT_OF_STOCK]
    plan = Plan(
        (
            Section("CANCELLATION_RATE", root_cause="Sorry.", prevention="We will do better."),
            Section("ORDER_DEFECT_RATE", root_cause="Sorry.", evidence=()),
        )
    )
    found = check_plan(plan, issues, lang="en")
    assert [(f.issue, f.part) for f in found][:2] == [
        ("ORDER_DEFECT_RATE", "root_cause"),
        ("ORDER_DEFECT_RATE", "evidence"),
    ]
    assert {f.issue for f in found[2:]} == {"CANCELLATION_RATE"}


def test_every_explanation_is_a_catalog_key_with_only_its_own_placeholders() -> None:
    whys = [
        checker.APOLOGY_WHY,
        checker.VAGUE_WHY,
        checker.MISMATCH_WHY,
        checker.NO_ACTION_WHY,
        checker.UNCOVERED_WHY,
        checker.MISSING_EVIDENCE_WHY,
    ]
    allowed = {"{found}", "{issue}", "{expected}", "{cause}", "{needed}"}
    for why in whys:
        assert set(re.findall(r"\{\w+\}", why)) <= allowed


_PIECES = [
    *"abcdefg xyz.!?。！？１２3\n-",
    "will ",
    "sorry ",
    "徹底します",
    "お詫び",
    "tracked courier ",
    "在庫連携",
    "every day ",
]
_text = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=150, deadline=None)
@given(
    root=_text,
    actions=_text,
    prevention=_text,
    code=st.sampled_from(ISSUE_CODES),
    lang=st.sampled_from(["en", "ja"]),
)
def test_findings_are_well_formed_and_quote_the_plan(
    root: str, actions: str, prevention: str, code: str, lang: str
) -> None:
    section = Section(code, root, actions, prevention)
    found = check_plan(Plan((section,)), [Issue(code, causes={"out_of_stock": 1})], lang=lang)
    for finding in found:
        assert finding.rule in RULES
        assert finding.issue == code
        assert finding.part in ("root_cause", "actions", "prevention", "evidence")
        if finding.rule in (APOLOGY, VAGUE_PROMISE):
            flat = " ".join(section.part(finding.part).split())
            assert finding.text.rstrip("…") in flat
        assert "{" not in finding.message("en")
    # pure and deterministic
    assert (
        check_plan(Plan((section,)), [Issue(code, causes={"out_of_stock": 1})], lang=lang) == found
    )


@settings(max_examples=100, deadline=None)
@given(
    clean=st.sampled_from(
        [
            "Stock levels are synchronised every 15 minutes.",
            "在庫連携を15分ごとに実行しています。",
        ]
    ),
    apology=st.sampled_from(
        [
            "We sincerely apologise.",
            "深くお詫び申し上げます。",
            "We are heartbroken.",
            "大変申し訳ございません。",
        ]
    ),
)
def test_adding_an_apology_adds_exactly_one_apology_finding(clean: str, apology: str) -> None:
    before = check_plan(
        _plan(root_cause=clean, actions=clean, prevention=clean), OUT_OF_STOCK, lang="en"
    )
    after = check_plan(
        _plan(root_cause=f"{clean} {apology}", actions=clean, prevention=clean),
        OUT_OF_STOCK,
        lang="en",
    )
    assert [f.rule for f in after if f.rule == APOLOGY] == [APOLOGY]
    assert [f for f in after if f.rule != APOLOGY] == before


# -- the weak appeal of issue 14's scenario (also used by the appeal lifecycle's scenario) ---

SCENARIO = [
    Issue("CANCELLATION_RATE", causes={"out_of_stock": 38}),
    Issue("ORDER_DEFECT_RATE", causes={"not_received": 7}),
]


def _load_plan(name: str) -> Plan:
    data = json.loads((FIXTURES / name).read_text("utf-8"))
    return Plan(
        tuple(
            Section(
                s["issue"], s["root_cause"], s["actions"], s["prevention"], tuple(s["evidence"])
            )
            for s in data["sections"]
        )
    )


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_scenarios_weak_plan_is_flagged_for_apologies_and_vague_inventory_promises(
    lang: str,
) -> None:
    found = check_plan(_load_plan(f"weak-plan.{lang}.json"), SCENARIO, lang=lang)
    assert [(f.rule, f.part) for f in found] == [
        (APOLOGY, "root_cause"),
        (APOLOGY, "root_cause"),
        (VAGUE_PROMISE, "prevention"),
        (VAGUE_PROMISE, "prevention"),
        (ACTION_MISMATCH, "prevention"),
        (MISSING_EVIDENCE, "evidence"),
    ]
