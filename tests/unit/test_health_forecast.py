"""Worked examples and properties of the AHR forecast and what-if (pure)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsunagu.core.errors import InvalidInput
from tsunagu.health.forecast import forecast, what_if
from tsunagu.health.rules import AhrConfig, Rating, Violation, rate

D = date(2026, 11, 25)
CONFIG = AhrConfig()


def days_ago(n: int) -> date:
    return D - timedelta(days=n)


def logo(opened: date | None = None) -> Violation:
    when = days_ago(30) if opened is None else opened
    return Violation("V-logo", "receivedIntellectualPropertyComplaints", "low", when)


def the_issues_orders() -> list[date]:
    return [days_ago(1 + n % 170) for n in range(150)]


def by_day(series: list[tuple[date, Rating]]) -> dict[date, Rating]:
    return dict(series)


def test_the_issues_case_reaches_200_on_the_day_the_violation_ages_out():
    violation = logo()
    series = forecast(
        start=D,
        days=180,
        fulfilled_dates=the_issues_orders(),
        violations=[violation],
        config=CONFIG,
    )
    assert [d for d, _ in series] == [D + timedelta(days=n) for n in range(1, 181)]
    scores = {d: r.score for d, r in series}
    ages_out = violation.opened_on + timedelta(days=180)
    assert ages_out == D + timedelta(days=150)
    assert scores[ages_out - timedelta(days=1)] == 198
    assert scores[ages_out] == 200
    assert {d: r.band for d, r in series}[ages_out] == "healthy"
    assert all(s == 198 for d, s in scores.items() if d < ages_out)
    assert all(s == 200 for d, s in scores.items() if d >= ages_out)


def test_the_score_drops_by_4_the_day_the_200th_order_leaves_the_window():
    oldest = days_ago(100)
    dates = [oldest] + [D] * 199
    series = by_day(
        forecast(start=D, days=120, fulfilled_dates=dates, violations=[], config=CONFIG)
    )
    last_counted = oldest + timedelta(days=179)
    assert last_counted == D + timedelta(days=79)
    assert series[last_counted].score == 204
    assert series[last_counted + timedelta(days=1)].score == 200
    assert series[D + timedelta(days=1)].score == 204


def test_an_open_violation_that_does_not_age_out_in_the_horizon_stays():
    series = forecast(start=D, days=10, fulfilled_dates=[], violations=[logo(D)], config=CONFIG)
    assert {r.score for _, r in series} == {198}


def test_zero_days_is_an_empty_forecast():
    assert forecast(start=D, days=0, fulfilled_dates=[D], violations=[], config=CONFIG) == []


def test_what_if_resolving_adding_orders_and_both():
    kw = {
        "day": D,
        "fulfilled_dates": the_issues_orders(),
        "violations": [logo()],
        "config": CONFIG,
    }
    now, resolved = what_if(**kw, resolve=["V-logo"])
    assert (now.score, now.band) == (198, "at_risk")
    assert (resolved.score, resolved.band) == (200, "healthy")
    _, more = what_if(**kw, add_orders=200)
    assert more.score == 202
    assert [t.kind for t in more.terms] == ["base", "sales_credit", "violation"]
    assert more.terms[1].orders == 350
    _, both = what_if(**kw, resolve=["V-logo"], add_orders=200)
    assert both.score == 204
    _, nothing = what_if(**kw)
    assert nothing == now


def test_what_if_an_unknown_violation_is_unknown_violation():
    with pytest.raises(InvalidInput) as e:
        what_if(
            day=D,
            fulfilled_dates=[],
            violations=[logo()],
            config=CONFIG,
            resolve=["V-logo", "V-nope"],
        )
    assert e.value.code == "unknown_violation"
    assert e.value.status == 422
    assert e.value.details["value"] == "V-nope"
    assert "V-nope" in e.value.message("en")


def test_what_if_resolving_an_already_resolved_violation_changes_nothing():
    old = Violation("V-1", "p", "high", days_ago(10), resolved_on=days_ago(5))
    now, after = what_if(
        day=D, fulfilled_dates=[], violations=[old], config=CONFIG, resolve=["V-1"]
    )
    assert now == after
    assert after.score == 200


offsets = st.lists(st.integers(min_value=0, max_value=179), max_size=700)
violations = st.lists(
    st.builds(
        lambda n, policy, severity, opened, resolved: Violation(
            f"V-{n}",
            policy,
            severity,
            days_ago(opened),
            None if resolved is None else days_ago(opened) + timedelta(days=resolved),
        ),
        st.integers(0, 10_000),
        st.sampled_from(["p1", "p2"]),
        st.sampled_from(["low", "medium", "high", "critical"]),
        st.integers(min_value=0, max_value=200),
        st.none() | st.integers(min_value=1, max_value=250),
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(offsets, st.integers(min_value=0, max_value=200))
def test_without_violations_the_forecast_never_drops_below_200_and_never_rises(
    ago: list[int], days: int
):
    series = forecast(
        start=D,
        days=days,
        fulfilled_dates=[days_ago(n) for n in ago],
        violations=[],
        config=CONFIG,
    )
    scores = [r.score for _, r in series]
    assert all(s >= 200 for s in scores)
    assert all(a >= b for a, b in itertools.pairwise(scores))


@settings(max_examples=60, deadline=None)
@given(offsets, violations, st.integers(min_value=0, max_value=200))
def test_every_forecast_day_is_the_model_applied_to_that_day(
    ago: list[int], found: list[Violation], days: int
):
    dates = [days_ago(n) for n in ago]
    series = forecast(start=D, days=days, fulfilled_dates=dates, violations=found, config=CONFIG)
    assert len(series) == days
    for day, rating in series:
        in_window = sum(1 for p in dates if day - timedelta(days=179) <= p <= day)
        assert rating == rate(on=day, fulfilled_orders=in_window, violations=found, config=CONFIG)
