"""The ``tsunagu`` command as a user runs it: a real process, stdout, stderr and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.factories import at, event, placed
from tsunagu.slices import job_kinds


def tsunagu(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    full_env.update({"TSUNAGU_LANG": "en", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "tsunagu.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_version(tmp_path: Path):
    r = tsunagu(tmp_path, "--version")
    assert r.returncode == 0
    assert r.stdout.startswith("tsunagu ")


def test_default_database_is_tsunagu_db_in_the_working_directory(tmp_path: Path):
    r = tsunagu(tmp_path, "sellers", "create", "--name", "Kyoto Tea Works", "-m", "JP", "-m", "US")
    assert r.returncode == 0, r.stderr
    seller_id = r.stdout.strip()
    assert seller_id.startswith("sel_")
    assert "\n" not in seller_id
    assert (tmp_path / "tsunagu.db").is_file()
    shown = json.loads(tsunagu(tmp_path, "sellers", "show", seller_id, "--json").stdout)
    assert shown["id"] == seller_id
    assert [s["marketplace"] for s in shown["stores"]] == ["JP", "US"]
    listed = json.loads(tsunagu(tmp_path, "sellers", "list", "--json").stdout)
    assert [s["id"] for s in listed] == [seller_id]


def test_create_json_has_id_name_and_stores(tmp_path: Path):
    r = tsunagu(tmp_path, "sellers", "create", "--name", "Kyoto", "-m", "JP", "--json")
    created = json.loads(r.stdout)
    assert {"id", "name", "stores"} <= set(created)


def test_events_import_reports_exit_codes_and_json(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    good = write_jsonl(
        tmp_path / "good.jsonl",
        [
            placed(seller, "503-1", when=at(-3)),
            event("order_shipped", seller, order_id="503-1", tracking_id="T", when=at(-2)),
        ],
    )
    r = tsunagu(tmp_path, "events", "import", str(good))
    assert r.returncode == 0, r.stderr
    assert "read 2 · stored 2 · duplicates 0 · rejected 0" in r.stdout
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            placed(seller, "503-2"),
            "{oops",
            event("feedback_posted", seller, order_id="503-404", rating=1),
        ],
    )
    r = tsunagu(tmp_path, "events", "import", str(bad), "--json")
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert {k: report[k] for k in ("read", "stored", "duplicates", "rejected")} == {
        "read": 3,
        "stored": 2,
        "duplicates": 0,
        "rejected": 1,
    }
    # the feedback about an order never seen is kept until its order comes (ADR 0030)
    assert report["waiting_for_order"] == 1
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(2, "invalid_json")]
    assert set(report["errors"][0]) == {"line", "field", "code", "value", "message"}
    again = json.loads(tsunagu(tmp_path, "events", "import", str(good), "--json").stdout)
    assert (again["stored"], again["duplicates"]) == (0, 2)


def test_strict_and_dry_run_write_nothing(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    f = write_jsonl(tmp_path / "mixed.jsonl", [placed(seller, "503-1"), "[]"])
    strict = tsunagu(tmp_path, "events", "import", str(f), "--strict", "--json")
    dry = tsunagu(tmp_path, "events", "import", str(f), "--dry-run", "--json")
    assert strict.returncode == dry.returncode == 1
    assert json.loads(strict.stdout)["stored"] == 0
    assert json.loads(dry.stdout)["stored"] == 1  # what a real run would store
    orders = json.loads(tsunagu(tmp_path, "orders", "list", "--seller", seller, "--json").stdout)
    assert orders["items"] == []


def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path):
    missing = tsunagu(tmp_path, "events", "import", "nope.jsonl")
    assert missing.returncode == 2
    assert "unreadable_file" in missing.stderr
    assert "Traceback" not in missing.stderr + missing.stdout
    unknown_flag = tsunagu(tmp_path, "events", "import", "--frobnicate")
    assert unknown_flag.returncode == 2


def test_unknown_seller_exits_1_with_code(tmp_path: Path):
    r = tsunagu(tmp_path, "sellers", "show", "sel_nobody")
    assert r.returncode == 1
    assert "seller_not_found" in r.stderr
    assert "Traceback" not in r.stderr


def test_orders_list_filters(tmp_path: Path):
    seller = tsunagu(
        tmp_path, "sellers", "create", "--name", "K", "-m", "JP", "-m", "US"
    ).stdout.strip()
    f = write_jsonl(
        tmp_path / "e.jsonl",
        [
            placed(seller, "503-1", when=at(-3)),
            placed(seller, "112-1", marketplace="US", when=at(-2)),
            event("order_cancelled", seller, order_id="503-1", by="buyer", when=at(-1)),
        ],
    )
    assert tsunagu(tmp_path, "events", "import", str(f)).returncode == 0
    cancelled = json.loads(
        tsunagu(
            tmp_path, "orders", "list", "--seller", seller, "--status", "cancelled", "--json"
        ).stdout
    )
    assert [o["order_id"] for o in cancelled["items"]] == ["503-1"]
    us = json.loads(
        tsunagu(tmp_path, "orders", "list", "--seller", seller, "-m", "US", "--json").stdout
    )
    assert [o["order_id"] for o in us["items"]] == ["112-1"]
    table = tsunagu(tmp_path, "orders", "list", "--seller", seller)
    assert "503-1" in table.stdout
    assert "112-1" in table.stdout


def test_marketplaces_from_config_file(tmp_path: Path):
    (tmp_path / "tsunagu.toml").write_text(
        '[marketplaces.UK]\nmarketplace_id = "A1F83G8C2ARO7P"\ncurrency = "GBP"\n'
        'timezone = "Europe/London"\nsales_channel = "Amazon.co.uk"\nregion = "EU"\n'
    )
    markets = json.loads(tsunagu(tmp_path, "marketplaces", "list", "--json").stdout)
    assert [m["code"] for m in markets] == ["JP", "US", "UK"]
    r = tsunagu(tmp_path, "sellers", "create", "--name", "London", "-m", "UK", "--json")
    assert json.loads(r.stdout)["stores"][0]["marketplace"] == "UK"


def test_broken_config_is_a_usage_error(tmp_path: Path):
    (tmp_path / "tsunagu.toml").write_text('[marketplaces.UK]\ncurrency = "GBP"\n')
    r = tsunagu(tmp_path, "marketplaces", "list")
    assert r.returncode == 2
    assert "invalid_config" in r.stderr


@pytest.mark.pg
def test_database_url_selects_postgresql(tmp_path: Path, pg_db: Any):
    r = tsunagu(
        tmp_path,
        "sellers",
        "create",
        "--name",
        "PG",
        "-m",
        "JP",
        env={"TSUNAGU_DATABASE_URL": pg_db.url},
    )
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "tsunagu.db").exists()


def test_db_upgrade_is_repeatable(tmp_path: Path):
    first = tsunagu(tmp_path, "db", "upgrade")
    second = tsunagu(tmp_path, "db", "upgrade")
    assert first.returncode == second.returncode == 0
    assert "up to date" in second.stdout


def test_japanese_messages(tmp_path: Path):
    r = tsunagu(tmp_path, "sellers", "list", env={"TSUNAGU_LANG": "ja"})
    assert r.returncode == 0
    assert "tsunagu sellers create" in r.stdout
    assert "No sellers yet" not in r.stdout


def test_each_import_is_recorded(tmp_path: Path):
    import sqlite3

    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    f = write_jsonl(tmp_path / "e.jsonl", [placed(seller, "503-1"), "{bad"])
    tsunagu(tmp_path, "events", "import", str(f))
    tsunagu(tmp_path, "events", "import", str(f), "--dry-run")  # dry runs leave no trace
    with sqlite3.connect(tmp_path / "tsunagu.db") as db:
        runs = db.execute(
            "SELECT kind, source_name, status, read, stored, rejected, sha256 FROM import_runs"
        ).fetchall()
    assert len(runs) == 1
    kind, name, status, read, stored, rejected, sha = runs[0]
    assert (kind, name, status, read, stored, rejected) == (
        "events",
        "e.jsonl",
        "done_with_rejections",
        2,
        1,
        1,
    )
    assert len(sha) == 64


def test_demo_generate_then_load(tmp_path: Path):
    assert tsunagu(tmp_path, "demo", "generate", "--out", "d", "--orders", "300").returncode == 0
    assert (tmp_path / "d" / "sellers.json").is_file()
    loaded = tsunagu(tmp_path, "demo", "load", "d", "--json")
    assert loaded.returncode == 0, loaded.stderr
    report = json.loads(loaded.stdout)
    assert report["stored"] > 300
    assert report["rejected"] == 0
    sellers = json.loads(tsunagu(tmp_path, "sellers", "list", "--json").stdout)
    assert len(sellers) == 3
    again = json.loads(tsunagu(tmp_path, "demo", "load", "d", "--json").stdout)
    assert (again["stored"], again["duplicates"]) == (0, report["stored"])


def test_config_errors_name_the_table_and_the_marketplace(tmp_path: Path):
    (tmp_path / "tsunagu.toml").write_text('[marketplaces]\nUK = "not a table"\n')
    r = tsunagu(tmp_path, "marketplaces", "list")
    assert r.returncode == 2
    assert "invalid_config" in r.stderr
    assert "[marketplaces.UK]" in r.stderr


def test_unknown_marketplace_flag_is_a_usage_error(tmp_path: Path):
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "K", "-m", "JP").stdout.strip()
    r = tsunagu(tmp_path, "orders", "list", "--seller", seller, "-m", "ZZ")
    assert r.returncode == 2
    assert "unknown_marketplace" in r.stderr


def test_demo_run_without_serving_loads_once_and_summarises(tmp_path: Path):
    first = tsunagu(tmp_path, "demo", "run", "--no-serve", "--orders", "300", "--json")
    assert first.returncode == 0, first.stderr
    rows = json.loads(first.stdout)
    assert sorted((r["profile"], r["marketplace"]) for r in rows) == [
        ("cancels_us", "US"),
        ("healthy", "JP"),
        ("healthy", "US"),
        ("trademark_jp", "JP"),
    ]
    trademark = next(r for r in rows if r["profile"] == "trademark_jp")
    assert trademark["open_violations"] == 1
    assert (trademark["ahr"], trademark["band"]) == (198, "at_risk")  # the real case
    again = tsunagu(tmp_path, "demo", "run", "--no-serve", "--orders", "300", "--json")
    assert json.loads(again.stdout) == rows
    assert "already" in again.stderr


def test_worker_runs_due_jobs_and_stops_after_its_loops(tmp_path: Path):
    r = tsunagu(tmp_path, "worker", "--loops", "1", "--interval", "0")
    assert r.returncode == 0, r.stderr
    periodic = sorted(name for name, kind in job_kinds().items() if kind.period is not None)
    assert periodic, "no slice has a periodic job kind"
    for name in periodic:
        assert name in r.stdout
    jobs = json.loads(tsunagu(tmp_path, "jobs", "list", "--json").stdout)
    assert jobs["kinds"] == sorted(job_kinds())
    assert {j["status"] for j in jobs["jobs"]} == {"done"}


def test_serve_answers_http(tmp_path: Path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "TSUNAGU_DATABASE_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tsunagu.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None
        assert body["status"] == "ready"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_bad_slice_section_stops_every_command_that_reads_the_region_table(tmp_path: Path):
    """The health slice reads its own ``[health]`` tables; the composition root has the CLI
    check them at start, so a typo fails at once instead of at the first health figure."""
    (tmp_path / "tsunagu.toml").write_text("[health]\nodr_targte = 0.01\n")
    r = tsunagu(tmp_path, "marketplaces", "list")
    assert r.returncode == 2
    assert "invalid_config" in r.stderr
    assert "[health] odr_targte" in " ".join(r.stderr.split())
    (tmp_path / "tsunagu.toml").write_text("[health.marketplace.XX]\nodr_target = 0.01\n")
    r = tsunagu(tmp_path, "marketplaces", "list")
    assert r.returncode == 2
    assert "[health.marketplace.XX] names no known" in " ".join(r.stderr.split())
