"""Jobs of the appeals slice: the daily deadline check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.appeals import service
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily

#: the run for UTC day K is due at 00:30 UTC on K+1
OFFSET = timedelta(minutes=30)


def expire_appeals(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Every appeal still DRAFT or INFO_REQUESTED at its deadline becomes EXPIRED, and every
    deactivation whose deadline passed with no appeal submitted is recorded as such, as of the
    runner's clock. Running it again finds nothing more to do."""
    expired = service.expire_overdue(session, now=context.as_of)
    missed = service.missed_deadlines(session, now=context.as_of)
    return {
        "expired": len(expired),
        "appeals": expired[:100],
        "missed": len(missed),
        "deactivations": missed[:100],
    }


APPEALS_EXPIRE = JobKind(
    name="appeals.expire",
    handler=expire_appeals,
    description="Appeals whose deadline passed before they were (re)submitted become EXPIRED.",
    period=daily(OFFSET),
)

#: the appeals slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = (APPEALS_EXPIRE,)
