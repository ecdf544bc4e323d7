"""``tsunagu import auto`` as a user runs it (issue 16 item 3): a real process, its output at 80
columns, its JSON and its exit status."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration.test_cli import tsunagu

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"


def seller(tmp_path: Path) -> str:
    made = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP", "-m", "US")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip().splitlines()[-1]


def test_jp_and_us_files_at_once_each_to_its_store(tmp_path: Path):
    sid = seller(tmp_path)
    files = [
        str(DATA / n)
        for n in (
            "feedback-jp.txt",
            "unshipped-us.txt",
            "all-orders-us.txt",
            "all-orders-jp-utf8.txt",
        )
    ]
    r = tsunagu(tmp_path, "import", "auto", *files, "--seller", sid, env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1. all-orders-jp-utf8.txt"
    assert "Seller Feedback report · store JP (found from its orders) · 4 rows" in r.stdout
    assert "4 files: 4 imported, 0 refused, 0 failed" in r.stdout
    # import ids print whole
    with sqlite3.connect(tmp_path / "tsunagu.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM import_runs")]
    assert len(ids) == 4
    for run_id in ids:
        assert f"import {run_id}" in r.stdout


def test_a_contradicting_marketplace_is_one_error_exit_1_and_json(tmp_path: Path):
    sid = seller(tmp_path)
    r = tsunagu(
        tmp_path,
        "import",
        "auto",
        str(DATA / "all-orders-jp-utf8.txt"),
        str(DATA / "all-orders-us.txt"),
        "--seller",
        sid,
        "--marketplace",
        "US",
        "--json",
    )
    assert r.returncode == 1
    found = json.loads(r.stdout)
    refused = [f for f in found["files"] if f["status"] == "refused"]
    assert [(f["name"], [p["code"] for p in f["problems"]]) for f in refused] == [
        ("all-orders-jp-utf8.txt", ["file_marketplace_mismatch"])
    ]
    assert found["totals"]["imported"] == 1
    with sqlite3.connect(tmp_path / "tsunagu.db") as db:
        assert db.execute("SELECT COUNT(*) FROM orders WHERE marketplace = 'JP'").fetchone() == (0,)
    # the text says the refused file went to no store, with its one error
    files = [str(DATA / "all-orders-jp-utf8.txt"), "--seller", sid, "--marketplace", "US"]
    text = tsunagu(tmp_path, "import", "auto", *files).stdout
    assert "All Orders report · no store" in text
    assert text.count("is for JP, but this import is for US") == 1


def test_dry_run_writes_nothing(tmp_path: Path):
    sid = seller(tmp_path)
    r = tsunagu(
        tmp_path,
        "import",
        "auto",
        str(DATA / "all-orders-us.txt"),
        "--seller",
        sid,
        "--dry-run",
    )
    assert r.returncode == 0, r.stderr
    assert "(dry run: nothing was written)" in r.stdout
    with sqlite3.connect(tmp_path / "tsunagu.db") as db:
        assert db.execute("SELECT COUNT(*) FROM import_runs").fetchone() == (0,)


def test_a_missing_file_is_a_usage_error(tmp_path: Path):
    sid = seller(tmp_path)
    r = tsunagu(tmp_path, "import", "auto", str(tmp_path / "nope.txt"), "--seller", sid)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
