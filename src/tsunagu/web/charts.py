"""Server-side SVG charts: the AHR waterfall and the daily history with its forecast.

Pure functions from numbers to markup (no database, no request). Every chart is an
``role="img"`` SVG with a title; the pages put a data table beside each one, so a screen reader
reads the numbers, not the drawing. Colours are drawn with text beside them, never alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 16, 40

#: fill colours with WCAG AA contrast against white for the value labels drawn beside them
UP, DOWN, TOTAL = "#1a7f37", "#c62828", "#0b5cad"


@dataclass(frozen=True)
class Step:
    """One term of the explanation: ``points`` added to the running total."""

    label: str
    points: int


def _testid(testid: str) -> str:
    return f' data-testid="{escape(testid)}"' if testid else ""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg_open(title: str, kind: str, testid: str) -> str:
    """The chart's ``<svg>`` start tag and its title."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" class="chart {kind}"{_testid(testid)}>'
        f"<title>{escape(title)}</title>"
    )


def _svg(parts: list[str]) -> Markup:
    """The chart's markup, closed."""
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704 - every text and label is escaped


def waterfall(
    steps: Sequence[Step], total: int, *, title: str, total_label: str, testid: str = ""
) -> Markup:
    """Each step as a bar from the running total before it to the one after; the last bar is
    the score itself, from zero."""
    running, spans = 0, []
    for s in steps:
        spans.append((running, running + s.points))
        running += s.points
    top = max([total, 1, *(max(a, b) for a, b in spans)])
    bottom = min([0, *(min(a, b) for a, b in spans)])
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    count = len(steps) + 1
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / count

    def y(v: float) -> float:
        return PAD_TOP + (top - v) / (top - bottom) * plot_h

    parts = [
        _svg_open(title, "waterfall", testid),
        f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{_num(y(0))}" y2="{_num(y(0))}" '
        'stroke="#57606a" stroke-width="1"/>',
    ]
    bars = [
        (s.label, a, b, UP if s.points >= 0 else DOWN)
        for s, (a, b) in zip(steps, spans, strict=True)
    ]
    bars.append((total_label, 0, total, TOTAL))
    for n, (label, a, b, colour) in enumerate(bars):
        x = PAD_LEFT + n * slot + slot * 0.15
        w = slot * 0.7
        y1, y2 = y(max(a, b)), y(min(a, b))
        h = max(y2 - y1, 1.0)
        value = b - a if n < len(steps) else total
        shown = f"{value:+d}" if n < len(steps) else str(value)
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(y1)}" width="{_num(w)}" height="{_num(h)}" '
            f'fill="{colour}" data-points="{value}"><title>{escape(label)}: {shown}</title></rect>'
        )
        parts.append(
            f'<text x="{_num(x + w / 2)}" y="{_num(y1 - 4)}" text-anchor="middle" '
            f'font-size="12" fill="#1b1f23">{escape(shown)}</text>'
        )
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{_num(x + w / 2)}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
            f'font-size="11" fill="#1b1f23">{escape(short)}</text>'
        )
    return _svg(parts)


@dataclass(frozen=True)
class Point:
    day: date
    value: float


@dataclass(frozen=True)
class _Frame:
    """Where a line chart draws a day (x) and a value (y): from ``first`` over ``span_days``
    days, and from 0 up to ``top``."""

    first: date
    span_days: int
    top: float

    def x(self, d: date) -> float:
        plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
        return PAD_LEFT + (d - self.first).days / self.span_days * plot_w

    def y(self, v: float) -> float:
        plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
        return PAD_TOP + (self.top - v) / self.top * plot_h

    def path(self, series: Sequence[Point]) -> str:
        return " ".join(f"{_num(self.x(p.day))},{_num(self.y(p.value))}" for p in series)


def _guide(frame: _Frame, value: float, label: str) -> str:
    """A dotted horizontal line at ``value``, labelled on the left."""
    y = frame.y(value)
    return (
        f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{_num(y)}" '
        f'y2="{_num(y)}" stroke="#8c959f" stroke-dasharray="2 3"/>'
        f'<text x="{PAD_LEFT - 4}" y="{_num(y + 4)}" text-anchor="end" font-size="11" '
        f'fill="#1b1f23">{escape(label)}</text>'
    )


def _series(
    frame: _Frame,
    history: Sequence[Point],
    forecast: Sequence[Point],
    alternative: Sequence[Point],
) -> list[str]:
    """The history solid with a marker at its last day, the forecast dashed from there and the
    alternative dotted; each only when it has points."""
    parts = []
    if history:
        today = frame.x(history[-1].day)
        parts.append(
            f'<polyline class="history" fill="none" stroke="{TOTAL}" stroke-width="2" '
            f'points="{frame.path(history)}"/>'
        )
        parts.append(
            f'<line class="today" x1="{_num(today)}" x2="{_num(today)}" y1="{PAD_TOP}" '
            f'y2="{HEIGHT - PAD_BOTTOM}" stroke="#57606a" stroke-width="1"/>'
        )
    if forecast:
        joined = [history[-1], *forecast] if history else list(forecast)
        parts.append(
            f'<polyline class="forecast" fill="none" stroke="{TOTAL}" stroke-width="2" '
            f'stroke-dasharray="6 4" points="{frame.path(joined)}"/>'
        )
    if alternative:
        parts.append(
            f'<polyline class="alternative" fill="none" stroke="{UP}" stroke-width="2" '
            f'stroke-dasharray="2 3" points="{frame.path(alternative)}"/>'
        )
    return parts


def _day_label(frame: _Frame, d: date, anchor: str) -> str:
    return (
        f'<text x="{_num(frame.x(d))}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="{anchor}" '
        f'font-size="11" fill="#1b1f23">{d.isoformat()}</text>'
    )


def line_chart(
    history: Sequence[Point],
    forecast: Sequence[Point] = (),
    *,
    title: str,
    alternative: Sequence[Point] = (),
    guides: Sequence[tuple[float, str]] = (),
    testid: str = "",
) -> Markup:
    """Daily values as a solid line and the forecast after them dashed, with a marker at the
    last measured day and horizontal guides (e.g. the band limits 100 and 200). ``alternative``
    is a second forecast (a what-if), dotted."""
    points = [*history, *forecast, *alternative]
    parts = [_svg_open(title, "line", testid)]
    if not points:
        return _svg(parts)
    first, last = points[0].day, points[-1].day
    top = max([1.0, *(p.value for p in points), *(g for g, _ in guides)]) * 1.1
    frame = _Frame(first, max((last - first).days, 1), top)
    parts += [_guide(frame, value, label) for value, label in guides]
    zero = _num(frame.y(0))
    parts.append(
        f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{zero}" y2="{zero}" stroke="#57606a"/>'
    )
    parts += _series(frame, history, forecast, alternative)
    parts += [_day_label(frame, d, anchor) for d, anchor in ((first, "start"), (last, "end"))]
    return _svg(parts)
