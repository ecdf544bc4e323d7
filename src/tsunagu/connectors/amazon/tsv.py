"""Reading Amazon's tab-separated flat-file reports.

Seller Central hands out these reports as plain tab-separated text with one header line and no
quoting: a product name may hold a raw ``"`` (``13" x 33"``), so nothing is unquoted here. JP files
come either as UTF-8 (often with a BOM) or as CP932; we try UTF-8 first because a CP932 file almost
never decodes as valid UTF-8, while the reverse is common. CP932 rather than ``shift_jis``: it is
the superset Windows and Amazon use, and it holds IBM extension characters such as 髙 and maps
``81 60`` to ～ (U+FF5E) the way the file's author meant it.

Columns are found by header name (case-insensitive, surrounding blanks and a BOM ignored), never by
position, because Amazon appends columns over time. The whole file is loaded into memory: reports
are per seller and a few MB even for busy stores, so this is fine up to roughly 100 MB; a bigger
file would call for a streaming reader.

Problems with the file as a whole raise :class:`UsageError` (the CLI exits 2): a compressed or
UTF-16 file (told by its first bytes before anything is decoded: a UTF-16 file would otherwise
decode as CP932 garbage), a header holding a NUL or another control character, a column named
twice (``duplicate_column``: which of the two would be meant is anyone's guess). Problems with
single values, a control character in a cell included, are left to the callers, which report
them per row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tsunagu.core.errors import UsageError
from tsunagu.core.i18n import N_
from tsunagu.core.text import SNIFF_BYTES, control_character, not_text_error, require_text

_BOM = "\ufeff"
#: What may put a control character into a cell: any but the tab and line feed that separate
#: cells and lines, and the carriage return of a CRLF line end. Searched once in the whole text.
_CELL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A decoded report: the detected encoding, the header and the data rows.

    ``rows`` holds ``(line_number, {column: value})`` with physical line numbers (header = 1);
    blank lines are skipped, short lines padded with empty strings, values stripped of blanks.
    """

    encoding: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    #: False when no line can hold a control character in a cell, so that importers need not
    #: look row by row (:data:`_CELL_CONTROL`); True means "look".
    cell_controls: bool = True


def _normalise_name(name: str) -> str:
    return name.replace(_BOM, "").strip().lower()


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass  # a BOM followed by non-UTF-8 bytes: no encoding we know fits
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError:
            pass
    raise UsageError(
        N_("{path} is neither UTF-8 nor CP932 (Shift_JIS) text"),
        code="unreadable_file",
        path=str(path),
        details={"path": str(path)},
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(
            N_("Cannot read {path}: {reason}"),
            code="unreadable_file",
            path=str(path),
            reason=exc.strerror or type(exc).__name__,
            details={"path": str(path)},
        ) from exc


def _check_names(columns: Sequence[str], shown: str) -> None:
    """Header names hold no control character, and no name comes twice (blank names, from
    trailing tabs, are no columns anyone reads and may repeat)."""
    for index, name in enumerate(columns):
        if control_character(name) is not None:
            raise UsageError(
                N_("{path}: the name of column {number} holds a control character"),
                code="invalid_value",
                path=shown,
                number=index + 1,
                details={"path": shown, "line": 1, "field": f"column {index + 1}", "value": name},
            )
    seen: set[str] = set()
    repeated: list[str] = []
    for name in columns:
        if name and name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        raise UsageError(
            N_("{path} has the column {columns} more than once"),
            code="duplicate_column",
            path=shown,
            columns=", ".join(repeated),
            details={"path": shown, "columns": repeated},
        )


def read_report(
    path: Path,
    required: Sequence[str],
    aliases: Mapping[str, str] | None = None,
) -> ReportFile:
    """Load ``path`` and check that every ``required`` column is in its header.

    ``aliases`` maps other header spellings (e.g. a translated header) to the names the caller
    uses; both sides are compared case-insensitively.
    """
    data = _read_bytes(path)
    # a stray NUL in a cell is a row error; a file that is NUL bytes throughout fails on its header
    require_text(data[:SNIFF_BYTES], str(path), nul_is_binary=False)
    text, encoding = _decode(data, path)
    return parse_report(text, encoding, required, aliases, path=path)


def parse_report(
    text: str,
    encoding: str,
    required: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    *,
    path: Path | None = None,
) -> ReportFile:
    """Split decoded text into header and rows (see :func:`read_report`)."""
    shown = str(path) if path is not None else "<input>"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates cannot come from decoding a file, but text handed in directly
            # may hold them; they would make every event built from the row unstorable.
            text = text.encode("utf-8", "replace").decode("utf-8")
    alias_map = {_normalise_name(k): _normalise_name(v) for k, v in (aliases or {}).items()}
    # Lines end at "\n" only (a stray "\r" or form feed inside a value must not shift the
    # physical line numbers we report); the "\r" of CRLF is removed with the other blanks.
    lines = text.split("\n")
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise UsageError(
            N_("{path} is empty: there is no header line"),
            code="empty_file",
            path=shown,
            details={"path": shown},
        )
    header = lines[header_at].rstrip("\r")
    if "\x00" in header:  # UTF-16 without a byte-order mark, or not text at all
        raise not_text_error("binary", shown)
    raw_names = header.split("\t")
    columns = [alias_map.get(n, n) for n in map(_normalise_name, raw_names)]
    _check_names(columns, shown)
    wanted = [_normalise_name(name) for name in required]
    if len(columns) == 1 and len(wanted) > 1:
        raise UsageError(
            N_("{path} is not tab-separated: its header has a single column"),
            code="not_tab_separated",
            path=shown,
            details={"path": shown},
        )
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise UsageError(
            N_("{path} lacks the required column(s): {columns}"),
            code="missing_column",
            path=shown,
            columns=", ".join(missing),
            details={"path": shown, "columns": missing},
        )
    positions: dict[str, int] = {}  # names are unique but for blank ones: the first blank wins
    for index, name in enumerate(columns):
        positions.setdefault(name, index)
    rows: list[tuple[int, dict[str, str]]] = []
    width = len(columns)
    simple = len(positions) == width  # no repeated header names: zip cells to names directly
    for index in range(header_at + 1, len(lines)):
        line = lines[index]
        if not line.strip():
            continue
        cells = line.rstrip("\r").split("\t")
        if simple and len(cells) >= width:
            values = dict(zip(columns, map(str.strip, cells), strict=False))
        else:
            values = {
                name: cells[pos].strip() if pos < len(cells) else ""
                for name, pos in positions.items()
            }
        rows.append((index + 1, values))
    controls = _CELL_CONTROL.search(text) is not None
    return ReportFile(encoding=encoding, columns=columns, rows=rows, cell_controls=controls)
