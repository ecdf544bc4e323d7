"""Jobs of the points slice.

- ``points.settle``, each minute: read the new order events into grants, then make available
  every grant whose shipment was confirmed at or before the run's instant less the settling
  delay. So after ``tsunagu jobs run-due --as-of T`` every such grant is available.
- ``points.expire``, daily at 00:30 UTC: the same, then expire the balances whose expiry has
  come and record the warnings due (30 and 7 days before).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily
from tsunagu.marketplaces.registry import Registry
from tsunagu.points import service
from tsunagu.points.sync import settle_due, sync_all

SETTLE = "points.settle"
EXPIRE = "points.expire"


def every_minute(now: Any) -> tuple[str, Any]:
    minute = now.replace(second=0, microsecond=0)
    return minute.strftime("%Y-%m-%dT%H:%M"), minute


def settle(session: Session, *, registry: Registry, as_of: Any) -> dict[str, Any]:
    """Sync the events and post what is due: the use case behind the job and the commands."""
    synced = sync_all(session, registry=registry, now=as_of)
    posted = settle_due(session, registry=registry, as_of=as_of)
    return {**synced.as_dict(), "posted": posted}


def run_expiry(session: Session, *, registry: Registry, as_of: Any) -> dict[str, Any]:
    """Settle first (points that became available before the expiry count), then expire."""
    settled = settle(session, registry=registry, as_of=as_of)
    run = service.expire(session, registry=registry, as_of=as_of)
    return {**run.as_dict(), "posted": settled["posted"]}


def _settle(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    return settle(session, registry=context.registry, as_of=context.as_of)


def _expire(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    return run_expiry(session, registry=context.registry, as_of=context.as_of)


#: the points slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = (
    JobKind(
        name=SETTLE,
        handler=_settle,
        description="Points: read new order events into grants; make settled grants available.",
        period=every_minute,
        max_attempts=3,
        lease=timedelta(minutes=5),
    ),
    JobKind(
        name=EXPIRE,
        handler=_expire,
        description="Points: expire balances whose year has passed; record expiry warnings.",
        period=daily(timedelta(minutes=30)),
    ),
)
