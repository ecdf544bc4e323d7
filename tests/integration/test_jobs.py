"""The job runner, driven by an explicit clock, with job kinds the tests define themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.conftest import Db
from tsunagu.core.db import unit_of_work
from tsunagu.jobs import registry, service
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, JobKinds
from tsunagu.slices import Slice, job_kinds

T = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def daily_kind(calls: list[str], name: str = "test.daily") -> JobKind:
    """A kind for the UTC day just ended, due at 01:00 UTC the next day; it notes each key."""

    def handler(session: Any, job: Job, context: JobContext) -> dict[str, Any]:
        calls.append(job.key)
        return {"key": job.key}

    return JobKind(
        name=name,
        handler=handler,
        description="notes the day",
        period=registry.daily(timedelta(hours=1)),
    )


def run(db: Db, as_of: datetime, kinds: JobKinds) -> list[dict[str, Any]]:
    return service.run_due(db.factory, as_of=as_of, registry=db.registry, kinds=kinds).ran


def test_a_period_runs_once_however_often_run_due_is_called(db: Db):
    calls: list[str] = []
    kinds = registry.by_name([daily_kind(calls)])
    first = run(db, T, kinds)
    assert [(r["kind"], r["key"], r["status"]) for r in first] == [
        ("test.daily", "2026-11-24", "done")
    ]
    assert first[0]["result"] == {"key": "2026-11-24"}
    assert run(db, T, kinds) == []
    assert run(db, T + timedelta(hours=5), kinds) == []
    assert [r["key"] for r in run(db, T + timedelta(days=1), kinds)] == ["2026-11-25"]
    assert calls == ["2026-11-24", "2026-11-25"]


def test_nothing_is_due_before_the_period_ends(db: Db):
    calls: list[str] = []
    kinds = registry.by_name([daily_kind(calls)])
    # the run for 24 Nov becomes due at 01:00 UTC on the 25th: at 00:30 only the 23rd is due
    assert [r["key"] for r in run(db, datetime(2026, 11, 25, 0, 30, tzinfo=UTC), kinds)] == [
        "2026-11-23"
    ]
    assert [r["key"] for r in run(db, datetime(2026, 11, 25, 0, 59, tzinfo=UTC), kinds)] == []
    assert [r["key"] for r in run(db, datetime(2026, 11, 25, 1, 0, tzinfo=UTC), kinds)] == [
        "2026-11-24"
    ]
    assert calls == ["2026-11-23", "2026-11-24"]


def test_a_one_off_job_is_not_run_before_it_is_due(db: Db):
    calls: list[str] = []

    def handler(session: Any, job: Job, context: JobContext) -> dict[str, Any]:
        calls.append(job.key)
        return {}

    kinds = registry.by_name([JobKind(name="test.once", handler=handler, description="once")])
    with unit_of_work(db.factory) as s:
        assert service.enqueue(s, kind="test.once", key="grace-end", due_at=T + timedelta(hours=2))
    assert run(db, T, kinds) == []
    assert [r["key"] for r in run(db, T + timedelta(hours=2), kinds)] == ["grace-end"]
    assert run(db, T + timedelta(days=2), kinds) == []
    assert calls == ["grace-end"]


def flaky_kind(calls: list[str]) -> JobKind:
    def handler(session: Any, job: Job, context: JobContext) -> dict[str, Any]:
        calls.append(job.key)
        if len(calls) < 3:
            raise RuntimeError("carrier API timed out")
        return {"ok": True}

    return JobKind(name="test.flaky", handler=handler, description="fails twice", max_attempts=3)


def test_a_failing_job_is_retried_with_backoff_then_succeeds(db: Db):
    calls: list[str] = []
    kinds = registry.by_name([flaky_kind(calls)])
    with unit_of_work(db.factory) as s:
        assert service.enqueue(s, kind="test.flaky", key="k1", due_at=T)
        assert not service.enqueue(s, kind="test.flaky", key="k1", due_at=T)
    assert [r["status"] for r in run(db, T, kinds)] == ["retry"]
    # not due again until the back-off (2 minutes after the first attempt) has passed
    assert run(db, T, kinds) == []
    assert run(db, T + timedelta(minutes=1), kinds) == []
    assert [r["status"] for r in run(db, T + timedelta(minutes=3), kinds)] == ["retry"]
    # the second back-off is 4 minutes
    assert run(db, T + timedelta(minutes=6), kinds) == []
    assert [r["status"] for r in run(db, T + timedelta(minutes=10), kinds)] == ["done"]
    with db.session() as s:
        job = s.execute(select(Job).where(Job.kind == "test.flaky")).scalar_one()
    assert (job.status, job.attempts, job.last_error) == ("done", 3, None)
    assert calls == ["k1", "k1", "k1"]


def test_a_job_that_keeps_failing_is_left_failed_with_its_error(db: Db):
    def handler(session: Any, job: Job, context: JobContext) -> dict[str, Any]:
        raise RuntimeError("still down")

    kinds = registry.by_name(
        [JobKind(name="test.down", handler=handler, description="fails", max_attempts=2)]
    )
    with unit_of_work(db.factory) as s:
        service.enqueue(s, kind="test.down", key="k", due_at=T)
    assert [r["status"] for r in run(db, T, kinds)] == ["retry"]
    assert [r["status"] for r in run(db, T + timedelta(minutes=5), kinds)] == ["failed"]
    assert run(db, T + timedelta(days=1), kinds) == []
    with db.session() as s:
        job = s.execute(select(Job).where(Job.kind == "test.down")).scalar_one()
    assert (job.status, job.attempts) == ("failed", 2)
    assert job.last_error == "RuntimeError: still down"


def test_a_kind_listed_twice_is_an_error():
    calls: list[str] = []
    with pytest.raises(ValueError, match=r"test\.daily listed twice"):
        registry.by_name([daily_kind(calls), daily_kind(calls)])
    twice = (Slice("one", jobs=(daily_kind(calls),)), Slice("two", jobs=(daily_kind(calls),)))
    with pytest.raises(ValueError, match=r"test\.daily listed twice"):
        job_kinds(twice)


def test_jobs_of_unknown_kinds_are_skipped(db: Db):
    calls: list[str] = []
    kinds = registry.by_name([daily_kind(calls)])
    with unit_of_work(db.factory) as s:  # a kind this tsunagu no longer has
        assert service.enqueue(s, kind="gone.kind", key="k", due_at=T - timedelta(days=3))
    assert [r["kind"] for r in run(db, T, kinds)] == ["test.daily"]
    with db.session() as s:
        gone = s.execute(select(Job).where(Job.kind == "gone.kind")).scalar_one()
    assert (gone.status, gone.attempts) == ("pending", 0)
    assert run(db, T, {}) == []  # no kinds at all: nothing is scheduled or run


def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(db: Db):
    calls: list[str] = []
    kinds = registry.by_name([daily_kind(calls)])
    run(db, T, kinds)
    with db.engine.begin() as conn:  # a worker claimed the day's job and then died
        conn.execute(
            text(
                "UPDATE jobs SET status = 'running', lease_until = :lease WHERE kind = 'test.daily'"
            ),
            {
                "lease": (T + timedelta(days=1, minutes=5)).replace(tzinfo=None)
                if db.kind == "sqlite"
                else T + timedelta(days=1, minutes=5)
            },
        )
    assert [r["key"] for r in run(db, T + timedelta(days=1), kinds)] == ["2026-11-25"]
    with db.session() as s:
        statuses = {
            j.key: j.status
            for j in s.execute(select(Job).where(Job.kind == "test.daily")).scalars()
        }
    assert statuses["2026-11-24"] == "running"  # still leased at that moment
    later = run(db, T + timedelta(days=1, minutes=20), kinds)
    assert [r["key"] for r in later] == ["2026-11-24"]


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
