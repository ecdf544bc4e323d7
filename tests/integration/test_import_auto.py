"""``tsunagu import auto``'s use case (issue 16 item 3) on both databases: many files in one
call, each one's kind and store found from the file, orders first, feedback attributed to the
store whose orders it names, a contradicting marketplace refused as a whole.

The counts come from tests/data/amazon/README.md (the samples' orders and rows)."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import Db
from tsunagu.core.db import unit_of_work
from tsunagu.core.errors import NotFound
from tsunagu.events import auto
from tsunagu.sellers.service import create_seller

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FILES = (
    "all-orders-jp-utf8.txt",
    "all-orders-us.txt",
    "feedback-jp.txt",
    "feedback-us.txt",
    "unshipped-jp.txt",
    "unshipped-us.txt",
)


def make_seller(db: Db, marketplaces: tuple[str, ...] = ("JP", "US")) -> str:
    with unit_of_work(db.factory) as session:
        return create_seller(
            session,
            name="Kyoto Tea",
            marketplaces=list(marketplaces),
            registry=db.registry,
            now=NOW,
        ).id


def uploads(*names: str) -> list[auto.Upload]:
    return [auto.Upload(DATA / name, name) for name in names]


def run(db: Db, seller: str, files: list[auto.Upload], **options: Any) -> auto.AutoResult:
    market = options.pop("marketplace", None)
    return auto.import_auto(
        db.factory,
        files,
        seller_id=seller,
        registry=db.registry,
        marketplace=db.registry.require(market) if market else None,
        clock=lambda: NOW,
        **options,
    )


def by_name(result: auto.AutoResult) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in result.as_dict("en")["files"]}


def query(db: Db, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.session() as session:
        return [tuple(r) for r in session.execute(text(sql), params)]


def feedback_by_store(db: Db, seller: str) -> dict[str, int]:
    rows = query(
        db,
        "SELECT marketplace, COUNT(*) FROM events WHERE seller_id = :s "
        "AND type = 'feedback_posted' GROUP BY marketplace",
        s=seller,
    )
    return {m: int(n) for m, n in rows}


def test_jp_and_us_files_in_shuffled_order_go_to_their_stores_orders_first(db: Db):
    seller = make_seller(db)
    names = list(FILES)
    random.Random(16).shuffle(names)
    result = run(db, seller, uploads(*names))
    files = result.as_dict("en")["files"]
    assert [f["status"] for f in files] == ["imported"] * 6
    # dependency order: both order files first, then unshipped, then feedback
    assert [f["kind"] for f in files] == [
        "orders",
        "orders",
        "unshipped",
        "unshipped",
        "feedback",
        "feedback",
    ]
    found = by_name(result)
    assert {n: (f["marketplace"], f["attributed_by"]) for n, f in found.items()} == {
        "all-orders-jp-utf8.txt": ("JP", "file"),
        "all-orders-us.txt": ("US", "file"),
        "feedback-jp.txt": ("JP", "orders"),
        "feedback-us.txt": ("US", "orders"),
        "unshipped-jp.txt": ("JP", "orders"),
        "unshipped-us.txt": ("US", "orders"),
    }
    # feedback-jp: 4 rows, all orders in the JP file; feedback-us: 5 rows, one order unknown
    assert found["feedback-jp.txt"]["report"]["stored"] == 4
    assert found["feedback-jp.txt"]["report"]["rejected"] == 0
    assert found["feedback-us.txt"]["report"]["rejected"] == 0
    assert feedback_by_store(db, seller)["JP"] == 4
    # every file is recorded in import_runs with its kind and store
    runs = query(
        db, "SELECT source_name, kind, marketplace FROM import_runs WHERE seller_id = :s", s=seller
    )
    assert sorted(runs) == sorted(
        (n, f"amazon-{f['kind']}", f["marketplace"]) for n, f in found.items()
    )


def test_feedback_alone_goes_to_the_store_whose_stored_orders_it_names(db: Db):
    seller = make_seller(db)
    run(db, seller, uploads("all-orders-us.txt", "all-orders-jp-utf8.txt"))
    result = run(db, seller, uploads("feedback-jp.txt"))
    assert by_name(result)["feedback-jp.txt"]["marketplace"] == "JP"
    assert by_name(result)["feedback-jp.txt"]["attributed_by"] == "orders"
    assert feedback_by_store(db, seller) == {"JP": 4}


def test_a_file_contradicting_the_marketplace_is_one_error_and_nothing_of_it_is_written(db: Db):
    seller = make_seller(db)
    result = run(
        db, seller, uploads("all-orders-us.txt", "all-orders-jp-utf8.txt"), marketplace="US"
    )
    found = by_name(result)
    jp = found["all-orders-jp-utf8.txt"]
    assert jp["status"] == "refused"
    assert [p["code"] for p in jp["problems"]] == ["file_marketplace_mismatch"]
    assert jp["report"] is None
    assert jp["import_id"] is None
    assert found["all-orders-us.txt"]["status"] == "imported"
    assert query(
        db, "SELECT COUNT(*) FROM orders WHERE seller_id = :s AND marketplace = 'JP'", s=seller
    ) == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM import_runs WHERE marketplace = 'JP'") == [(0,)]
    assert not result.clean


def test_feedback_whose_orders_are_in_the_other_store_contradicts_the_marketplace(db: Db):
    seller = make_seller(db)
    result = run(db, seller, uploads("all-orders-jp-utf8.txt", "feedback-jp.txt"), marketplace="JP")
    assert by_name(result)["feedback-jp.txt"]["marketplace"] == "JP"
    result = run(db, seller, uploads("feedback-jp.txt"), marketplace="US")
    fb = by_name(result)["feedback-jp.txt"]
    assert (fb["status"], [p["code"] for p in fb["problems"]]) == (
        "refused",
        ["file_marketplace_mismatch"],
    )


def test_strict_imports_nothing_when_a_file_is_refused(db: Db):
    seller = make_seller(db)
    result = run(
        db,
        seller,
        uploads("all-orders-us.txt", "all-orders-jp-utf8.txt"),
        marketplace="US",
        strict=True,
    )
    assert {f["name"]: f["status"] for f in result.as_dict()["files"]} == {
        "all-orders-us.txt": "skipped",
        "all-orders-jp-utf8.txt": "refused",
    }
    assert query(db, "SELECT COUNT(*) FROM orders WHERE seller_id = :s", s=seller) == [(0,)]


def test_feedback_of_no_known_order_with_two_stores_is_undetermined(db: Db):
    seller = make_seller(db)
    fb = by_name(run(db, seller, uploads("feedback-jp.txt")))["feedback-jp.txt"]
    assert [p["code"] for p in fb["problems"]] == ["marketplace_undetermined"]
    # one store: its rows go there (and wait for their orders)
    single = make_seller(db, ("JP",))
    fb = by_name(run(db, single, uploads("feedback-jp.txt")))["feedback-jp.txt"]
    assert (fb["marketplace"], fb["attributed_by"], fb["status"]) == (
        "JP",
        "only_store",
        "imported",
    )


def test_feedback_naming_orders_of_both_stores_is_ambiguous(db: Db, tmp_path: Path):
    seller = make_seller(db)
    run(db, seller, uploads("all-orders-us.txt", "all-orders-jp-utf8.txt"))
    jp = (DATA / "feedback-jp.txt").read_text(encoding="utf-8").splitlines()
    us = (DATA / "feedback-us.txt").read_text(encoding="utf-8").splitlines()
    both = tmp_path / "fb.txt"
    both.write_text("\n".join([jp[0], jp[1], us[1]]) + "\n", encoding="utf-8")
    fb = by_name(run(db, seller, [auto.Upload(both, "fb.txt")]))["fb.txt"]
    assert [p["code"] for p in fb["problems"]] == ["marketplace_ambiguous"]
    assert fb["problems"][0]["details"]["orders_by_store"] == {"JP": 1, "US": 1}


def test_an_unknown_file_is_refused_by_name_and_the_others_are_imported(db: Db, tmp_path: Path):
    seller = make_seller(db)
    odd = tmp_path / "notes.txt"
    odd.write_text("name\tnote\nA\tB\n", encoding="utf-8")
    result = run(db, seller, [auto.Upload(odd, "notes.txt"), *uploads("all-orders-us.txt")])
    found = by_name(result)
    assert [p["code"] for p in found["notes.txt"]["problems"]] == ["unknown_file_kind"]
    assert "notes.txt" in found["notes.txt"]["problems"][0]["message"]
    assert str(tmp_path) not in found["notes.txt"]["problems"][0]["message"]
    assert found["all-orders-us.txt"]["status"] == "imported"
    # the refused file comes last in the order, after what was imported
    assert [f["name"] for f in result.as_dict()["files"]] == ["all-orders-us.txt", "notes.txt"]


def test_the_health_report_comes_last_with_a_snapshot_per_store(db: Db):
    seller = make_seller(db)
    result = run(db, seller, uploads("v2-health-two-markets.json", "all-orders-us.txt"))
    files = result.as_dict()["files"]
    assert [(f["kind"], f["marketplace"]) for f in files] == [
        ("orders", "US"),
        ("health", "JP"),
        ("health", "US"),
    ]
    assert query(
        db, "SELECT marketplace FROM health_snapshots WHERE seller_id = :s ORDER BY 1", s=seller
    ) == [("JP",), ("US",)]
    assert query(
        db,
        "SELECT kind, marketplace FROM import_runs WHERE seller_id = :s AND kind = 'amazon-health' "
        "ORDER BY marketplace",
        s=seller,
    ) == [("amazon-health", "JP"), ("amazon-health", "US")]


def test_a_dry_run_writes_nothing_and_still_attributes_by_the_calls_orders(db: Db):
    seller = make_seller(db)
    result = run(db, seller, uploads("feedback-jp.txt", "all-orders-jp-utf8.txt"), dry_run=True)
    found = by_name(result)
    assert (found["feedback-jp.txt"]["marketplace"], found["feedback-jp.txt"]["status"]) == (
        "JP",
        "checked",
    )
    assert query(db, "SELECT COUNT(*) FROM import_runs") == [(0,)]
    assert query(db, "SELECT COUNT(*) FROM events") == [(0,)]


def test_detection_only_writes_nothing(db: Db):
    seller = make_seller(db)
    result = auto.detect_files(db.factory, uploads(*FILES), seller_id=seller, registry=db.registry)
    assert {f["status"] for f in result.as_dict()["files"]} == {"ready"}
    assert query(db, "SELECT COUNT(*) FROM import_runs") == [(0,)]


def test_the_same_call_again_stores_nothing_new(db: Db):
    seller = make_seller(db)
    run(db, seller, uploads(*FILES))
    again = run(db, seller, uploads(*reversed(FILES)))
    assert again.totals["stored"] == 0
    assert again.totals["duplicates"] > 0


def test_an_unknown_seller_is_an_error_for_the_whole_call(db: Db):
    with pytest.raises(NotFound):
        run(db, "sel_nobody", uploads("all-orders-us.txt"))


def test_a_saved_upload_shows_its_senders_name(db: Db, tmp_path: Path):
    seller = make_seller(db)
    saved = tmp_path / "upload.bin"
    shutil.copy(DATA / "feedback-jp.txt", saved)
    fb = by_name(run(db, seller, [auto.Upload(saved, "my feedback.txt")]))["my feedback.txt"]
    assert "my feedback.txt" in fb["problems"][0]["message"]


def test_every_kind_of_one_store_in_one_call_is_imported_in_dependency_order(db: Db):
    seller = make_seller(db)
    names = [
        "v2-health-us-only.json",
        "feedback-us.txt",
        "returns-us.txt",
        "shipconfirm-us.txt",
        "settlement_v2_us.txt",
        "afn-shipments-us.txt",
        "unshipped-us.txt",
        "all-orders-us.txt",
    ]
    random.Random(3).shuffle(names)
    result = run(db, seller, uploads(*names))
    files = result.as_dict("en")["files"]
    problems = {f["name"]: f["problems"] for f in files if f["problems"]}
    assert problems == {}
    assert {f["marketplace"] for f in files} == {"US"}
    kinds = [f["kind"] for f in files]
    assert kinds[0] == "orders"
    assert kinds[-1] == "health"
    assert kinds.index("settlement") > kinds.index("feedback") > kinds.index("returns")
    assert set(kinds) == {
        "orders",
        "unshipped",
        "shipconfirm",
        "afn-shipments",
        "returns",
        "feedback",
        "settlement",
        "health",
    }
    assert {f["status"] for f in files} == {"imported"}
    recorded = query(db, "SELECT kind FROM import_runs WHERE seller_id = :s", s=seller)
    assert len(recorded) == len(names)
