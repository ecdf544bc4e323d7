"""API-10 and IMP-04 at the command line, on SQLite and PostgreSQL: a real ``tsunagu`` process,
with hostile values stored in the database or sent in files, and issue 11's file-level outcomes
(binary or empty events files, header-only Amazon reports).

"No raw control character reaches the terminal" is checked on the bytes the process wrote: an
``ESC [2J`` stored in an order id once cleared the screen of whoever ran ``orders list``.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Db
from tests.factories import NOW, make_seller, placed
from tests.integration.test_cli import tsunagu, write_jsonl
from tsunagu.events import ingest
from tsunagu.events.rules import from_canonical

DATA = Path(__file__).resolve().parent.parent / "data" / "amazon"
#: clear the screen, set the window title, an 8-bit CSI and a bell
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m503"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\x00")


def cli(
    db: Db, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # a wide terminal: a table cell wrapped over two lines would split the escapes looked for
    full = {"TSUNAGU_DATABASE_URL": db.url, "COLUMNS": "300", **(env or {})}
    return tsunagu(cwd, *args, env=full)


def assert_no_raw_controls(r: subprocess.CompletedProcess[str]) -> None:
    for char in RAW_CONTROLS:
        assert char not in r.stdout, (char, r.stdout)
        assert char not in r.stderr, (char, r.stderr)
    assert "Traceback" not in r.stdout + r.stderr


def store_unchecked(db: Db, event: dict[str, Any]) -> None:
    """Store an event the way data got in before ids were checked: already canonical, so the
    pipeline does not validate it again (as for a connector's events)."""
    report = ingest.run(
        db.factory,
        lambda: [(1, from_canonical(event))],
        registry=db.registry,
        now=NOW,
        source_label="test",
    )
    assert report.stored == 1, report.errors


def test_api_10_orders_list_shows_a_hostile_order_id_escaped_never_raw(db: Db, tmp_path: Path):
    """API-10: terminal output escapes control characters. An order id holding ``ESC [2J``
    (stored before ids were checked) is shown as ``\\u001b[2J`` in the table and in JSON."""
    seller = make_seller(db)
    event = placed(seller, HOSTILE, when="2026-11-20T00:00:00Z", event_id="legacy-1")
    event["marketplace"] = "JP"
    store_unchecked(db, event)

    table = cli(db, tmp_path, "orders", "list", "--seller", seller)
    assert table.returncode == 0, table.stderr
    assert_no_raw_controls(table)
    assert "\\u001b[2J\\u001b]0;pwned\\u0007\\u009b31m503" in table.stdout

    as_json = cli(db, tmp_path, "orders", "list", "--seller", seller, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert_no_raw_controls(as_json)
    assert [o["order_id"] for o in json.loads(as_json.stdout)["items"]] == [HOSTILE]

    # on a colour terminal Rich writes its own styles (ESC [1m …), never the stored ones
    coloured = cli(db, tmp_path, "orders", "list", "--seller", seller, env={"FORCE_COLOR": "1"})
    assert coloured.returncode == 0, coloured.stderr
    assert "\x1b[1m" in coloured.stdout  # the header is bold: styles do reach the terminal
    for sequence in ("\x1b[2J", "\x1b]0;", "\x07", "\x9b"):
        assert sequence not in coloured.stdout


def test_api_10_markup_in_an_order_id_is_text_never_a_hyperlink(db: Db, tmp_path: Path):
    """API-10: ``[link=…]`` is printable, so an event may carry it in an order id; the table
    shows it as written and the terminal gets no hyperlink (OSC 8) from it."""
    seller = make_seller(db)
    order_id = "[link=https://evil.example/]503-1[/link]"
    path = write_jsonl(tmp_path / "e.jsonl", [placed(seller, order_id)])
    assert cli(db, tmp_path, "events", "import", str(path)).returncode == 0
    r = cli(db, tmp_path, "orders", "list", "--seller", seller, env={"FORCE_COLOR": "1"})
    assert r.returncode == 0, r.stderr
    assert order_id in r.stdout
    assert "\x1b]8;" not in r.stdout


def test_api_10_rejected_values_and_error_messages_are_escaped(db: Db, tmp_path: Path):
    """API-10: the table of rejected rows and the error line show hostile values escaped; the
    events with a NUL or an ESC in an id are row errors naming the field (a PostgreSQL
    traceback before)."""
    seller = make_seller(db)
    path = write_jsonl(
        tmp_path / "hostile.jsonl",
        [
            placed(seller, "503-1234567-1234567"),
            placed(seller, "503-1\u0000", event_id="nul"),
            placed(seller, "503-2", event_id=f"e{HOSTILE}"),
        ],
    )
    r = cli(db, tmp_path, "events", "import", str(path))
    assert r.returncode == 1, r.stderr
    assert_no_raw_controls(r)
    assert "\\u0000" in r.stdout
    assert "\\u001b[2J" in r.stdout
    as_json = cli(db, tmp_path, "events", "import", str(path), "--json")
    report = json.loads(as_json.stdout)
    assert [(e["line"], e["field"], e["code"]) for e in report["errors"]] == [
        (2, "order_id", "invalid_value"),
        (3, "event_id", "invalid_value"),
    ]
    unknown = cli(db, tmp_path, "sellers", "show", "sel_\u200b\u202enope")
    assert unknown.returncode == 1
    assert_no_raw_controls(unknown)
    assert "\\u202e" in unknown.stderr


def test_api_10_an_argument_with_a_control_character_exits_2_naming_it(db: Db, tmp_path: Path):
    r = cli(db, tmp_path, "orders", "list", "--seller", "\x1b[2Jsel")
    assert r.returncode == 2
    assert_no_raw_controls(r)
    assert "invalid_value" in r.stderr
    assert "--seller" in r.stderr
    r = cli(db, tmp_path, "sellers", "create", "--name=Kyoto\x1bTea", "-m", "JP")
    assert r.returncode == 2
    assert "--name" in r.stderr


def _orders_row(**cells: str) -> str:
    header = (DATA / "all-orders-us.txt").read_text(encoding="utf-8").split("\n", 1)[0]
    return "\t".join(cells.get(name, "") for name in header.split("\t"))


def test_api_10_a_nul_in_an_amazon_cell_is_a_row_error_on_both_databases(db: Db, tmp_path: Path):
    """API-10 / IMP-04: a NUL in a cell was a psycopg.DataError traceback on PostgreSQL; now it
    is a row error with line, field, code and value, and the good rows are stored."""
    seller = make_seller(db)
    header = (DATA / "all-orders-us.txt").read_text(encoding="utf-8").split("\n", 1)[0]
    good = {
        "amazon-order-id": "112-4830291-5520147",
        "purchase-date": "2026-10-01T08:14:52-07:00",
        "order-status": "Shipped",
        "fulfillment-channel": "Merchant",
        "sales-channel": "Amazon.com",
        "sku": "MATCHA-UJI-100G",
        "quantity": "1",
        "currency": "USD",
        "item-price": "19.99",
    }
    bad = {**good, "amazon-order-id": "112-0000000-0000002", "sku": "MAT\x00CHA"}
    traversal = {**good, "amazon-order-id": "../../../etc/passwd"}
    path = tmp_path / "orders.txt"
    rows = [_orders_row(**cells) for cells in (good, bad, traversal)]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    r = cli(db, tmp_path, "import", "amazon-orders", str(path), "--seller", seller, "-m", "US")
    assert r.returncode == 1, r.stderr
    assert_no_raw_controls(r)
    as_json = cli(
        db, tmp_path, "import", "amazon-orders", str(path), "--seller", seller, "-m", "US",
        "--json",
    )  # fmt: skip
    report = json.loads(as_json.stdout)
    assert [(e["line"], e["field"], e["code"], e["value"]) for e in report["errors"]] == [
        (3, "sku", "invalid_value", "MAT\x00CHA"),
        (4, "amazon-order-id", "invalid_order_id", "../../../etc/passwd"),
    ]
    listed = json.loads(cli(db, tmp_path, "orders", "list", "--seller", seller, "--json").stdout)
    assert [o["order_id"] for o in listed["items"]] == ["112-4830291-5520147"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (gzip.compress(b'{"event_id": "e1"}\n' * 50), "compressed"),
        (bytes(range(256)) * 4, "NUL bytes"),
        ('{"event_id": "e1"}\n{"event_id": "e2"}\n'.encode("utf-16"), "UTF-16"),
    ],
    ids=["gzip", "binary", "utf-16"],
)
def test_item_11c_a_binary_events_file_is_one_file_error_exit_2(
    db: Db, tmp_path: Path, content: bytes, reason: str
):
    """Item 11c: a gzip, binary or UTF-16 file gave one error per line; now it is one
    ``unreadable_file`` error, exit 2, and nothing is read or recorded as rows."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    r = cli(db, tmp_path, "events", "import", str(path))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.count("unreadable_file") == 1
    assert_no_raw_controls(r)
    assert reason in r.stderr


@pytest.mark.parametrize(
    "content", [b"", b"\n\n   \n", b"\xef\xbb\xbf\n"], ids=["empty", "blank", "bom"]
)
def test_item_11c_an_empty_events_file_says_so(db: Db, tmp_path: Path, content: bytes):
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    r = cli(db, tmp_path, "events", "import", str(path))
    assert r.returncode == 2
    assert "empty_file" in r.stderr
    assert "empty" in r.stderr.split("empty_file", 1)[1]


@pytest.mark.parametrize(
    ("kind", "sample"),
    [
        ("orders", "all-orders-us.txt"),
        ("unshipped", "unshipped-us.txt"),
        ("feedback", "feedback-us.txt"),
    ],
)
def test_item_11f_a_header_only_amazon_file_imports_nothing_and_says_no_rows(
    db: Db, tmp_path: Path, kind: str, sample: str
):
    """Item 11f: a report with its header and no rows is what Amazon hands out when there is
    nothing to report: exit 0 (not a failure), with a warning naming ``no_rows`` on standard
    error and ``file.warning`` in ``--json``, the same for the three reports and the API."""
    seller = make_seller(db)
    header = (DATA / sample).read_text(encoding="utf-8").split("\n", 1)[0]
    path = tmp_path / f"{kind}.txt"
    path.write_text(header + "\n", encoding="utf-8")
    args = ("import", f"amazon-{kind}", str(path), "--seller", seller, "-m", "US")
    r = cli(db, tmp_path, *args)
    assert r.returncode == 0, r.stderr
    assert "read 0 · stored 0" in r.stdout
    assert "(no_rows)" in r.stderr
    assert "no rows" in r.stderr
    as_json = cli(db, tmp_path, *args, "--json")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert (report["read"], report["file"]["rows"], report["file"]["warning"]) == (0, 0, "no_rows")
