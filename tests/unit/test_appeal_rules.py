"""The appeal lifecycle's table, its refusals and the words of an incomplete plan (SH-01)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tsunagu.appeals import rules, storage
from tsunagu.appeals.config import DEFAULT, appeals_of
from tsunagu.appeals.plan import Missing
from tsunagu.appeals.rules import (
    ACCEPT,
    ACCEPTED,
    DRAFT,
    EDIT,
    EXPIRE,
    EXPIRED,
    INFO_REQUESTED,
    REJECT,
    REJECTED,
    REQUEST_INFO,
    REVIEW,
    STATUSES,
    SUBMIT,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAW,
    WITHDRAWN,
)
from tsunagu.core.errors import TsunaguError, UsageError
from tsunagu.enforcement.rules import Issue
from tsunagu.marketplaces.registry import load_registry

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

#: the lifecycle of issue 14 item 5, written out independently of rules.TRANSITIONS
LEGAL = {
    (DRAFT, SUBMIT): SUBMITTED,
    (DRAFT, WITHDRAW): WITHDRAWN,
    (DRAFT, EXPIRE): EXPIRED,
    (SUBMITTED, REVIEW): UNDER_REVIEW,
    (SUBMITTED, WITHDRAW): WITHDRAWN,
    (UNDER_REVIEW, ACCEPT): ACCEPTED,
    (UNDER_REVIEW, REJECT): REJECTED,
    (UNDER_REVIEW, REQUEST_INFO): INFO_REQUESTED,
    (INFO_REQUESTED, SUBMIT): SUBMITTED,
    (INFO_REQUESTED, WITHDRAW): WITHDRAWN,
    (INFO_REQUESTED, EXPIRE): EXPIRED,
}
EVERY_PAIR = [(s, a) for s in STATUSES for a in rules.ACTIONS]


@pytest.mark.parametrize(("status", "action"), sorted(LEGAL))
def test_sh01_each_legal_transition_leads_where_the_lifecycle_says(status: str, action: str):
    assert rules.next_status(status, action) == LEGAL[(status, action)]


@pytest.mark.parametrize(
    ("status", "action"), [p for p in EVERY_PAIR if p not in LEGAL], ids="-".join
)
def test_sh01_each_illegal_transition_is_a_409_sequence_fail_naming_status_and_action(
    status: str, action: str
):
    with pytest.raises(rules.SequenceFail) as refused:
        rules.next_status(status, action)
    error = refused.value
    assert (error.status, error.code) == (409, "sequence_fail")
    assert error.details == {"status": status, "action": action}
    assert status in error.message("en")


def test_the_table_holds_exactly_the_lifecycle():
    assert dict(rules.TRANSITIONS) == LEGAL


@pytest.mark.parametrize("status", sorted(rules.FINAL))
def test_final_statuses_allow_no_action_at_all(status: str):
    assert rules.legal_actions(status) == ()
    with pytest.raises(rules.SequenceFail):
        rules.require_editable(status)


@pytest.mark.parametrize("status", STATUSES)
def test_the_plan_changes_only_while_draft_or_info_requested(status: str):
    if status in (DRAFT, INFO_REQUESTED):
        rules.require_editable(status)
        return
    with pytest.raises(rules.SequenceFail) as refused:
        rules.require_editable(status)
    assert refused.value.details["action"] == EDIT


def test_a_refusal_reads_as_a_sentence():
    assert rules.sequence_fail(SUBMITTED, EDIT).message("en") == (
        "An appeal that is SUBMITTED cannot be changed."
    )
    assert "withdrawn" in rules.sequence_fail(UNDER_REVIEW, WITHDRAW).message("en")


@pytest.mark.parametrize(
    ("given", "action"),
    [("accept", ACCEPT), ("reject", REJECT), ("request-info", REQUEST_INFO), (" Accept ", ACCEPT)],
)
def test_decisions_as_spelled_on_the_command_line(given: str, action: str):
    assert rules.decision_action(given) == action


@pytest.mark.parametrize("given", ["approve", "", "withdraw", "expire"])
def test_anything_else_is_not_a_decision(given: str):
    with pytest.raises(TsunaguError) as refused:
        rules.decision_action(given)
    assert (refused.value.status, refused.value.code) == (422, "invalid_decision")


@pytest.mark.parametrize("status", STATUSES)
def test_only_an_appeal_the_seller_still_holds_expires(status: str):
    deadline = NOW
    expected = status in (DRAFT, INFO_REQUESTED)
    assert rules.overdue(status, deadline, NOW) is expected
    assert rules.overdue(status, deadline, NOW - timedelta(microseconds=1)) is False


def test_a_request_for_information_leaves_at_least_the_configured_days():
    late = NOW + timedelta(days=1)
    assert rules.info_deadline(late, NOW, 17) == NOW + timedelta(days=17)
    far = NOW + timedelta(days=30)
    assert rules.info_deadline(far, NOW, 17) == far


# -- the words of an incomplete plan ------------------------------------------------------------

ODR = Issue("ORDER_DEFECT_RATE", causes={"not_received": 7, "negative_feedback": 2})
CANCEL = Issue("CANCELLATION_RATE", causes={"out_of_stock": 38})


def test_an_incomplete_plan_names_each_unaddressed_issue_like_a_reviewer():
    missing = [Missing("CANCELLATION_RATE", "section")]
    text = rules.incomplete_message(missing, [ODR, CANCEL], 50, "en")
    assert text == (
        "Your plan is incomplete: it does not address cancellations for items out of stock "
        "(CANCELLATION_RATE)."
    )


def test_the_main_cause_comes_first_and_short_parts_are_named():
    missing = [Missing("ORDER_DEFECT_RATE", "root_cause"), Missing("ORDER_DEFECT_RATE", "actions")]
    text = rules.incomplete_message(missing, [ODR, CANCEL], 60, "en")
    assert "orders not received and negative feedback (ORDER_DEFECT_RATE)" in text
    assert "the root cause and the actions taken need at least 60 characters each" in text


def test_an_issue_without_causes_is_named_by_what_it_is_about():
    text = rules.incomplete_message(
        [Missing("LATE_SHIPMENT_RATE", "section")], ["LATE_SHIPMENT_RATE"], 50, "en"
    )
    assert "late shipments (LATE_SHIPMENT_RATE)" in text


def test_the_incomplete_plan_in_japanese_needs_the_catalog():
    """The Japanese words come from the catalog (``/tmp/app-ja.po`` merged into messages.po)."""
    text = rules.incomplete_message([Missing("CANCELLATION_RATE", "section")], [CANCEL], 50, "ja")
    assert "CANCELLATION_RATE" in text
    assert "改善計画書" in text
    assert "在庫切れ" in text


def test_plan_incomplete_is_a_422_listing_issue_and_part():
    error = rules.PlanIncomplete([Missing("CANCELLATION_RATE", "section")], [CANCEL], 50)
    assert (error.status, error.code) == (422, "plan_incomplete")
    assert error.details["missing"] == [{"issue": "CANCELLATION_RATE", "part": "section"}]
    assert "CANCELLATION_RATE" in error.envelope("en")["error"]["message"]


# -- a plan file --------------------------------------------------------------------------------


def test_a_plan_file_becomes_sections():
    plan = rules.parse_plan(
        {
            "sections": [
                {
                    "issue": "CANCELLATION_RATE",
                    "root_cause": "a",
                    "actions": "b",
                    "prevention": "c",
                    "evidence": ["stock.csv"],
                },
                {"issue": "ORDER_DEFECT_RATE"},
            ]
        }
    )
    assert [s.issue for s in plan.sections] == ["CANCELLATION_RATE", "ORDER_DEFECT_RATE"]
    assert plan.sections[0].evidence == ("stock.csv",)
    assert plan.sections[1].root_cause == ""


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "(top level)"),
        ({}, "sections"),
        ({"sections": {}}, "sections"),
        ({"sections": ["x"]}, "sections[0]"),
        ({"sections": [{"root_cause": "x"}]}, "sections[0].issue"),
        ({"sections": [{"issue": "ODR", "actions": 3}]}, "sections[0].actions"),
        ({"sections": [{"issue": "ODR", "evidence": "a.pdf"}]}, "sections[0].evidence"),
        ({"sections": [{"issue": "ODR", "evidence": [""]}]}, "sections[0].evidence"),
    ],
)
def test_a_plan_file_of_the_wrong_shape_names_the_field(document: object, field: str):
    with pytest.raises(TsunaguError) as refused:
        rules.parse_plan(document)
    assert (refused.value.code, refused.value.status) == ("invalid_plan", 422)
    assert refused.value.details["field"] == field


# -- evidence files -----------------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


@pytest.mark.parametrize(
    ("content", "label", "media_type"),
    [
        (PDF, "invoice.png", "application/pdf"),
        (PNG, "x", "image/png"),
        (JPEG, "x.pdf", "image/jpeg"),
        ("在庫表\tSKU-1\r\n".encode(), "notes.txt", "text/plain"),
        (b"\xef\xbb\xbfsku,qty\nA,1\n", "stock.CSV", "text/csv"),
    ],
)
def test_evidence_type_is_judged_by_content_not_name(content: bytes, label: str, media_type: str):
    assert storage.sniff(content, label) == media_type


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"PK\x03\x04zip", "binary"),
        (b"MZ\x90\x00\x03", "binary"),
        (b"text with \x1b[2J escape", "binary"),
        ("cp932 テキスト".encode("cp932"), "binary"),
    ],
)
def test_other_files_are_refused_as_attachment_type(content: bytes, reason: str):
    with pytest.raises(TsunaguError) as refused:
        storage.sniff(content, "evidence.pdf")
    assert (refused.value.status, refused.value.code) == (422, "attachment_type")
    assert refused.value.details["reason"] == reason


def test_a_file_over_the_limit_is_413_attachment_too_large(tmp_path: Path):
    with pytest.raises(TsunaguError) as refused:
        storage.save(tmp_path, "apl_" + "a" * 26, PDF + b"x" * 100, label="a.pdf", max_bytes=50)
    assert (refused.value.status, refused.value.code) == (413, "attachment_too_large")
    assert refused.value.details["limit_bytes"] == 50
    assert not any(tmp_path.rglob("*"))


def test_a_file_is_stored_under_its_checksum_whatever_its_name(tmp_path: Path):
    appeal = "apl_" + "b" * 26
    stored = storage.save(tmp_path, appeal, PDF, label="../../etc/passwd", max_bytes=1000)
    again = storage.save(tmp_path, appeal, PDF, label="other.pdf", max_bytes=1000)
    assert stored == again
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [tmp_path / "appeals" / appeal / stored.sha256]
    assert files[0].read_bytes() == PDF
    assert storage.read(tmp_path, appeal, stored.sha256) == PDF


@pytest.mark.parametrize(("appeal", "sha"), [("../x", "0" * 64), ("apl_" + "a" * 26, "../../x")])
def test_only_tsunagus_own_ids_make_a_path(appeal: str, sha: str, tmp_path: Path):
    with pytest.raises(ValueError):
        storage.path_of(tmp_path, appeal, sha)


# -- configuration ------------------------------------------------------------------------------


def test_appeal_settings_come_from_the_config_file(tmp_path: Path):
    path = tmp_path / "tsunagu.toml"
    path.write_text(
        "[appeals]\nmin_part_chars = 80\n[appeals.marketplace.JP]\nmax_attachment_bytes = 1000\n"
    )
    registry = load_registry(path)
    jp, us = appeals_of(registry.require("JP")), appeals_of(registry.require("US"))
    assert (jp.min_part_chars, jp.max_attachment_bytes) == (80, 1000)
    assert (us.min_part_chars, us.max_attachment_bytes) == (80, DEFAULT.max_attachment_bytes)


@pytest.mark.parametrize("line", ["min_chars = 3", "min_part_chars = 0", 'info_request_days = "x"'])
def test_a_bad_appeals_table_is_invalid_config(tmp_path: Path, line: str):
    path = tmp_path / "tsunagu.toml"
    path.write_text(f"[appeals]\n{line}\n")
    with pytest.raises(UsageError) as refused:
        appeals_of(load_registry(path).require("US"))
    assert refused.value.code == "invalid_config"
