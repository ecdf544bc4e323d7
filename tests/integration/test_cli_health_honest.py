"""``health show`` never lets a rating alone say "healthy" (issue 16 items 4 and 5): it names
the metrics over their target and, when data is missing, says "incomplete data" and what is
missing, in the seller's language."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.test_cli import tsunagu

DATA = Path(__file__).resolve().parents[1] / "data" / "amazon"


def _seller_with_orders_and_feedback(tmp_path: Path) -> str:
    seller = tsunagu(tmp_path, "sellers", "create", "--name", "New", "-m", "US").stdout.strip()
    files = [str(DATA / "feedback-us.txt"), str(DATA / "all-orders-us.txt")]
    r = tsunagu(tmp_path, "import", "auto", *files, "--seller", seller)
    assert r.returncode == 0, r.stdout + r.stderr
    return seller


def test_a_store_fed_only_orders_and_feedback_is_incomplete_with_what_is_missing(
    tmp_path: Path,
):
    seller = _seller_with_orders_and_feedback(tmp_path)
    shown = tsunagu(
        tmp_path, "health", "show", "--seller", seller, "-m", "US", env={"COLUMNS": "200"}
    )
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Incomplete data" in text
    assert "Order defect rate (seller-fulfilled): no A-to-z claims, chargebacks" in text
    data = json.loads(
        tsunagu(tmp_path, "health", "show", "--seller", seller, "-m", "US", "--json").stdout
    )
    assert data[0]["data_status"] == "incomplete"
    # the sample's negative feedback puts the seller-fulfilled ODR over its 1% target
    missed = [m["name"] for m in data[0]["metrics"] if m["status"] == "BAD"]
    assert missed == ["order_defect_rate_mfn"]
    assert "Over their target: Order defect rate (seller-fulfilled)" in text
    japanese = tsunagu(
        tmp_path,
        "health",
        "show",
        "--seller",
        seller,
        "-m",
        "US",
        "--lang",
        "ja",
        env={"COLUMNS": "200"},
    ).stdout
    assert "データ不足" in japanese
    assert "Incomplete data" not in japanese
