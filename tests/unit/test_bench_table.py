"""The table of `make bench`: ratios, the "met?" verdicts and how rows are written out."""

from __future__ import annotations

import json
import math

from benchmarks import rows as bench_rows
from benchmarks.rows import error_line
from benchmarks.table import (
    Row,
    Target,
    as_json,
    cells,
    format_number,
    markdown,
    not_measured,
    ratio_of,
    summary,
)


def test_ratio_is_tsunagu_over_reference_and_met_when_within_an_upper_bound() -> None:
    row = Row("store page vs overview", 60.0, "ms", reference=20.0, target=Target("<=", 3))
    assert row.ratio == 3.0
    assert row.met is True
    slower = Row("store page vs overview", 61.0, "ms", reference=20.0, target=Target("<=", 3))
    assert slower.met is False


def test_faster_row_divides_reference_by_tsunagu_and_needs_the_lower_bound() -> None:
    row = Row("absorb", 0.5, "s", reference=40.0, target=Target(">=", 100), faster=True)
    assert row.ratio == 80.0
    assert row.met is False
    assert cells(row)[3] == "80× faster"
    assert cells(row)[4] == "≥ 100× faster"
    assert cells(Row("rollups", 1.0, "s", reference=1.0, target=Target("<=", 1.5)))[4] == "≤ 1.5×"


def test_target_on_tsunagus_own_value_ignores_the_reference() -> None:
    rss = Row("import peak RSS", 499.0, "MB", target=Target("<", 500, on="tsunagu"))
    assert rss.ratio is None
    assert rss.met is True
    assert cells(rss)[4] == "< 500 MB"
    errors = Row("failed requests", 1, "", target=Target("==", 0, on="tsunagu"))
    assert errors.met is False


def test_a_request_that_never_came_back_makes_the_ratio_infinite_and_the_target_missed() -> None:
    row = Row("p99", math.inf, "ms", reference=4.0, target=Target("<=", 3))
    assert row.ratio == math.inf
    assert row.met is False
    assert cells(row)[1] == "timeout"
    data = as_json(row)
    assert data["tsunagu"] is None
    assert data["ratio"] is None
    assert data["infinite"] is True
    json.dumps(data, allow_nan=False)  # plain JSON, no Infinity
    both = Row("p99", math.inf, "ms", reference=math.inf, target=Target("<=", 3))
    assert both.met is False


def test_ratio_without_a_usable_reference_is_absent() -> None:
    assert ratio_of(1.0, None) is None
    assert ratio_of(None, 1.0) is None
    assert ratio_of(1.0, 0.0) is None
    assert ratio_of(1.0, math.inf) is None
    assert ratio_of(math.nan, 1.0) is None


def test_a_row_without_a_target_is_reported_not_judged() -> None:
    row = Row("full recompute vs SQL", 7.1, "s", reference=1.0)
    assert row.met is None
    assert cells(row)[4:6] == ["— (reported)", "—"]


def test_a_row_that_could_not_be_measured_keeps_its_place_and_says_why() -> None:
    row = not_measured("p99", "load test not run (--seconds 0)", unit="ms", target=Target("<=", 3))
    assert row.met is None
    assert cells(row, "[1]")[1] == "not measured [1]"
    assert cells(row)[5] == "not measured"
    assert markdown([row]).splitlines()[-1] == "[1] not measured: load test not run (--seconds 0)"
    assert "not measured: p99" in summary([row])


def test_summary_counts_met_targets_and_names_the_missed_ones() -> None:
    met = Row("a", 1.0, "s", reference=1.0, target=Target("<=", 1))
    missed = Row("b", 2.0, "s", reference=1.0, target=Target("<=", 1))
    reported = Row("c", 2.0, "s", reference=1.0)
    assert summary([met, missed, reported]) == "1 of 2 targets met; not met: b."


def test_markdown_has_a_header_a_rule_and_one_line_per_row_with_pipes_escaped() -> None:
    rows = [Row("a | b", 1.5, "s", reference=1.0, peak_rss_mb=123.4)]
    lines = markdown(rows).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("| what")
    assert set(lines[1]) <= {"|", "-", ":"}
    assert "a \\| b" in lines[2]
    assert lines[2].count(" | ") == 6  # seven cells
    assert "123 MB" in lines[2]


def test_notes_become_numbered_footnotes_under_the_table() -> None:
    rows = [
        Row("a", 1.0, "s", note="1,000 sellers"),
        Row("b", 1.0, "s"),
        Row("c", 1.0, "s", note="one process"),
    ]
    lines = markdown(rows).splitlines()
    assert lines[2].startswith("| a [1] ")
    assert lines[3].startswith("| b ")
    assert lines[4].startswith("| c [2] ")
    assert lines[-2:] == ["[1] 1,000 sellers", "[2] one process"]


def test_rows_with_the_same_footnote_share_its_number() -> None:
    rows = [
        not_measured("a", "the server did not start"),
        not_measured("b", "the server did not start"),
    ]
    lines = markdown(rows).splitlines()
    assert "| a [1] " in lines[2]
    assert "| b [1] " in lines[3]
    assert lines[-1] == "[1] not measured: the server did not start"
    assert lines[-2] == ""


def test_the_reason_a_process_failed_is_the_line_naming_the_error() -> None:
    stderr = [
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: orders",
        "[SQL: SELECT 1]",
        "(Background on this error at: https://example.invalid/e3q8)",
    ]
    assert error_line(stderr).startswith("sqlalchemy.exc.OperationalError: (sqlite3")
    assert error_line(["the server did not start"]) == "the server did not start"
    assert error_line([]) == "no output"
    boxed = ["╭─ Error ──╮", "│ Invalid value for '--orders': 10   │", "╰──────────╯"]
    assert error_line(boxed) == "Invalid value for '--orders': 10"
    assert len(error_line(["ValueError: " + "x" * 500])) == 240


def test_numbers_read_without_scientific_notation() -> None:
    assert format_number(756.4) == "756"
    assert format_number(1_000_000) == "1,000,000"
    assert format_number(36.04) == "36.0"
    assert format_number(1.456) == "1.46"
    assert format_number(0.0812) == "0.081"
    assert format_number(0) == "0"


def test_health_rows_without_a_load_test_say_why_and_keep_the_other_rows() -> None:
    step = {"peak_rss_mb": 100.0}
    result = {
        "sellers": 10,
        "orders": 1000,
        "events": 3000,
        "mismatches": [],
        "steps": [
            {"key": "sqlite", "seconds": 1.0, **step},
            {"key": "full", "seconds": 6.25, **step},
            {"key": "rollups_built", "seconds": 14.0, **step},
            {"key": "rollups_read", "seconds": 1.4, **step},
            {"key": "store_spread", "seconds": 0.3, **step},
            {"key": "absorb_spread", "seconds": 0.0625, **step},
        ],
        "incremental": [{"where": "random stores", "stores": 8, "events": 1000, "stored": 1000}],
        "load": {},
        "load_error": "SystemExit: the server did not answer /healthz within 60 s",
    }
    rows = {r.what: r for r in bench_rows.health_rows(result)}
    assert rows[bench_rows.ABSORB].ratio == 100.0
    assert rows[bench_rows.ABSORB].met is True
    assert rows[bench_rows.ROLLUPS_VS_SQL].met is True
    assert rows[bench_rows.BUILT_VS_FULL].met is False
    assert rows[bench_rows.P99].reason == result["load_error"]
    assert rows[bench_rows.ERRORS].reason == result["load_error"]


def test_import_rows_carry_a_failed_importers_reason() -> None:
    result = {
        "rows": 100,
        "sellers": 1,
        "reference": {"rows": 100, "seconds": 1.0, "rows_per_second": 100.0, "peak_rss_mb": 20.0},
        "tsunagu": {"error": "tsunagu importer exited with status 1: MemoryError"},
    }
    rate, rss = bench_rows.import_rows(result)
    assert rate.reason == rss.reason == "tsunagu importer exited with status 1: MemoryError"
    assert rate.target == bench_rows.T_IMPORT_RATE
