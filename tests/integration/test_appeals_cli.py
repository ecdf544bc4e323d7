"""The ``tsunagu appeals`` contract (issue 14 item 11) as a script runs it: a real process,
its JSON on standard output and its exit status; errors with ``--json`` are the one envelope,
exit 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli import tsunagu

LONG = "We traced every affected order to its cause and wrote down the numbers behind it."
PDF = b"%PDF-1.7\n%carrier contract\n"


def run_json(cwd: Path, *args: str, code: int = 0) -> Any:
    r = tsunagu(cwd, *args)
    assert r.returncode == code, (r.stdout, r.stderr)
    return json.loads(r.stdout)


@pytest.fixture
def deactivated(tmp_path: Path) -> tuple[Path, str]:
    """A US store an operator deactivated (with ``tsunagu enforcement override``)."""
    r = tsunagu(tmp_path, "sellers", "create", "--name", "Kyoto Tea Works", "-m", "US")
    assert r.returncode == 0, r.stderr
    seller = r.stdout.strip()
    r = tsunagu(
        tmp_path, "enforcement", "override", "--seller", seller, "-m", "US",
        "--status", "DEACTIVATED", "--reason", "policy review",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return tmp_path, seller


def test_the_appeal_contract_from_create_to_decision(deactivated: tuple[Path, str]):
    cwd, seller = deactivated
    created = run_json(
        cwd, "appeals", "create", "--seller", seller, "--marketplace", "US", "--json"
    )
    assert created["id"].startswith("apl_")
    assert created["status"] == "DRAFT"
    assert created["issues"] == ["POLICY_VIOLATION"]
    appeal = created["id"]

    refused = run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json", code=2)
    assert refused["error"]["code"] == "plan_incomplete"
    assert "POLICY_VIOLATION" in refused["error"]["message"]
    r = tsunagu(cwd, "appeals", "submit", "--appeal", appeal)
    assert r.returncode == 2
    assert "plan_incomplete" in r.stderr

    (cwd / "evidence").mkdir()
    (cwd / "evidence" / "contract.pdf").write_bytes(PDF)
    plan = cwd / "plan.json"
    section = {"issue": "POLICY_VIOLATION", "root_cause": LONG, "actions": LONG}
    plan.write_text(
        json.dumps(
            {"sections": [{**section, "prevention": LONG, "evidence": ["evidence/contract.pdf"]}]}
        )
    )
    shown = run_json(cwd, "appeals", "set", "--appeal", appeal, "--plan", str(plan), "--json")
    assert len(shown["attachments"]) == 1
    assert shown["sections"][0]["evidence"] == [shown["attachments"][0]["id"]]
    assert (
        cwd / "tsunagu-files" / "appeals" / appeal / shown["attachments"][0]["sha256"]
    ).is_file()

    checked = run_json(cwd, "appeals", "check", "--appeal", appeal, "--json")
    assert checked["complete"] is True
    assert checked["missing"] == []
    assert set(checked) == {"complete", "missing", "findings"}
    for finding in checked["findings"]:
        assert {"rule", "issue", "part", "text"} <= set(finding)

    assert run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json")["status"] == "SUBMITTED"
    decided = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "request-info",
        "--note", "Send the carrier contract.", "--json",
    )  # fmt: skip
    assert decided["status"] == "INFO_REQUESTED"
    run_json(cwd, "appeals", "submit", "--appeal", appeal, "--json")
    accepted = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "accept", "--json"
    )
    assert accepted["status"] == "ACCEPTED"
    shown = run_json(cwd, "appeals", "show", "--appeal", appeal, "--json")
    assert {"id", "status", "issues", "sections", "attachments", "transitions", "deadline"} <= set(
        shown
    )
    assert [t["to"] for t in shown["transitions"]] == [
        "DRAFT", "SUBMITTED", "UNDER_REVIEW", "INFO_REQUESTED", "SUBMITTED", "UNDER_REVIEW", "ACCEPTED",
    ]  # fmt: skip
    status = run_json(
        cwd, "enforcement", "status", "--seller", seller, "--marketplace", "US", "--json"
    )
    assert status["status"] == "NORMAL"
    listed = run_json(cwd, "appeals", "list", "--status", "ACCEPTED", "--json")
    assert [a["id"] for a in listed["items"]] == [appeal]


def test_bad_input_is_the_envelope_and_exit_2(deactivated: tuple[Path, str]):
    cwd, seller = deactivated
    appeal = run_json(cwd, "appeals", "create", "--seller", seller, "-m", "US", "--json")["id"]
    bad = cwd / "bad.json"
    bad.write_text("{not json")
    assert (
        run_json(cwd, "appeals", "set", "--appeal", appeal, "--plan", str(bad), "--json", code=2)[
            "error"
        ]["code"]
        == "invalid_json"
    )
    unknown = cwd / "unknown.json"
    unknown.write_text(json.dumps({"sections": [{"issue": "LATE_SHIPMENT_RATE"}]}))
    error = run_json(
        cwd, "appeals", "set", "--appeal", appeal, "--plan", str(unknown), "--json", code=2
    )["error"]
    assert (error["code"], error["details"]["field"]) == ("unknown_issue", "sections[0].issue")
    shaped = cwd / "shaped.json"
    shaped.write_text(json.dumps({"sections": [{"issue": "POLICY_VIOLATION", "actions": 5}]}))
    error = run_json(
        cwd, "appeals", "set", "--appeal", appeal, "--plan", str(shaped), "--json", code=2
    )["error"]
    assert (error["code"], error["details"]["field"]) == ("invalid_plan", "sections[0].actions")
    error = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "maybe", "--json", code=2
    )["error"]
    assert error["code"] == "invalid_decision"
    error = run_json(
        cwd, "appeals", "decide", "--appeal", appeal, "--decision", "accept", "--json", code=1
    )["error"]
    assert (error["code"], error["details"]) == (
        "sequence_fail",
        {"status": "DRAFT", "action": "accept"},
    )
    error = run_json(cwd, "appeals", "show", "--appeal", "apl_nope", "--json", code=1)["error"]
    assert error["code"] == "appeal_not_found"
    error = run_json(cwd, "appeals", "create", "--seller", seller, "-m", "US", "--json", code=1)[
        "error"
    ]
    assert (error["code"], error["details"]["appeal_id"]) == ("appeal_exists", appeal)
