"""The job runner, driven by an explicit clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.conftest import Db
from tests.factories import event, make_seller, placed
from tsunagu.core.db import unit_of_work
from tsunagu.events import ingest
from tsunagu.jobs import registry, service
from tsunagu.jobs.models import DailyOrderRollup, Job
from tsunagu.marketplaces.registry import load_registry
from tsunagu.sellers.service import create_seller

T = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def rollups(ran: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs of ``orders.daily_rollup`` (other slices have daily jobs too)."""
    return [r for r in ran if r["kind"] == "orders.daily_rollup"]


def test_a_period_runs_once_however_often_run_due_is_called(db: Db):
    first = service.run_due(db.factory, as_of=T, registry=db.registry)
    assert [(r["kind"], r["key"], r["status"]) for r in rollups(first.ran)] == [
        ("orders.daily_rollup", "2026-11-24", "done")
    ]
    assert service.run_due(db.factory, as_of=T, registry=db.registry).ran == []
    assert service.run_due(db.factory, as_of=T + timedelta(hours=5), registry=db.registry).ran == []
    next_day = service.run_due(db.factory, as_of=T + timedelta(days=1), registry=db.registry)
    assert [r["key"] for r in rollups(next_day.ran)] == ["2026-11-25"]


def test_nothing_is_due_before_the_period_ends(db: Db):
    # the rollup for 24 Nov becomes due at 01:00 UTC on the 25th
    early = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
    ran = service.run_due(db.factory, as_of=early, registry=db.registry).ran
    assert [r["key"] for r in rollups(ran)] == ["2026-11-23"]


def test_rollup_uses_the_time_zone_of_a_configured_marketplace(db: Db, tmp_path: Path):
    (tmp_path / "tsunagu.toml").write_text(
        '[marketplaces.UK]\nmarketplace_id = "A1F83G8C2ARO7P"\ncurrency = "GBP"\n'
        'timezone = "Europe/London"\nsales_channel = "Amazon.co.uk"\nregion = "EU"\n'
    )
    registry = load_registry(tmp_path / "tsunagu.toml")
    with unit_of_work(db.factory) as s:
        seller = create_seller(s, name="London", marketplaces=["UK"], registry=registry, now=T).id
    # 23:30 GMT on 24 Nov is 08:30 on the 25th in Tokyo: the UK day must be the 24th
    events = [
        {
            **placed(seller, "206-1", when="2026-11-24T23:30:00+00:00"),
            "marketplace": "UK",
            "currency": "GBP",
        }
    ]
    assert (
        ingest.run(
            db.factory, lambda: enumerate(events), registry=registry, now=T, source_label="test"
        ).rejected
        == 0
    )
    service.run_due(db.factory, as_of=T + timedelta(days=1), registry=registry)
    with db.session() as s:
        days = [r.day for r in s.execute(select(DailyOrderRollup)).scalars()]
    assert days == ["2026-11-24"]


def test_rollup_counts_orders_by_local_day_of_each_marketplace(db: Db):
    seller = make_seller(db)
    events = [
        # 23:30 in Los Angeles on 23 Nov is 07:30 UTC on the 24th: a US order of the 23rd
        placed(seller, "112-1", marketplace="US", when="2026-11-23T23:30:00-08:00"),
        # 08:00 in Tokyo on 24 Nov is 23:00 UTC on the 23rd: a JP order of the 24th
        placed(seller, "503-1", when="2026-11-24T08:00:00+09:00"),
        placed(seller, "503-2", when="2026-11-24T09:00:00+09:00"),
        event(
            "order_cancelled",
            seller,
            order_id="503-2",
            by="seller",
            when="2026-11-24T10:00:00+09:00",
        ),
    ]
    report = ingest.run(
        db.factory, lambda: enumerate(events), registry=db.registry, now=T, source_label="test"
    )
    assert report.rejected == 0
    service.run_due(db.factory, as_of=T, registry=db.registry)
    with db.session() as s:
        rows = {
            (r.marketplace, r.day): (r.orders, r.cancelled, r.shipped)
            for r in s.execute(select(DailyOrderRollup)).scalars()
        }
    assert rows == {("US", "2026-11-23"): (1, 0, 0), ("JP", "2026-11-24"): (2, 1, 0)}


def _register_flaky(calls: list[str]) -> None:
    def handler(session: Any, job: Job, context: Any) -> dict[str, Any]:
        calls.append(job.key)
        if len(calls) < 3:
            raise RuntimeError("carrier API timed out")
        return {"ok": True}

    registry._KINDS["test.flaky"] = registry.JobKind(
        name="test.flaky", handler=handler, description="fails twice", max_attempts=3
    )


def test_a_failing_job_is_retried_with_backoff_then_succeeds(db: Db):
    calls: list[str] = []
    _register_flaky(calls)
    try:
        with unit_of_work(db.factory) as s:
            assert service.enqueue(s, kind="test.flaky", key="k1", due_at=T)
            assert not service.enqueue(s, kind="test.flaky", key="k1", due_at=T)
        assert [
            r["status"]
            for r in service.run_due(db.factory, as_of=T, registry=db.registry).ran
            if r["kind"] == "test.flaky"
        ] == ["retry"]
        # not due again until the backoff has passed
        assert not [
            r
            for r in service.run_due(db.factory, as_of=T, registry=db.registry).ran
            if r["kind"] == "test.flaky"
        ]
        second = service.run_due(db.factory, as_of=T + timedelta(minutes=3), registry=db.registry)
        assert [r["status"] for r in second.ran if r["kind"] == "test.flaky"] == ["retry"]
        third = service.run_due(db.factory, as_of=T + timedelta(minutes=10), registry=db.registry)
        assert [r["status"] for r in third.ran if r["kind"] == "test.flaky"] == ["done"]
        with db.session() as s:
            job = s.execute(select(Job).where(Job.kind == "test.flaky")).scalar_one()
        assert (job.status, job.attempts, job.last_error) == ("done", 3, None)
    finally:
        registry._KINDS.pop("test.flaky", None)


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(db: Db):
    service.run_due(db.factory, as_of=T, registry=db.registry)
    with db.engine.begin() as conn:  # a worker claimed the next day's job and then died
        conn.execute(
            text(
                "UPDATE jobs SET status = 'running', lease_until = :lease"
                " WHERE kind = 'orders.daily_rollup'"
            ),
            {
                "lease": (T + timedelta(days=1, minutes=5)).replace(tzinfo=None)
                if db.kind == "sqlite"
                else T + timedelta(days=1, minutes=5)
            },
        )
    next_day = service.run_due(db.factory, as_of=T + timedelta(days=1), registry=db.registry)
    assert rollups(next_day.ran)[0]["key"] == "2026-11-25"
    with db.session() as s:
        statuses = {
            j.key: j.status
            for j in s.execute(select(Job).where(Job.kind == "orders.daily_rollup")).scalars()
        }
    assert statuses["2026-11-24"] == "running"  # still leased at that moment
    later = service.run_due(
        db.factory, as_of=T + timedelta(days=1, minutes=20), registry=db.registry
    )
    assert [r["key"] for r in rollups(later.ran)] == ["2026-11-24"]


@pytest.mark.parametrize(
    ("moment", "key", "due"),
    [
        ("2026-11-25T03:00:00+00:00", "2026-11-24", "2026-11-25T01:00:00+00:00"),
        ("2026-11-25T01:00:00+00:00", "2026-11-24", "2026-11-25T01:00:00+00:00"),
        ("2026-11-25T00:59:00+00:00", "2026-11-23", "2026-11-24T01:00:00+00:00"),
    ],
)
def test_daily_period_with_offset_names_the_day_just_finished(moment: str, key: str, due: str):
    got_key, got_due = registry.daily(timedelta(hours=1))(datetime.fromisoformat(moment))
    assert (got_key, got_due.isoformat()) == (key, due)
