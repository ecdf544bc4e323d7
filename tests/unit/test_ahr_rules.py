"""The Account Health Rating model: the issue's worked case, each rule, and its properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tsunagu.health.rules import AhrConfig, Violation, band, rate

D = date(2026, 11, 25)
TRADEMARK = Violation(
    "v-logo", "receivedIntellectualPropertyComplaints", "low", opened_on=D - timedelta(days=30)
)


def test_jp_seller_with_one_trademark_complaint_and_few_orders_is_at_risk_at_198():
    """The issue's real case: < 200 fulfilled orders, one open low-severity violation."""
    rating = rate(on=D, fulfilled_orders=150, violations=[TRADEMARK])
    assert (rating.score, rating.band) == (198, "at_risk")
    assert [(t.kind, t.points) for t in rating.terms] == [
        ("base", 200),
        ("sales_credit", 0),
        ("violation", -2),
    ]
    # what lifts it back to healthy
    resolved = Violation(**{**TRADEMARK.__dict__, "resolved_on": D})
    assert rate(on=D, fulfilled_orders=150, violations=[resolved]).score == 200
    assert rate(on=D, fulfilled_orders=200, violations=[]).score == 204
    assert rate(on=D, fulfilled_orders=350, violations=[resolved]).score == 204
    assert rate(on=D, fulfilled_orders=400, violations=[]).score == 208


def test_two_hundred_more_orders_after_resolving_give_202_with_the_violation_open_still():
    # the issue: "200 more fulfilled orders give 202" (credit +4 against the open −2)
    assert rate(on=D, fulfilled_orders=350, violations=[TRADEMARK]).score == 202


@pytest.mark.parametrize(("severity", "points"), [("low", 2), ("medium", 4), ("high", 8)])
def test_severity_points(severity: str, points: int):
    v = Violation("v", "listingPolicyViolations", severity, opened_on=D)  # type: ignore[arg-type]
    assert rate(on=D, fulfilled_orders=0, violations=[v]).score == 200 - points


def test_repeats_of_one_policy_double():
    first = Violation("a", "restrictedProductPolicyViolations", "high", opened_on=D - timedelta(5))
    second = Violation("b", "restrictedProductPolicyViolations", "high", opened_on=D)
    other = Violation("c", "listingPolicyViolations", "high", opened_on=D)
    rating = rate(on=D, fulfilled_orders=0, violations=[second, first, other])
    costs = {t.violation_id: (t.points, t.repeat) for t in rating.terms if t.kind == "violation"}
    assert costs == {"a": (-8, 1), "b": (-16, 2), "c": (-8, 1)}
    assert rating.score == 200 - 32


def test_an_open_critical_violation_sets_the_rating_to_zero():
    critical = Violation("x", "productSafetyCustomerComplaints", "critical", opened_on=D)
    rating = rate(on=D, fulfilled_orders=5000, violations=[critical])
    assert (rating.score, rating.band) == (0, "unhealthy")
    assert sum(t.points for t in rating.terms) == 0
    assert rating.terms[-1].kind == "critical"


def test_a_violation_counts_for_180_days_and_ages_out_on_day_181():
    opened = D - timedelta(days=179)
    v = Violation("v", "listingPolicyViolations", "medium", opened_on=opened)
    assert rate(on=D, fulfilled_orders=0, violations=[v]).score == 196  # day 180
    assert rate(on=D + timedelta(days=1), fulfilled_orders=0, violations=[v]).score == 200
    (term,) = [
        t for t in rate(on=D, fulfilled_orders=0, violations=[v]).terms if t.kind == "violation"
    ]
    assert term.ages_out_on == D + timedelta(days=1)


def test_a_violation_does_not_count_before_it_opens_or_from_the_day_it_is_resolved():
    v = Violation(
        "v", "listingPolicyViolations", "medium", opened_on=D, resolved_on=D + timedelta(days=3)
    )
    assert rate(on=D - timedelta(days=1), fulfilled_orders=0, violations=[v]).score == 200
    assert rate(on=D + timedelta(days=2), fulfilled_orders=0, violations=[v]).score == 196
    assert rate(on=D + timedelta(days=3), fulfilled_orders=0, violations=[v]).score == 200


def test_metrics_profile_deducts_once_per_missed_metric_and_amazon_profile_ignores_them():
    missed = ["order_defect_rate", "late_shipment_rate", "late_shipment_rate", "unknown_metric"]
    amazon = rate(on=D, fulfilled_orders=0, violations=[], missed_metrics=missed)
    metrics = rate(
        on=D,
        fulfilled_orders=0,
        violations=[],
        missed_metrics=missed,
        config=AhrConfig(profile="metrics"),
    )
    assert amazon.score == 200
    assert metrics.score == 180
    assert metrics.profile == "metrics"


def test_the_score_is_clamped_to_1000_and_the_clamp_is_a_term():
    rating = rate(on=D, fulfilled_orders=1_000_000, violations=[])
    assert rating.score == 1000
    assert rating.terms[-1].kind == "clamp"
    assert sum(t.points for t in rating.terms) == 1000


def test_the_floor_only_applies_when_nothing_is_deducted():
    low_base = AhrConfig(base=150)
    assert rate(on=D, fulfilled_orders=0, violations=[], config=low_base).score == 200
    with_violation = rate(on=D, fulfilled_orders=0, violations=[TRADEMARK], config=low_base)
    assert with_violation.score == 148


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "unhealthy"),
        (99, "unhealthy"),
        (100, "at_risk"),
        (199, "at_risk"),
        (200, "healthy"),
        (1000, "healthy"),
    ],
)
def test_bands(score: int, expected: str):
    assert band(score) == expected


violations = st.lists(
    st.builds(
        Violation,
        violation_id=st.text("abcdef", min_size=1, max_size=4),
        policy=st.sampled_from(
            [
                "listingPolicyViolations",
                "restrictedProductPolicyViolations",
                "receivedIntellectualPropertyComplaints",
            ]
        ),
        severity=st.sampled_from(["low", "medium", "high", "critical"]),
        opened_on=st.dates(D - timedelta(days=400), D),
        resolved_on=st.none() | st.dates(D - timedelta(days=400), D + timedelta(days=30)),
    ),
    max_size=8,
)
orders = st.integers(0, 500_000)
metrics = st.lists(
    st.sampled_from(["order_defect_rate", "late_shipment_rate", "valid_tracking_rate"]), max_size=3
)
profiles = st.sampled_from([AhrConfig(), AhrConfig(profile="metrics")])


@given(orders, violations, metrics, profiles)
def test_rating_is_within_bounds_and_terms_add_up(
    n: int, vs: list[Violation], ms: list[str], config: AhrConfig
):
    rating = rate(on=D, fulfilled_orders=n, violations=vs, missed_metrics=ms, config=config)
    assert 0 <= rating.score <= 1000
    assert sum(t.points for t in rating.terms) == rating.score
    assert rating.band == band(rating.score)


@given(orders, violations, violations.filter(bool))
def test_adding_violations_never_raises_the_rating(
    n: int, vs: list[Violation], extra: list[Violation]
):
    before = rate(on=D, fulfilled_orders=n, violations=vs).score
    after = rate(on=D, fulfilled_orders=n, violations=vs + extra).score
    assert after <= before


@given(orders, violations)
def test_resolving_a_violation_never_lowers_the_rating(n: int, vs: list[Violation]):
    before = rate(on=D, fulfilled_orders=n, violations=vs).score
    for index in range(len(vs)):
        resolved = list(vs)
        resolved[index] = Violation(**{**vs[index].__dict__, "resolved_on": vs[index].opened_on})
        assert rate(on=D, fulfilled_orders=n, violations=resolved).score >= before
