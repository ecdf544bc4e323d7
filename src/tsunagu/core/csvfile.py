"""CSV files a seller opens in a spreadsheet (ADR 0036).

UTF-8 with a byte-order mark, so that Excel in Japan reads the Japanese headers and names right
instead of guessing Shift_JIS; CRLF line ends; every text cell that a spreadsheet would read as
a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading
apostrophe, which spreadsheets show as text. Numbers written by tsunagu itself (``int``,
``Decimal``) are never changed: ``-12.50`` stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"
#: what makes a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | Decimal | None


def guard(value: Cell) -> str:
    """The cell as written: text that could start a formula prefixed with ``'``; ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _line(cells: Sequence[Cell]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([guard(c) for c in cells])
    return out.getvalue()


def chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The file in pieces (for a streamed download): the BOM and header, then the rows."""
    yield (BOM + _line(header)).encode()
    batch: list[str] = []
    for row in rows:
        batch.append(_line(row))
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def text(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The whole file as text (BOM first)."""
    return b"".join(chunks(header, rows)).decode()
