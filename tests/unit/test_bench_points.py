"""The redemption benchmark's pure parts: the pgbench script made from a captured redemption,
pgbench's summary, and the table's rows (``benchmarks/points.py``; no database needed)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from benchmarks.points import (
    LEDGER,
    REDEEM,
    TPCB,
    Ledger,
    Statement,
    client_layouts,
    literal,
    parse_pgbench,
    pgbench_script,
    points_rows,
    render,
    run_checks,
    substitutions,
    text_value,
    variables,
)

AT = datetime(2026, 12, 5, 13, 47, 25, 863516, tzinfo=UTC)
RED = "red_01m937ba94594vc1prtmwshvfj"
VALUES = substitutions(
    customers=1000,
    external="bench-0001",
    customer="cus_bench_0001",
    key="capture-key-1",
    order_id="capture-order-1",
    redemption_id=RED,
)

#: one redemption as SQLAlchemy sent it (shortened from a real capture)
CLAIM = [
    Statement(
        "SELECT points_redemptions.id FROM points_redemptions WHERE points_redemptions.marketplace"
        " = %(marketplace_1)s::VARCHAR AND points_redemptions.key = %(key_1)s::VARCHAR",
        {"marketplace_1": "JP", "key_1": "capture-key-1"},
    ),
    Statement(
        "SELECT customers.id FROM customers WHERE customers.external_id = %(e)s::VARCHAR",
        {"e": "bench-0001"},
    ),
    Statement(
        "INSERT INTO points_redemptions (id, key, customer_id, order_id, points, claimed_at) "
        "VALUES (%(id)s::VARCHAR, %(key)s::VARCHAR, %(customer_id)s::VARCHAR, "
        "%(order_id)s::VARCHAR, %(points)s::BIGINT, %(claimed_at)s::TIMESTAMP WITH TIME ZONE) "
        "ON CONFLICT (marketplace, key) DO NOTHING RETURNING points_redemptions.id",
        {
            "id": RED,
            "key": "capture-key-1",
            "customer_id": "cus_bench_0001",
            "order_id": "capture-order-1",
            "points": 1,
            "claimed_at": AT,
        },
    ),
]
SPEND = [
    Statement(
        "UPDATE points_accounts SET available=(points_accounts.available - %(a)s::BIGINT) "
        "WHERE points_accounts.customer_id = %(c)s::VARCHAR AND points_accounts.available >= "
        "%(a2)s::BIGINT RETURNING points_accounts.available",
        {"a": 1, "c": "cus_bench_0001", "a2": 1},
    ),
    Statement(
        "INSERT INTO points_entries (key, seller_id, redemption_id) VALUES (%(key)s::VARCHAR, "
        "%(seller_id)s::VARCHAR, %(redemption_id)s::VARCHAR)",
        {"key": f"redeem:{RED}", "seller_id": None, "redemption_id": RED},
    ),
    Statement(
        "UPDATE points_redemptions SET reply=%(reply)s::VARCHAR WHERE points_redemptions.id = "
        "%(id_1)s::VARCHAR",
        {
            "reply": f'{{"redemption_id":"{RED}","customer":"bench-0001","points":1,'
            '"available":999}',
            "id_1": RED,
        },
    ),
]


def test_the_script_runs_both_transactions_with_each_redemptions_values_from_variables() -> None:
    script = pgbench_script([CLAIM, SPEND], VALUES, customers=1000, ping=True)
    lines = script.splitlines()
    assert "\\set cust random(1, 1000)" in lines
    assert "\\set n :n + 1" in lines
    # the claim, then the spend, each its own transaction after the pool's pre-ping
    body = [line for line in lines if not line.startswith(("--", "\\"))]
    assert [i for i, line in enumerate(body) if line in (";", "BEGIN;", "COMMIT;")] == [
        0,
        1,
        5,
        6,
        7,
        11,
    ]
    # no captured per-redemption value is left: every client redeems for itself
    for captured in (RED, "capture-key-1", "capture-order-1", "bench-0001", "cus_bench_0001"):
        assert captured not in script
    # the customer's two ids are built from the same random number
    assert "('cus_bench_' || lpad(:cust::text, 4, '0'))::VARCHAR" in script
    assert "('bench-' || lpad(:cust::text, 4, '0'))::VARCHAR" in script
    # pgbench would replace nothing but these (no ":name" hides in a string literal)
    assert variables(script) == {"cust", "n", "run", "client_id"}


def test_without_pre_ping_the_script_sends_no_empty_query() -> None:
    script = pgbench_script([CLAIM, SPEND], VALUES, customers=1000, ping=False)
    assert ";" not in script.splitlines()
    assert script.count("BEGIN;") == script.count("COMMIT;") == 2


def test_keys_and_redemption_ids_differ_per_run_client_and_transaction() -> None:
    unique = ":run::text || '-' || :client_id::text || '-' || :n::text"
    for captured in ("capture-key-1", "capture-order-1", RED):
        assert unique in VALUES[captured]
    assert len(set(VALUES.values())) == len(VALUES)


def test_parameters_are_written_as_sql_literals() -> None:
    statement = Statement(
        "SELECT %(a)s, %(b)s, %(c)s, %(d)s, %(e)s, 100%%",
        {"a": None, "b": 7, "c": True, "d": AT, "e": "it's"},
    )
    assert render(statement, {}) == (
        "SELECT NULL, 7, true, '2026-12-05T13:47:25.863516+00:00', 'it''s', 100%"
    )


def test_a_colon_before_a_name_is_cut_out_of_the_literal_so_pgbench_leaves_it() -> None:
    assert literal("redeem:red_1") == "('redeem:' || 'red_1')"
    assert variables(literal("redeem:red_1")) == set()
    assert literal('{"points":1}') == "'{\"points\":1}'"  # a colon before a digit is no name
    assert literal("13:47:25") == "'13:47:25'"


def test_the_longest_captured_value_wins_where_two_overlap() -> None:
    values = {"bench-1": "(A)", "bench-10": "(B)"}
    assert text_value("x bench-10 y", values) == "('x ' || (B) || ' y')"
    assert text_value("bench-1", values) == "(A)"


PGBENCH_OUTPUT = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: redemption.sql
scaling factor: 1
query mode: prepared
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 12345
number of failed transactions: 3 (0.024%)
latency average = 12.960 ms
initial connection time = 25.811 ms
tps = 1234.567890 (without initial connection time)
"""


def test_pgbench_summary_is_read_from_its_output() -> None:
    assert parse_pgbench(PGBENCH_OUTPUT) == {
        "transactions": 12345,
        "failed": 3,
        "tps": 1234.56789,
        "latency_ms": 12.96,
    }


def _result(*, ours: float, theirs: float, lost: int = 0) -> dict[str, object]:
    side = {"processes": 16, "threads": 1, "redemptions": 100, "seconds": 10.0, "failed": 0}
    return {
        "clients": 16,
        "customers": 1000,
        "balance": 1_000_000,
        "seconds": 10.0,
        "statements": 8,
        "tsunagu": {
            "processes": {**side, "tps": ours, "peak_rss_mb": 80.0},
            "threads": {**side, "processes": 1, "threads": 16, "tps": ours / 2},
        },
        "pgbench": {
            "simple": {"tps": theirs, "transactions": 10, "failed": 0},
            "prepared": {"tps": theirs / 2, "transactions": 5, "failed": 0},
        },
        "tpcb": {"scale": 10, "tps": 2000.0, "transactions": 20000},
        "checks": {"redemptions": 500, "overdrafts": 0, "lost_updates": lost, "reconciled": True},
        "problems": [],
    }


def test_rows_compare_the_better_of_each_side_and_judge_half_of_pgbench() -> None:
    redeem, ledger, tpcb, default_mode = points_rows(_result(ours=500.0, theirs=1000.0))
    assert (redeem.what, ledger.what, tpcb.what) == (REDEEM, LEDGER, TPCB)
    assert redeem.tsunagu == 500.0
    assert redeem.reference == 1000.0
    assert redeem.reference_label == "pgbench -M simple"
    assert redeem.met is True
    assert "tsunagu threads 250/s" in redeem.note
    assert points_rows(_result(ours=499.0, theirs=1000.0))[0].met is False
    assert ledger.met is True
    assert tpcb.reference == 2000.0
    assert tpcb.met is None  # reported, no target
    assert default_mode.reference == 1000.0  # pgbench's simple protocol, its default
    assert default_mode.met is True


def test_a_lost_update_fails_the_ledger_row() -> None:
    ledger = points_rows(_result(ours=500.0, theirs=1000.0, lost=1))[1]
    assert ledger.tsunagu == 1
    assert ledger.met is False


def test_rows_say_why_when_nothing_was_measured() -> None:
    rows = points_rows(None, "pgbench not found")
    assert [r.reason for r in rows] == ["pgbench not found"] * 4
    failed = _result(ours=1.0, theirs=1.0)
    failed["pgbench"] = {"simple": {"error": "RuntimeError: boom"}}
    rows = points_rows(failed)
    assert rows[0].reason == "RuntimeError: boom"
    assert re.search("boom", rows[1].reason)


BEFORE = Ledger(
    {"c1": 100, "c2": 100}, redeem_entries=5, redeemed_points=5, finished=5, in_flight=0
)


def test_a_run_whose_counts_all_equal_its_redemptions_passes_the_checks() -> None:
    """LED-01, LED-02 after load: balances, entries, points and claims all moved by the
    redemptions that succeeded, customer by customer."""
    after = Ledger({"c1": 97, "c2": 99}, 9, 9, 9, 0)
    assert run_checks("run", BEFORE, after, 4, {"c1": 3, "c2": 1}) == ([], 0, 0)


def test_a_lost_balance_update_is_found_in_the_sums_and_per_customer() -> None:
    """LED-02: an entry written whose balance update was lost."""
    after = Ledger({"c1": 98, "c2": 99}, 9, 9, 9, 0)  # c1 should be 97
    problems, overdrafts, lost = run_checks("run", BEFORE, after, 4, {"c1": 3, "c2": 1})
    assert overdrafts == 0
    assert lost == 2  # the total is one short, and one customer differs
    assert any("balance decrease 3" in p for p in problems)
    assert any("1 customers" in p for p in problems)


def test_a_negative_balance_and_a_claim_left_in_flight_are_problems() -> None:
    """LED-01: no overdraft; LED-03: every claim finishes."""
    after = Ledger({"c1": -1, "c2": 100}, 106, 106, 106, 1)
    problems, overdrafts, lost = run_checks("pgbench", BEFORE, after, 101)
    assert overdrafts == 1
    assert lost == 0
    assert any("claims left in flight" in p for p in problems)


def test_sixteen_clients_on_two_cores_run_as_processes_threads_or_two_processes_of_eight() -> None:
    assert client_layouts(16, 2) == {"processes": (16, 1), "threads": (1, 16), "mixed": (2, 8)}
    assert client_layouts(15, 2)["mixed"] == (1, 15)
