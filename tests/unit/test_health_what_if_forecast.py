"""The what-if forecast (the store page's dotted line) starts where the what-if ends (pure)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.test_health_forecast import D, days_ago, offsets, violations
from tsunagu.health.forecast import what_if, what_if_forecast
from tsunagu.health.rules import PENALISED_METRICS, AhrConfig, Violation

profiles = st.sampled_from([AhrConfig(), AhrConfig(profile="metrics", metric_points=15)])
missed = st.lists(st.sampled_from(PENALISED_METRICS), max_size=3, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    offsets,
    violations,
    st.integers(min_value=0, max_value=500),
    st.integers(min_value=0, max_value=120),
    profiles,
    missed,
    st.data(),
)
def test_the_first_day_is_the_what_if_and_every_day_keeps_the_missed_metrics(
    ago: list[int],
    found: list[Violation],
    add_orders: int,
    days: int,
    config: AhrConfig,
    missed_metrics: list[str],
    data: st.DataObject,
) -> None:
    resolve = data.draw(st.lists(st.sampled_from([v.violation_id for v in found] or ["-"])))
    resolve = [r for r in resolve if r != "-"]
    facts = {
        "fulfilled_dates": [days_ago(n) for n in ago],
        "violations": found,
        "config": config,
        "resolve": resolve,
        "add_orders": add_orders,
        "missed_metrics": missed_metrics,
    }
    _, after = what_if(day=D, **facts)
    series = what_if_forecast(day=D, days=days, **facts)
    assert [d for d, _ in series] == [D + timedelta(days=n) for n in range(days + 1)]
    assert series[0][1] == after
    for _, rating in series:
        deducted = {t.metric for t in rating.terms if t.kind == "metric"}
        assert deducted == (set(missed_metrics) if config.profile == "metrics" else set())
