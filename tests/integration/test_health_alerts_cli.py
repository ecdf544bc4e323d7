"""``tsunagu health alerts`` as a user runs it: a real process on a fresh SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.factories import at, event, placed
from tests.integration.test_cli import tsunagu, write_jsonl

WIDE = {"COLUMNS": "200"}

#: long enough ago that the check every import runs (for today) finds nothing: the listing is
#: empty until ``--check`` looks at that day
BASE = datetime(2026, 9, 25, 12, 0, tzinfo=UTC)


def seller_with_late_shipments(tmp_path: Path) -> str:
    r = tsunagu(tmp_path, "sellers", "create", "--name", "Hanamizuki", "-m", "JP", "-m", "US")
    assert r.returncode == 0, r.stderr
    seller = r.stdout.strip()
    events = [
        placed(seller, "503-OK", when=at(-5, BASE), latest_ship_date=at(-4, BASE)),
        event("order_shipped", seller, order_id="503-OK", tracking_id="T1", when=at(-4.5, BASE)),
        placed(seller, "503-LATE", when=at(-5, BASE), latest_ship_date=at(-4, BASE)),
        event("order_shipped", seller, order_id="503-LATE", tracking_id="T2", when=at(-3, BASE)),
    ]
    r = tsunagu(tmp_path, "events", "import", str(write_jsonl(tmp_path / "e.jsonl", events)))
    assert r.returncode == 0, r.stderr
    return seller


def test_alerts_check_lists_and_does_not_repeat(tmp_path: Path):
    seller = seller_with_late_shipments(tmp_path)
    base = ("health", "alerts", "--seller", seller)

    empty = tsunagu(tmp_path, *base, env=WIDE)
    assert empty.returncode == 0, empty.stderr
    assert f"No alerts for {seller}" in empty.stdout
    ja = tsunagu(tmp_path, *base, "--lang", "ja", env=WIDE)
    assert "アラートはありません" in ja.stdout

    r = tsunagu(tmp_path, *base, "--check", "--as-of", "2026-09-25", env=WIDE)
    assert r.returncode == 0, r.stderr
    # 50 % late misses the 4 % target of both windows (10 and 30 days): missed, not "near"
    assert "Checked JP on 2026-09-25: 2 raised, 0 cleared" in r.stdout
    assert "Checked US on 2026-09-25: 0 raised, 0 cleared" in r.stdout
    assert "50.00% >= 3.00%" in r.stdout
    assert "metric missed its target" in r.stdout
    assert "metric near its target" not in r.stdout

    again = tsunagu(tmp_path, *base, "-m", "JP", "--check", "--as-of", "2026-09-25", env=WIDE)
    assert "Checked JP on 2026-09-25: 0 raised, 0 cleared" in again.stdout

    listed = json.loads(tsunagu(tmp_path, *base, "--active", "--json").stdout)
    assert sorted((a["marketplace"], a["kind"], a["subject"]) for a in listed) == [
        ("JP", "metric_margin", "late_shipment_rate_10"),
        ("JP", "metric_margin", "late_shipment_rate_30"),
    ]
    assert {a["raised_on"] for a in listed} == {"2026-09-25"}
    assert {a["details"]["value"] for a in listed} == {0.5}
    assert {a["details"]["level"] for a in listed} == {"missed"}

    assert json.loads(tsunagu(tmp_path, *base, "-m", "US", "--json").stdout) == []
    us = tsunagu(tmp_path, *base, "-m", "US", "--active", env=WIDE)
    assert f"No active alerts for {seller}" in us.stdout

    ja = tsunagu(tmp_path, "--lang", "ja", *base, env=WIDE)
    assert "発生日" in ja.stdout
    assert "目標未達の指標" in ja.stdout


def test_alerts_errors(tmp_path: Path):
    seller = seller_with_late_shipments(tmp_path)
    assert tsunagu(tmp_path, "health", "alerts", "--seller", "sel_nobody").returncode == 1
    r = tsunagu(tmp_path, "health", "alerts", "--seller", seller, "-m", "XX")
    assert r.returncode == 2
    r = tsunagu(tmp_path, "health", "alerts", "--seller", seller, "--check", "--as-of", "soon")
    assert r.returncode == 2
    assert "invalid_date" in r.stderr
