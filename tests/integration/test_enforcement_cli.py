"""``tsunagu enforcement …`` as scripts run it: a real process on a fresh SQLite file. The JSON
of ``evaluate`` and ``status`` is a contract (issue 14, item 11)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import at, event
from tests.integration.test_cli import tsunagu, write_jsonl

WIDE = {"COLUMNS": "80"}


def deactivated_seller(tmp_path: Path) -> str:
    r = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP", "-m", "US")
    assert r.returncode == 0, r.stderr
    seller = r.stdout.strip()
    events = [
        event(
            "violation_opened",
            seller,
            violation_id="V-crit",
            policy="productAuthenticityCustomerComplaints",
            severity="critical",
            when=at(-3),
        )
    ]
    r = tsunagu(tmp_path, "events", "import", str(write_jsonl(tmp_path / "e.jsonl", events)))
    assert r.returncode == 0, r.stderr
    return seller


def test_evaluate_and_status_keep_their_json_contract(tmp_path: Path):
    seller = deactivated_seller(tmp_path)
    base = ("--seller", seller, "--as-of", "2026-11-25")
    r = tsunagu(tmp_path, "enforcement", "evaluate", *base, "-m", "JP", "--json")
    assert r.returncode == 0, r.stderr
    (item,) = json.loads(r.stdout)["items"]
    assert (item["status"], item["recorded"], item["changed"]) == ("DEACTIVATED", True, True)
    again = json.loads(tsunagu(tmp_path, "enforcement", "evaluate", *base, "--json").stdout)
    jp = next(i for i in again["items"] if i["marketplace"] == "JP")
    assert (jp["recorded"], jp["changed"]) == (False, False)

    r = tsunagu(
        tmp_path, "enforcement", "status", "--seller", seller, "--marketplace", "JP", "--json"
    )
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout)
    assert {"status", "issues", "grace_until"} <= set(status)
    assert status["status"] == "DEACTIVATED"
    assert status["grace_until"] is None
    for issue in status["issues"]:
        assert {"code", "value", "target", "causes", "evidence"} <= set(issue)
    policy = next(i for i in status["issues"] if i["code"] == "POLICY_VIOLATION")
    assert policy["evidence"] == ["V-crit"]
    assert policy["causes"] == {"productAuthenticityCustomerComplaints": 1}

    human = tsunagu(tmp_path, "enforcement", "status", "--seller", seller, "-m", "JP", env=WIDE)
    assert "Deactivated" in human.stdout  # the dashboard's words (ADR 0037)
    assert "Policy violations" in human.stdout
    assert "POLICY_VIOLATION" not in human.stdout
    assert all(len(line) <= 80 for line in human.stdout.splitlines())

    history = tsunagu(tmp_path, "enforcement", "history", "--seller", seller, "-m", "US", "--json")
    assert [c["reason"] for c in json.loads(history.stdout)["items"]] == ["related_account"]


def test_override_and_errors_as_the_one_envelope(tmp_path: Path):
    seller = deactivated_seller(tmp_path)
    r = tsunagu(
        tmp_path, "enforcement", "override", "--seller", seller, "-m", "JP",
        "--status", "UNDER_REVIEW", "--reason", "checking deliveries", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "UNDER_REVIEW"
    bad = tsunagu(
        tmp_path, "enforcement", "override", "--seller", seller, "-m", "JP",
        "--status", "SUSPENDED", "--reason", "x", "--json",
    )  # fmt: skip
    assert bad.returncode == 2
    assert json.loads(bad.stdout)["error"]["code"] == "invalid_account_status"
    day = tsunagu(tmp_path, "enforcement", "evaluate", "--as-of", "25/11/2026", "--json")
    assert day.returncode == 2
    assert json.loads(day.stdout)["error"]["code"] == "invalid_date"
    missing = tsunagu(
        tmp_path, "enforcement", "status", "--seller", "sel_nope", "-m", "JP", "--json"
    )
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["error"]["code"] == "seller_not_found"


def test_status_reads_in_japanese(tmp_path: Path):
    """The human output in Japanese (the catalog's entries for the enforcement commands)."""
    seller = deactivated_seller(tmp_path)
    tsunagu(tmp_path, "enforcement", "evaluate", "--seller", seller, "--as-of", "2026-11-25")
    ja = tsunagu(tmp_path, "--lang", "ja", "enforcement", "status", "--seller", seller, "-m", "JP")
    assert ja.returncode == 0, ja.stderr
    assert "停止" in ja.stdout  # the dashboard's word for DEACTIVATED (ADR 0037)
    assert "アカウント健全性" in ja.stdout


def test_a_day_that_has_not_ended_is_refused_and_records_nothing(tmp_path: Path):
    """An evaluation of a day after tomorrow would make the real one a no-op when it comes: the
    command refuses it as the API does (``day_not_over``, exit 2) and records nothing."""
    seller = deactivated_seller(tmp_path)
    r = tsunagu(tmp_path, "enforcement", "evaluate", "--seller", seller, "--as-of", "2999-01-01",
                "--json")  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert json.loads(r.stdout)["error"]["code"] == "day_not_over"
    status = tsunagu(tmp_path, "enforcement", "status", "--seller", seller, "-m", "JP", "--json")
    assert json.loads(status.stdout)["status"] == "NORMAL"
