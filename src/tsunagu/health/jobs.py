"""Jobs of the health slice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.health.alert_service import check_alerts
from tsunagu.health.digest import write_digests
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily
from tsunagu.notifications.config import notifications_of
from tsunagu.sellers.models import Store

#: The run for UTC day K is due at 01:00 UTC on K+1.
OFFSET = timedelta(hours=1)


def store_day(key: str, zone: ZoneInfo) -> date:
    """The store's local day a run checks: the last local day that had ended when the run for
    UTC day ``key`` became due (Tokyo: that day; Los Angeles: the day before)."""
    due = datetime.combine(date.fromisoformat(key) + timedelta(days=1), time(0), UTC) + OFFSET
    return due.astimezone(zone).date() - timedelta(days=1)


def check_health_alerts(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Check the alerts of every store for its last complete local day (see :func:`store_day`).

    Re-running the same key checks the same days again, which changes nothing.
    """
    stores = session.execute(
        select(Store.seller_id, Store.marketplace).order_by(Store.seller_id, Store.marketplace)
    ).all()
    checked = raised = cleared = 0
    for seller_id, code in stores:
        marketplace = context.registry.get(code)
        if marketplace is None:  # a marketplace since removed from the config
            continue
        found = check_alerts(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            day=store_day(job.key, marketplace.tz),
            now=context.as_of,
        )
        checked += 1
        raised += len(found.raised)
        cleared += len(found.cleared)
    return {"stores": checked, "raised": raised, "cleared": cleared}


HEALTH_ALERTS = JobKind(
    name="health.alerts",
    handler=check_health_alerts,
    description="Health alerts of every store for its last complete local day.",
    period=daily(OFFSET),
)

#: the digest for UTC day K is written at 02:00 UTC on K+1, after that day's alert checks
DIGEST_OFFSET = timedelta(hours=2)


def write_alert_digests(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """One digest e-mail per user for the job's day (ADR 0034), when e-mail over SMTP is
    configured and the digest is not turned off (``[notifications.email] digest = false``).
    Re-running the same key writes nothing new: a user's digest for a day is written once."""
    email = notifications_of(context.registry).email
    if not (email.enabled and email.digest):
        return {"written": 0, "already": 0, "skipped": 0, "disabled": True}
    run = write_digests(session, registry=context.registry, day=job.key, now=context.as_of)
    return run.as_dict()


HEALTH_DIGEST = JobKind(
    name="health.digest",
    handler=write_alert_digests,
    description="The daily alert digest e-mail of every user (once per user per day).",
    period=daily(DIGEST_OFFSET),
)

#: the health slice's job kinds, for the composition root
KINDS = (HEALTH_ALERTS, HEALTH_DIGEST)
