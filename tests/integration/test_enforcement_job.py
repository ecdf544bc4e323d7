"""The daily ``enforcement.evaluate`` job under the job runner, with an explicit clock: each store
is evaluated for its last complete local day, once per period; a second run of the same period
changes nothing, and two runs 7 days apart deactivate a store whose breach lasted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.conftest import Db
from tests.factories import ingest_events, make_seller
from tests.integration.test_appeal_scenarios import troubled_events
from tsunagu.enforcement import service
from tsunagu.enforcement.models import EnforcementEvaluation
from tsunagu.health.jobs import store_day
from tsunagu.jobs import service as jobs
from tsunagu.slices import job_kinds

#: noon in Los Angeles on the first day the breach is evaluated
BASE = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)


def run(db: Db, as_of: datetime) -> None:
    jobs.run_due(db.factory, as_of=as_of, registry=db.registry, kinds=job_kinds())


def evaluations(db: Db, seller: str) -> list[tuple[str, str]]:
    with db.factory() as session:
        rows = session.execute(
            select(EnforcementEvaluation.marketplace, EnforcementEvaluation.day)
            .where(EnforcementEvaluation.seller_id == seller)
            .order_by(EnforcementEvaluation.marketplace, EnforcementEvaluation.day)
        ).all()
    return [(mp, str(day)) for mp, day in rows]


def test_the_daily_job_evaluates_each_store_for_its_last_local_day_once(db: Db):
    seller = make_seller(db, marketplaces=("JP", "US"))
    ingest_events(db, troubled_events(seller, BASE), now=BASE + timedelta(days=30))
    as_of = datetime(2026, 11, 11, 1, 30, tzinfo=UTC)  # the run for UTC day 2026-11-10 is due
    run(db, as_of)
    key = "2026-11-10"
    jp, us = db.registry.require("JP"), db.registry.require("US")
    expected = [("JP", str(store_day(key, jp.tz))), ("US", str(store_day(key, us.tz)))]
    assert evaluations(db, seller) == expected
    assert expected == [("JP", "2026-11-10"), ("US", "2026-11-09")]
    with db.factory() as session:
        assert service.store_status(session, seller_id=seller, marketplace="US").status == (
            "AT_RISK"
        )
        changes = session.scalar(select(func.count()).select_from(EnforcementEvaluation))
    run(db, as_of + timedelta(hours=3))  # the same period again: nothing new
    assert evaluations(db, seller) == expected
    with db.factory() as session:
        assert session.scalar(select(func.count()).select_from(EnforcementEvaluation)) == changes

    # a week later the breach is still there: the US store is deactivated by the job
    run(db, as_of + timedelta(days=7))
    with db.factory() as session:
        us_status = service.store_status(session, seller_id=seller, marketplace="US")
    assert us_status.status == "DEACTIVATED"
    assert {i.code for i in us_status.issues} == {"ORDER_DEFECT_RATE", "CANCELLATION_RATE"}
