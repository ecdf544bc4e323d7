"""History starts at the first day with data (issue 16 item 4), not months before the first
order: :func:`tsunagu.health.history.since_first_data`."""

from __future__ import annotations

from datetime import date, timedelta

from tsunagu.health.history import since_first_data

START = date(2026, 3, 1)


def day(
    n: int, score: int = 200, **rates: float | None
) -> tuple[date, int, str, dict[str, float | None]]:
    return (START + timedelta(days=n), score, "healthy", dict(rates))


def test_days_before_the_first_measured_metric_are_dropped() -> None:
    points = [day(0, odr=None), day(1, odr=None), day(2, odr=0.0), day(3, odr=0.5)]
    assert since_first_data(points) == points[2:]


def test_a_rating_change_without_orders_is_data_too() -> None:
    """A violation on a store without orders moves the rating: the history starts there."""
    points = [day(0, odr=None), day(1, 180, odr=None), day(2, 180, odr=None)]
    assert since_first_data(points) == points[1:]


def test_a_store_without_any_data_keeps_only_today() -> None:
    points = [day(n, odr=None) for n in range(5)]
    assert since_first_data(points) == [points[-1]]
    assert since_first_data([]) == []


def test_a_store_with_data_from_the_start_keeps_every_day() -> None:
    points = [day(n, odr=0.01) for n in range(4)]
    assert since_first_data(points) == points
