"""Events files: one JSON object per line, the format of ``tsunagu events import``, the dashboard's
upload and ``tsunagu demo load``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.core.text import SNIFF_BYTES, require_text
from tsunagu.events import ingest
from tsunagu.events.ingest import RowError

_BOM = b"\xef\xbb\xbf"


def jsonl_source(path: Path) -> ingest.Source:
    """One JSON object per line; blank lines are skipped, line numbers are physical lines.

    The file is looked at once before anything is read as events: a compressed, UTF-16 or binary
    file (a NUL byte in its first 8 KB; JSON text never holds one) is one ``unreadable_file``
    error, and a file with no event at all (empty or blank lines only) is ``empty_file``, both
    usage errors (CLI exit 2), instead of one error per line or an import of nothing.
    """
    _require_events_file(path)

    def items() -> Iterator[tuple[int, object]]:
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                raw = line.removeprefix(_BOM) if number == 1 else line
                if not raw.strip():
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    yield (
                        number,
                        RowError(
                            number, "", "invalid_encoding", None, N_("the line is not valid UTF-8")
                        ),
                    )
                    continue
                try:
                    yield number, orjson.loads(text)
                except orjson.JSONDecodeError as exc:
                    yield (
                        number,
                        RowError(
                            number,
                            "",
                            "invalid_json",
                            _snippet(text),
                            N_("not valid JSON ({reason})"),
                            {"reason": str(exc)},
                        ),
                    )

    return items


def _require_events_file(path: Path) -> None:
    shown = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
            require_text(head, shown)
            block = head.removeprefix(_BOM)
            while block and not block.strip():  # blank so far: is there anything further on?
                block = fh.read(1 << 20)
    except OSError as exc:
        raise UsageError(
            N_("Cannot read {path}: {reason}"),
            code="unreadable_file",
            path=shown,
            reason=exc.strerror or type(exc).__name__,
            details={"path": shown},
        ) from exc
    if not block.strip():
        raise UsageError(
            N_("{path} is empty: it holds no event"),
            code="empty_file",
            path=shown,
            details={"path": shown},
        )


def _snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 60 else text[:57] + "..."
