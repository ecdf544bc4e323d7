"""The JSON-lines source under arbitrary input, and what an import leaves behind."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Db
from tests.factories import NOW, make_seller, placed
from tsunagu.cli.reporting import PROGRESS_THRESHOLD, progress_for
from tsunagu.core.errors import UsageError
from tsunagu.core.text import SNIFF_BYTES, not_text
from tsunagu.events import ingest
from tsunagu.events.jsonl import jsonl_source

LINES = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.text(max_size=40).map(str.encode),
        st.sampled_from(
            [
                b"{}",
                b"[]",
                b"null",
                b'{"type": "order_placed"}',
                b"\xff\xfe{",
                b'{"event_id": 1}',
                b"\xef\xbb\xbf{}",
            ]
        ),
    ),
    max_size=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=LINES)
def test_any_bytes_give_a_report_never_an_exception(
    sqlite_db: Db, tmp_path: Path, lines: list[bytes]
):
    """IMP-07 for events files: every line is stored, a duplicate, or a row error; or, when the
    file is not text (compressed, UTF-16, a NUL byte) or holds no event, the whole file is one
    ``unreadable_file`` or ``empty_file`` error (item 11c)."""
    path = tmp_path / "fuzz.jsonl"
    physical = [line.replace(b"\n", b" ") for line in lines]
    data = b"\n".join(physical)
    path.write_bytes(data)
    refused: UsageError | None = None
    try:
        report = ingest.run(
            sqlite_db.factory,
            jsonl_source(path),
            registry=sqlite_db.registry,
            now=NOW,
            source_label="test",
            dry_run=True,
        )
    except UsageError as exc:
        refused = exc
    if not_text(data[:SNIFF_BYTES]) is not None:
        assert refused is not None
        assert refused.code == "unreadable_file"
        return
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        assert refused is not None
        assert refused.code == "empty_file"
        return
    assert refused is None
    if physical:  # a byte-order mark starts the file, not the first event
        physical[0] = physical[0].removeprefix(b"\xef\xbb\xbf")
    non_blank = sum(1 for line in physical if line.strip())
    assert report.read == non_blank
    assert report.read == report.stored + report.duplicates + report.rejected
    assert all(e.line >= 1 and e.code for e in report.errors)


def test_line_numbers_are_physical_lines_blank_lines_included(sqlite_db: Db, tmp_path: Path):
    seller = make_seller(sqlite_db)
    import json

    path = tmp_path / "e.jsonl"
    path.write_text("\n\n" + json.dumps(placed(seller, "503-1")) + "\n\nnot json\n")
    report = ingest.run(
        sqlite_db.factory,
        jsonl_source(path),
        registry=sqlite_db.registry,
        now=NOW,
        source_label="test",
    )
    assert [(e.line, e.code) for e in report.errors] == [(5, "invalid_json")]
    assert report.stored == 1


def test_progress_bar_only_for_big_files():
    with progress_for(PROGRESS_THRESHOLD - 1, quiet=False) as small:
        assert small is None
    with progress_for(PROGRESS_THRESHOLD, quiet=False) as big:
        assert big is not None
        big("check", 10)
        big("store", 10)
    with progress_for(PROGRESS_THRESHOLD * 10, quiet=True) as quiet:
        assert quiet is None
