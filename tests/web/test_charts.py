"""The server-side SVG charts: bars that add up, a dashed forecast, escaped text."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tsunagu.web.charts import Point, Step, line_chart, waterfall


def test_waterfall_has_one_bar_per_term_and_one_for_the_score():
    steps = [Step("Starting score", 200), Step("Sales credit", 8), Step("Violation", -4)]
    svg = waterfall(steps, 204, title="AHR", total_label="Score", testid="ahr-waterfall")
    assert svg.startswith("<svg")
    assert 'data-testid="ahr-waterfall"' in svg
    assert re.findall(r'data-points="(-?\d+)"', svg) == ["200", "8", "-4", "204"]
    assert 'role="img"' in svg
    assert "<title>AHR</title>" in svg


def test_waterfall_colours_gains_and_losses_differently():
    svg = waterfall([Step("a", 200), Step("b", -8)], 192, title="t", total_label="s")
    fills = re.findall(r'<rect [^>]*fill="(#[0-9a-f]+)"', svg)
    assert len(set(fills)) == 3


def test_labels_are_escaped():
    svg = waterfall([Step("<script>", 1)], 1, title="a & b", total_label="<s>")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "a &amp; b" in svg


def test_line_chart_draws_history_solid_and_forecast_dashed_from_today():
    start = date(2026, 6, 1)
    history = [Point(start + timedelta(days=n), 200 + n) for n in range(10)]
    ahead = [Point(start + timedelta(days=10 + n), 209 - n) for n in range(5)]
    svg = line_chart(history, ahead, title="AHR", guides=[(100, "100")], testid="history-chart")
    assert 'class="history"' in svg
    assert 'data-testid="history-chart"' in svg
    forecast = re.search(r'<polyline class="forecast"[^>]*points="([^"]+)"', svg)
    assert forecast is not None
    assert 'stroke-dasharray="6 4"' in forecast.group(0)
    # the forecast starts where the history ends (today) and has one more point per day ahead
    assert len(forecast.group(1).split()) == 6
    assert 'class="today"' in svg
    assert "2026-06-01" in svg
    assert "2026-06-15" in svg


def test_line_chart_draws_a_what_if_forecast_dotted():
    day = date(2026, 6, 1)
    svg = line_chart([Point(day, 200)], [Point(day, 200)], title="t", alternative=[Point(day, 9)])
    assert 'class="alternative"' in svg


def test_an_empty_chart_is_still_an_svg():
    svg = line_chart([], title="nothing yet")
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
