"""The store page's chart draws the same what-if as the API's what-if route, metric deductions
included: under the ``metrics`` profile a store that misses a target loses its points on every
day of the dotted what-if forecast, as it does in ``GET …/what-if``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.auth import api_client
from tests.conftest import Db
from tests.factories import at, event, ingest_events, make_seller, placed
from tsunagu.web import charts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

METRIC_POINTS = 15


def test_the_charts_what_if_keeps_the_metric_deductions(
    db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tsunagu.toml"
    config.write_text(
        f'[health.marketplace.JP]\nprofile = "metrics"\nmetric_points = {METRIC_POINTS}\n'
    )
    drawn: list[Sequence[charts.Point]] = []
    line_chart = charts.line_chart

    def spy(*args: Any, **kwargs: Any) -> Any:
        drawn.append(kwargs.get("alternative", ()))
        return line_chart(*args, **kwargs)

    monkeypatch.setattr(charts, "line_chart", spy)

    with api_client(db, config_path=config) as client:
        seller = make_seller(db, name="Metrics Tea", marketplaces=("JP",))
        now = datetime.now(UTC)
        ingest_events(
            db,
            [
                # shipped a day after its latest ship date: the late shipment rate misses
                placed(seller, "late-1", when=at(-5, now), latest_ship_date=at(-4, now)),
                event(
                    "order_shipped",
                    seller,
                    order_id="late-1",
                    tracking_id="T1",
                    when=at(-3, now),
                ),
                event(
                    "violation_opened",
                    seller,
                    violation_id="V-low",
                    policy="receivedIntellectualPropertyComplaints",
                    severity="low",
                    when=at(-30, now),
                ),
                event(
                    "violation_opened",
                    seller,
                    violation_id="V-high",
                    policy="listingPolicyViolations",
                    severity="high",
                    when=at(-10, now),
                ),
            ],
            now=now,
        )
        params: dict[str, Any] = {"resolve": ["V-high"], "add_orders": "400"}
        api = client.get(f"/v1/sellers/{seller}/health/JP/what-if", params=params)
        assert api.status_code == 200, api.text
        page = client.get(f"/sellers/{seller}/stores/JP/what-if", params=params)
        assert page.status_code == 200, page.text

    after = api.json()["after"]
    missed = [t for t in after["terms"] if t["kind"] == "metric"]
    assert [(t["metric"], t["points"]) for t in missed] == [("late_shipment_rate", -METRIC_POINTS)]
    # 200, +8 for 401 fulfilled orders, −2 for the low violation still open, −15 for the metric
    assert after["score"] == 191
    (series,) = drawn
    day = datetime.fromisoformat(api.json()["day"]).date()
    assert [p.day for p in series] == [day + timedelta(days=n) for n in range(91)]
    # nothing ages out or leaves the window within the forecast: the what-if stays at 191,
    # the score the what-if route gives for the day, on every day of the chart
    assert {p.value for p in series} == {after["score"]}
