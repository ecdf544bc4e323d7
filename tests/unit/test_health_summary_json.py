"""The health summary routes serialise plain values with orjson (issue 13); the bytes must be
those FastAPI gave through ``StoreHealthOut``, whatever the values: a rate that cannot be
measured, a target written as a whole number, a mean response time, an instant with
microseconds, every optional field of a rating term set or left out."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter

from tsunagu.health.api import health_summary
from tsunagu.health.metrics import MetricResult
from tsunagu.health.rules import Rating, StoreHealth, Term
from tsunagu.health.schemas import StoreHealthOut
from tsunagu.http.responses import json_answer

WINDOW = (date(2026, 10, 27), date(2026, 11, 25))


def _store(evaluated_at: datetime) -> StoreHealth:
    metrics = {
        "late_shipment_rate_30": MetricResult(
            name="late_shipment_rate_30",
            numerator=1,
            denominator=40,
            rate=0.025,
            target=0.04,
            comparison="<",
            status="GOOD",
            not_measurable=2,
            window=WINDOW,
            components={"late": 1, "unknown_ship_time": 2},
            ids=("503-1234567-1234567",),  # summaries leave the ids to /explain
        ),
        "valid_tracking_rate": MetricResult(
            name="valid_tracking_rate",
            numerator=0,
            denominator=0,
            rate=None,
            target=1,  # a whole number where the model says float
            comparison=">=",
            status="NONE",
            not_measurable=0,
            window=WINDOW,
        ),
        "contact_response_time": MetricResult(
            name="contact_response_time",
            numerator=3,
            denominator=7,
            rate=3 / 7,
            target=0.9,
            comparison=">=",
            status="BAD",
            not_measurable=0,
            window=WINDOW,
            average_response_hours=26.333333333333332,
            answered=7,
            response_microseconds=663_600_000_000,
        ),
    }
    terms = (
        Term(kind="base", points=200, label="starting score"),
        Term(kind="sales_credit", points=0, label="4 points per 200 fulfilled orders", orders=150),
        Term(
            kind="violation",
            points=-2,
            label="low violation of receivedIntellectualPropertyComplaints",
            violation_id="V-logo",
            policy="receivedIntellectualPropertyComplaints",
            severity="low",
            repeat=1,
            opened_on=date(2026, 10, 26),
            ages_out_on=date(2027, 4, 24),
        ),
        Term(kind="metric", points=-10, label="late shipment", metric="late_shipment_rate_30"),
    )
    return StoreHealth(
        seller_id="sel_01jd5m3q7x8k2v4b9c6n0p1r2s",
        marketplace="JP",
        day=date(2026, 11, 25),
        evaluated_at=evaluated_at,
        fulfilled_orders=150,
        metrics=metrics,
        rating=Rating(score=188, band="at_risk", profile="amazon", terms=terms),
    )


@pytest.mark.parametrize(
    "evaluated_at",
    [
        datetime(2026, 11, 25, 14, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 3, 0, 0, 250, tzinfo=UTC),
    ],
)
def test_a_summary_is_the_bytes_of_its_response_model(evaluated_at: datetime):
    found = _store(evaluated_at)
    # the routes add the store's coverage after the metrics (api.with_coverage); here none
    summary = health_summary(found) | {"data_status": None, "coverage": None}
    expected = TypeAdapter(StoreHealthOut).dump_json(StoreHealthOut.of(found, with_ids=False))
    assert json_answer(summary).body == expected
    listed = TypeAdapter(list[StoreHealthOut]).dump_json([StoreHealthOut.of(found, with_ids=False)])
    assert json_answer([summary]).body == listed
