"""The one results table of ``make bench``: rows, ratios, targets, and how they are written out.

Pure functions only (no timing, no processes), so the arithmetic and the "met?" verdicts can be
tested on their own (``tests/unit/test_bench_table.py``). :mod:`benchmarks.__main__` fills the
rows from the individual benchmarks' JSON.

A row compares tsunagu with a reference measured in the same run on the same data. Its ratio is
tsunagu ÷ reference, except for a row marked ``faster``, where it is reference ÷ tsunagu (how many
times faster tsunagu is). A target bounds either the ratio or tsunagu's own value (peak memory,
errors). A row that could not be measured keeps its place and says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["<=", ">=", "<", "=="]
_OP_TEXT = {"<=": "≤", ">=": "≥", "<": "<", "==": "="}


@dataclass(frozen=True)
class Target:
    """``op bound`` on the row's ratio (``on="ratio"``) or on tsunagu's value (``"tsunagu"``)."""

    op: Op
    bound: float
    on: Literal["ratio", "tsunagu"] = "ratio"

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.op == "<=":
            return value <= self.bound
        if self.op == ">=":
            return value >= self.bound
        if self.op == "<":
            return value < self.bound
        return value == self.bound


@dataclass(frozen=True)
class Row:
    """One line of the table. ``tsunagu`` and ``reference`` are in ``unit``; ``None`` is absent
    (no reference for this row, or not measured); ``reason`` says why a row was not measured."""

    what: str
    tsunagu: float | None
    unit: str
    reference: float | None = None
    reference_label: str = ""
    target: Target | None = None
    faster: bool = False
    peak_rss_mb: float | None = None
    note: str = ""
    reason: str = ""

    @property
    def ratio(self) -> float | None:
        if self.faster:
            return ratio_of(self.reference, self.tsunagu)
        return ratio_of(self.tsunagu, self.reference)

    @property
    def met(self) -> bool | None:
        """True or False against the target; None when there is no target or nothing measured."""
        if self.target is None or self.reason:
            return None
        value = self.ratio if self.target.on == "ratio" else self.tsunagu
        return None if value is None else self.target.holds(value)


def not_measured(what: str, reason: str, *, unit: str = "", target: Target | None = None) -> Row:
    """A row that keeps its place in the table and says why it has no numbers."""
    return Row(what=what, tsunagu=None, unit=unit, target=target, reason=reason)


def ratio_of(top: float | None, bottom: float | None) -> float | None:
    """``top ÷ bottom``; infinite when the top is (a request that never came back is infinitely
    slow, whatever the reference did); None when either is missing or NaN, or the bottom is zero
    or infinite under a finite top."""
    if top is None or bottom is None or math.isnan(top) or math.isnan(bottom):
        return None
    if math.isinf(top):
        return math.inf
    if bottom == 0 or math.isinf(bottom):
        return None
    return top / bottom


# --------------------------------------------------------------------------- text


def format_number(value: float) -> str:
    """About three significant figures, thousands separated."""
    if math.isinf(value):
        return "∞"
    if math.isnan(value):
        return "n/a"
    size = abs(value)
    if value == int(value):
        return f"{int(value):,}"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if math.isinf(value) and unit == "ms":
        return "timeout"
    text = format_number(value)
    return f"{text} {unit}" if unit else text


def format_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "—"
    return f"{format_number(ratio)}× faster" if row.faster else f"{format_number(ratio)}×"


def format_target(row: Row) -> str:
    target = row.target
    if target is None:
        return "— (reported)"
    op = _OP_TEXT[target.op]
    bound = f"{target.bound:g}"
    if target.on == "ratio":
        return f"{op} {bound}× faster" if row.faster else f"{op} {bound}×"
    return f"{op} {bound} {row.unit}" if row.unit else f"{op} {bound}"


def format_met(row: Row) -> str:
    if row.reason and row.target is not None:
        return "not measured"
    met = row.met
    if met is None:
        return "—"
    return "yes" if met else "no"


COLUMNS = ("what", "tsunagu", "reference (same run, same data)", "ratio", "target", "met?")
COLUMNS_RSS = (*COLUMNS, "peak RSS")


def cells(row: Row, mark: str = "") -> list[str]:
    """The row's cells in :data:`COLUMNS_RSS` order; ``mark`` points to the row's footnote."""
    what = f"{row.what} {mark}".rstrip()
    measured = format_value(row.tsunagu, row.unit)
    tsunagu = f"not measured {mark}".rstrip() if row.reason else measured
    if row.reference is None:
        reference = row.reference_label or "—"
    else:
        value = format_value(row.reference, row.unit)
        reference = f"{row.reference_label}: {value}" if row.reference_label else value
    rss = "—" if row.peak_rss_mb is None else f"{row.peak_rss_mb:,.0f} MB"
    return [what, tsunagu, reference, format_ratio(row), format_target(row), format_met(row), rss]


def footnote(row: Row) -> str:
    """What a row says beyond its cells: its sizes and details, or why it was not measured."""
    parts = [row.note] if row.note else []
    if row.reason:
        parts.append(f"not measured: {row.reason}")
    return "; ".join(parts)


def markdown(rows: Sequence[Row]) -> str:
    """A Markdown table, padded so it also reads well in a terminal, then its footnotes."""
    notes: list[str] = []  # one number per distinct text
    body = []
    for row in rows:
        mark = ""
        if text := footnote(row):
            if text not in notes:
                notes.append(text)
            mark = f"[{notes.index(text) + 1}]"
        body.append([cell.replace("|", "\\|") for cell in cells(row, mark)])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(COLUMNS_RSS)]
    right = {1, 2, 3, 6}  # numbers

    def line(values: Sequence[str]) -> str:
        padded = [
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i in right else "-" * (w + 2) for i, w in enumerate(widths)
    )
    table = [line(COLUMNS_RSS), rule + "|", *(line(b) for b in body)]
    if notes:
        table.append("")
        table += [f"[{n}] {text}" for n, text in enumerate(notes, start=1)]
    return "\n".join(table)


def summary(rows: Sequence[Row]) -> str:
    """One sentence: how many targets were met, and which were not."""
    judged = [r for r in rows if r.target is not None]
    met = [r for r in judged if r.met]
    missed = [r.what for r in judged if r.met is False]
    unmeasured = [r.what for r in judged if r.reason]
    text = f"{len(met)} of {len(judged)} targets met"
    if missed:
        text += "; not met: " + "; ".join(missed)
    if unmeasured:
        text += "; not measured: " + "; ".join(unmeasured)
    return text + "."


# --------------------------------------------------------------------------- JSON


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def as_json(row: Row) -> dict[str, Any]:
    """Plain JSON values; an infinite value (a request that never came back) becomes null and
    ``"infinite": true``."""
    ratio = row.ratio
    values = (row.tsunagu, row.reference, ratio)
    out: dict[str, Any] = {
        "what": row.what,
        "note": row.note,
        "unit": row.unit,
        "tsunagu": _finite(row.tsunagu),
        "reference": _finite(row.reference),
        "reference_label": row.reference_label,
        "ratio": _finite(ratio),
        "ratio_is": "reference / tsunagu" if row.faster else "tsunagu / reference",
        "target": None
        if row.target is None
        else {"op": row.target.op, "bound": row.target.bound, "on": row.target.on},
        "target_text": format_target(row),
        "met": row.met,
        "peak_rss_mb": row.peak_rss_mb,
        "not_measured": row.reason or None,
    }
    if any(v is not None and math.isinf(v) for v in values):
        out["infinite"] = True
    return out


def document(rows: Sequence[Row], context: Mapping[str, Any]) -> dict[str, Any]:
    return {**context, "rows": [as_json(r) for r in rows], "summary": summary(rows)}
