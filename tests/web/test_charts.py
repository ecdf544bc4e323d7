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


# --------------------------------------------------------------------------- readable charts
# issue 16 item 12: no truncated labels, today marked, band limits named, trends with targets


def _spans(svg: str) -> list[str]:
    """Each multi-line label's text, its lines joined with a space."""
    found = re.findall(r'<text class="label"[^>]*>(.*?)</text>', svg)
    return [" ".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", t)) for t in found]


def test_waterfall_labels_are_whole_however_long() -> None:
    long_en = "Violation (high): Received Intellectual Property Complaints about listing B0ABCDEFGH"
    long_ja = "違反（高）：知的財産に関する苦情を受けた商品についての違反、出品者への通知あり"
    steps = [Step("Starting score", 200), Step(long_en, -8), Step(long_ja, -4)]
    svg = waterfall(steps, 188, title="AHR", total_label="Score")
    assert "…" not in svg
    spans = _spans(svg)
    assert spans[1] == long_en
    assert spans[2].replace(" ", "") == long_ja
    # the long ones wrap onto more lines instead of running off the drawing
    assert svg.count("<tspan") > len(steps) + 1
    assert 'viewBox="0 0 400 ' in svg
    assert 'width="100%"' in svg


def test_wrap_breaks_between_words_and_inside_long_cjk_runs() -> None:
    from tsunagu.web.charts import wrap

    assert wrap("one two three", 7) == ["one two", "three"]
    assert wrap("あいうえお", 4) == ["あい", "うえ", "お"]
    assert wrap("") == [""]


def test_rating_chart_marks_today_and_names_the_bands() -> None:
    from tsunagu.web.charts import rating_chart

    start = date(2026, 6, 1)
    history = [Point(start + timedelta(days=n), 150 + n) for n in range(20)]
    ahead = [Point(start + timedelta(days=20 + n), 170) for n in range(30)]
    svg = rating_chart(history, ahead, [], "en")
    assert 'viewBox="0 0 400 240"' in svg
    today = re.search(r'<line class="today" x1="([\d.]+)"', svg)
    assert today is not None
    label = re.search(r'<text class="today-label" x="([\d.]+)"[^>]*>Today</text>', svg)
    assert label is not None
    assert label.group(1) == today.group(1)
    # today's date under its marker, the first and last day at the ends
    for day in ("2026-06-01", "2026-06-20", "2026-07-20"):
        assert f">{day}</text>" in svg
    bands = re.findall(r'<text class="band-label"[^>]*>([^<]+)</text>', svg)
    assert bands == ["healthy", "at risk", "unhealthy"]
    assert svg.count('class="guide"') == 2  # the limits 100 and 200


def test_a_trend_chart_draws_the_target_labelled_and_today() -> None:
    from tsunagu.web.charts import TREND_METRICS, trends

    class Metric:
        def __init__(self, target: float, comparison: str) -> None:
            self.target, self.comparison = target, comparison

    start = date(2026, 6, 1)
    history = [
        (
            start + timedelta(days=n),
            200,
            "healthy",
            {
                "order_defect_rate_mfn": None if n < 3 else 0.005 * n,
                "late_shipment_rate_30": 0.01,
            },
        )
        for n in range(10)
    ]
    metrics = {
        "order_defect_rate_mfn": Metric(0.01, "<"),
        "late_shipment_rate_30": Metric(0.04, "<"),
    }
    drawn = trends(history, metrics, "en")
    assert len(drawn) == len(TREND_METRICS) == 2
    odr, late = (d.chart for d in drawn)
    assert drawn[0].label == "Order defect rate (seller-fulfilled)"
    assert 'data-testid="trend-order-defect-rate-mfn"' in odr
    assert re.search(r'<text class="target-label"[^>]*>Target &lt; 1.00%</text>', odr)
    assert re.search(r'<text class="target-label"[^>]*>Target &lt; 4.00%</text>', late)
    assert 'class="target"' in odr
    assert 'class="today"' in odr
    # the days without a rate are left out: the line starts on the fourth day
    line = re.search(r'<polyline class="history"[^>]*points="([^"]+)"', odr)
    assert line is not None
    assert len(line.group(1).split()) == 7


def test_the_store_page_shows_trends_and_a_collapsed_30_day_table(client, demo) -> None:
    from tests.web.conftest import both_stores

    seller = both_stores(demo)
    html = client.get(f"/sellers/{seller}/stores/JP?lang=en").text
    assert 'data-testid="trend-order-defect-rate-mfn"' in html
    assert 'data-testid="trend-late-shipment-rate-30"' in html
    details = html[html.index('<details data-testid="history-details">') :]
    details = details[: details.index("</details>")]
    assert 0 < details.count('<th scope="row">') <= 30
    assert f'href="/sellers/{seller}/stores/JP/history.csv"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 240" width="100%"' in html
    assert "…" not in html[html.index('data-testid="ahr-waterfall"') :].split("</svg>")[0]
