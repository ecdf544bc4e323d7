"""Server-side SVG charts: the AHR waterfall, the daily rating with its forecast and the trend
of a metric against its target.

Pure functions from numbers to markup (no database, no request). Every chart is an
``role="img"`` SVG with a title and a ``viewBox`` about as wide as a phone (the page draws it
at 100 % of its column), so its text stays readable at 390 px; no label is ever cut short (a
long one wraps onto more lines). The pages put a data table beside each chart, so a screen
reader reads the numbers, not the drawing. Colours are drawn with text beside them, never
alone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from markupsafe import Markup, escape

from tsunagu.core.i18n import N_, translate
from tsunagu.web import format as fmt
from tsunagu.web import labels

#: the drawing's size in user units; the page scales it to its width
WIDTH, HEIGHT = 400, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 36, 8, 22, 34
FONT = 11
#: a label's width budget in half-width characters (a CJK character counts two)
LINE_UNITS = 60

#: fill colours with WCAG AA contrast against white for the value labels drawn beside them
UP, DOWN, TOTAL = "#1a7f37", "#c62828", "#0b5cad"
INK, GRID, AXIS = "#1b1f23", "#8c959f", "#57606a"
#: a white outline under a label drawn over the plot, so a line crossing it leaves it readable
HALO = ' stroke="#fff" stroke-width="3" paint-order="stroke"'


@dataclass(frozen=True)
class Step:
    """One term of the explanation: ``points`` added to the running total."""

    label: str
    points: int


def _testid(testid: str) -> str:
    return f' data-testid="{escape(testid)}"' if testid else ""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg_open(title: str, kind: str, testid: str, height: float = HEIGHT) -> str:
    """The chart's ``<svg>`` start tag and its title."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart {kind}"'
        f"{_testid(testid)}><title>{escape(title)}</title>"
    )


def _svg(parts: list[str]) -> Markup:
    """The chart's markup, closed."""
    return Markup("".join([*parts, "</svg>"]))  # noqa: S704 - every text and label is escaped


def _units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, units: int = LINE_UNITS) -> list[str]:
    """``text`` in lines of at most ``units`` half-width characters: broken between words,
    inside a word (or a run of CJK text) only when it is longer than a line. Nothing is lost:
    the lines joined (with the spaces they were broken at) give the text back."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if _units(candidate) <= units:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for c in word:
            if _units(line + c) > units:
                lines.append(line)
                line = ""
            line += c
    if line or not lines:
        lines.append(line)
    return lines


def _text_lines(x: float, y: float, lines: Sequence[str], anchor: str = "start") -> str:
    spans = "".join(
        f'<tspan x="{_num(x)}" dy="{0 if n == 0 else FONT + 3}">{escape(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    return (
        f'<text class="label" x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" '
        f'font-size="{FONT + 1}" fill="{INK}">{spans}</text>'
    )


# --------------------------------------------------------------------------- waterfall

BAR = 14
ROW_GAP = 10


def waterfall(
    steps: Sequence[Step], total: int, *, title: str, total_label: str, testid: str = ""
) -> Markup:
    """One row per step, its whole label above a bar from the running total before it to the
    one after; the last bar is the score itself, from zero. Rows instead of columns, so that
    every label has the chart's full width and is never cut short."""
    running, spans = 0, []
    for s in steps:
        spans.append((running, running + s.points))
        running += s.points
    top = max([total, 1, *(max(a, b) for a, b in spans)])
    bottom = min([0, *(min(a, b) for a, b in spans)])
    left, right = 8, WIDTH - 48

    def x(v: float) -> float:
        return left + (v - bottom) / (top - bottom) * (right - left)

    bars = [
        (s.label, a, b, UP if s.points >= 0 else DOWN)
        for s, (a, b) in zip(steps, spans, strict=True)
    ]
    bars.append((total_label, 0, total, TOTAL))
    parts: list[str] = []
    y = 8.0
    for n, (label, a, b, colour) in enumerate(bars):
        lines = wrap(label)
        parts.append(_text_lines(left, y + FONT, lines))
        y += len(lines) * (FONT + 3) + 4
        x1, x2 = x(min(a, b)), x(max(a, b))
        w = max(x2 - x1, 1.0)
        value = b - a if n < len(steps) else total
        shown = f"{value:+d}" if n < len(steps) else str(value)
        parts.append(
            f'<rect x="{_num(x1)}" y="{_num(y)}" width="{_num(w)}" height="{BAR}" '
            f'fill="{colour}" data-points="{value}"><title>{escape(label)}: {shown}</title></rect>'
        )
        parts.append(
            f'<text x="{_num(x1 + w + 4)}" y="{_num(y + BAR - 3)}" font-size="{FONT + 1}" '
            f'fill="{INK}">{escape(shown)}</text>'
        )
        y += BAR + ROW_GAP
    zero = _num(x(0))
    axis = f'<line x1="{zero}" x2="{zero}" y1="4" y2="{_num(y - ROW_GAP + 2)}" stroke="{AXIS}"/>'
    return _svg([_svg_open(title, "waterfall", testid, y), axis, *parts])


# --------------------------------------------------------------------------- line charts


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
        f'<line class="guide" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{_num(y)}" '
        f'y2="{_num(y)}" stroke="{GRID}" stroke-dasharray="2 3"/>'
        f'<text x="{PAD_LEFT - 4}" y="{_num(y + 4)}" text-anchor="end" font-size="{FONT}" '
        f'fill="{INK}">{escape(label)}</text>'
    )


def _band_label(frame: _Frame, lower: float, label: str) -> str:
    """A band's name just above its lower limit, at the right end of the plot."""
    return (
        f'<text class="band-label" x="{WIDTH - PAD_RIGHT - 2}" y="{_num(frame.y(lower) - 4)}" '
        f'text-anchor="end" font-size="{FONT}" fill="{AXIS}"{HALO}>{escape(label)}</text>'
    )


def _series(
    frame: _Frame,
    history: Sequence[Point],
    forecast: Sequence[Point],
    alternative: Sequence[Point],
) -> list[str]:
    """The history solid, the forecast dashed from its last day and the alternative dotted;
    each only when it has points."""
    parts = []
    if history:
        parts.append(
            f'<polyline class="history" fill="none" stroke="{TOTAL}" stroke-width="2" '
            f'points="{frame.path(history)}"/>'
        )
        if len(history) == 1:
            p = history[0]
            parts.append(
                f'<circle class="history" cx="{_num(frame.x(p.day))}" '
                f'cy="{_num(frame.y(p.value))}" r="3" fill="{TOTAL}"/>'
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
        f'<text class="day" x="{_num(frame.x(d))}" y="{HEIGHT - PAD_BOTTOM + 16}" '
        f'text-anchor="{anchor}" font-size="{FONT}" fill="{INK}">{d.isoformat()}</text>'
    )


#: how close (in user units) two day labels may come before the less important one is left out
_LABEL_ROOM = 66


def _today(frame: _Frame, today: date, label: str) -> list[str]:
    """The marker of today: a solid vertical line, "Today" above it and its date below."""
    x = frame.x(today)
    anchor = "middle"
    if x < PAD_LEFT + _LABEL_ROOM / 2:
        anchor = "start"
    elif x > WIDTH - PAD_RIGHT - _LABEL_ROOM / 2:
        anchor = "end"
    return [
        f'<line class="today" x1="{_num(x)}" x2="{_num(x)}" y1="{PAD_TOP}" '
        f'y2="{HEIGHT - PAD_BOTTOM}" stroke="{AXIS}" stroke-width="1"/>',
        f'<text class="today-label" x="{_num(x)}" y="{PAD_TOP - 6}" text-anchor="{anchor}" '
        f'font-size="{FONT}" font-weight="700" fill="{INK}">{escape(label)}</text>',
        _day_label(frame, today, anchor),
    ]


def _days(frame: _Frame, first: date, last: date, today: date | None) -> list[str]:
    """The first and last day under the axis, and today's (with its marker) unless one of
    them would run into it."""
    parts = []
    marked = None if today is None else frame.x(today)
    for d, anchor in ((first, "start"), (last, "end")):
        if d == today:
            continue
        if marked is not None and abs(frame.x(d) - marked) < _LABEL_ROOM:
            continue
        parts.append(_day_label(frame, d, anchor))
    return parts


def line_chart(
    history: Sequence[Point],
    forecast: Sequence[Point] = (),
    *,
    title: str,
    alternative: Sequence[Point] = (),
    guides: Sequence[tuple[float, str]] = (),
    bands: Sequence[tuple[float, str]] = (),
    today_label: str = "Today",
    testid: str = "",
) -> Markup:
    """Daily values as a solid line and the forecast after them dashed, with today (the last
    measured day) marked and labelled, horizontal guides (e.g. the band limits 100 and 200)
    and ``bands`` named above their lower limits. ``alternative`` is a second forecast (a
    what-if), dotted."""
    points = [*history, *forecast, *alternative]
    parts = [_svg_open(title, "line", testid)]
    if not points:
        return _svg(parts)
    days = [p.day for p in points]
    first, last = min(days), max(days)
    top = max([1.0, *(p.value for p in points), *(g for g, _ in guides)]) * 1.1
    frame = _Frame(first, max((last - first).days, 1), top)
    parts += [_guide(frame, value, label) for value, label in guides]
    parts += [_band_label(frame, lower, label) for lower, label in bands]
    zero = _num(frame.y(0))
    parts.append(
        f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{zero}" y2="{zero}" stroke="{AXIS}"/>'
    )
    parts += _series(frame, history, forecast, alternative)
    today = history[-1].day if history else None
    if today is not None:
        parts += _today(frame, today, today_label)
    parts += _days(frame, first, last, today)
    return _svg(parts)


#: the band limits of the rating (Amazon's): each band's name and the lowest score in it
BAND_LIMITS = (("healthy", 200), ("at_risk", 100), ("unhealthy", 0))


def rating_chart(
    history: Sequence[Point],
    ahead: Sequence[Point],
    what_if: Sequence[Point],
    lang: str,
    *,
    testid: str = "history-chart",
) -> Markup:
    """The store's daily Account Health Rating and its forecast, the band limits drawn and
    each band named, today marked."""
    return line_chart(
        history,
        ahead,
        alternative=what_if,
        title=translate(N_("Account Health Rating by day, with the forecast"), lang),
        guides=[(lower, str(lower)) for _, lower in BAND_LIMITS if lower],
        bands=[(lower, translate(labels.BANDS[band], lang)) for band, lower in BAND_LIMITS],
        today_label=translate(N_("Today"), lang),
        testid=testid,
    )


class Target(Protocol):
    """What a trend chart needs of a metric: its target and which side of it is good."""

    @property
    def target(self) -> float: ...

    @property
    def comparison(self) -> str: ...


_COMPARISONS = {"<": "<", ">=": "≥", ">": ">"}


def trend_chart(
    history: Sequence[Point],
    *,
    title: str,
    target: float,
    target_label: str,
    today_label: str,
    empty_label: str,
    testid: str = "",
) -> Markup:
    """A metric's daily rate (0–1, drawn in percent) as a line, its target as a labelled red
    dashed line and today marked. Days without a rate (nothing to measure) are left out."""
    parts = [_svg_open(title, "line trend", testid)]
    if not history:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="{FONT + 1}" '
            f'fill="{INK}">{escape(empty_label)}</text>'
        )
        return _svg(parts)
    first, last = history[0].day, history[-1].day
    top = max([target, *(p.value for p in history)]) * 1.25 or 0.01
    frame = _Frame(first, max((last - first).days, 1), top)
    y_target = _num(frame.y(target))
    zero = _num(frame.y(0))
    parts += [
        f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{zero}" y2="{zero}" stroke="{AXIS}"/>',
        f'<text x="{PAD_LEFT - 4}" y="{_num(frame.y(0) + 4)}" text-anchor="end" '
        f'font-size="{FONT}" fill="{INK}">0%</text>',
        f'<line class="target" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y_target}" '
        f'y2="{y_target}" stroke="{DOWN}" stroke-width="1.5" stroke-dasharray="5 3"/>',
        f'<text class="target-label" x="{WIDTH - PAD_RIGHT - 2}" y="{_num(frame.y(target) - 4)}" '
        f'text-anchor="end" font-size="{FONT}" fill="{DOWN}"{HALO}>{escape(target_label)}</text>',
    ]
    parts += _series(frame, history, (), ())
    parts += _today(frame, last, today_label)
    parts += _days(frame, first, last, last)
    return _svg(parts)


#: the metrics drawn as trends beside the rating
TREND_METRICS = ("order_defect_rate_mfn", "late_shipment_rate_30")


@dataclass(frozen=True)
class Trend:
    """A trend chart and the metric it draws, in words (the page's caption names it)."""

    label: str
    chart: Markup


def trends(
    history: Sequence[tuple[date, int, str, Mapping[str, float | None]]],
    metrics: Mapping[str, Target],
    lang: str,
) -> list[Trend]:
    """The trend charts of the order defect rate and the late shipment rate over the drawn
    history, each against its target today."""
    charts = []
    for name in TREND_METRICS:
        metric = metrics.get(name)
        if metric is None:
            continue
        label = translate(labels.METRICS[name], lang)
        series = [
            Point(d, rate) for d, _, _, rates in history if (rate := rates.get(name)) is not None
        ]
        target = translate(
            N_("Target {comparison} {value}"),
            lang,
            comparison=_COMPARISONS.get(metric.comparison, metric.comparison),
            value=fmt.percent(metric.target, lang),
        )
        charts.append(
            Trend(
                label,
                trend_chart(
                    series,
                    title=translate(N_("{metric} by day"), lang, metric=label),
                    target=metric.target,
                    target_label=target,
                    today_label=translate(N_("Today"), lang),
                    empty_label=translate(N_("Nothing to measure yet"), lang),
                    testid=f"trend-{name.replace('_', '-')}",
                ),
            )
        )
    return charts
