"""Jobs of the enforcement slice: the daily evaluation of every store, and the end of a grace
period (one-off, enqueued when Account Health Assurance grants one)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.enforcement import repo, service
from tsunagu.health.jobs import OFFSET, store_day
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily


def evaluate_all(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Evaluate every store for its last complete local day (``health.jobs.store_day``, as the
    health alerts). A run again for the same key finds every day evaluated: nothing changes."""
    evaluated = changed = 0
    for seller_id, code in repo.stores(session):
        marketplace = context.registry.get(code)
        if marketplace is None:  # a marketplace since removed from the config
            continue
        found = service.evaluate_store(
            session,
            seller_id=seller_id,
            marketplace=marketplace,
            day=store_day(job.key, marketplace.tz),
            now=context.as_of,
            registry=context.registry,
        )
        evaluated += found.recorded
        changed += found.changed
    return {"evaluated": evaluated, "changed": changed}


def end_grace(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Decide again for the store whose grace period ended (``service.end_grace``)."""
    payload = job.payload or {}
    marketplace = context.registry.get(str(payload.get("marketplace", "")))
    if marketplace is None:
        return {"skipped": "unknown marketplace"}
    found = service.end_grace(
        session,
        seller_id=str(payload.get("seller_id", "")),
        marketplace=marketplace,
        grace_until=datetime.fromisoformat(str(payload.get("grace_until"))),
        now=context.as_of,
        registry=context.registry,
    )
    if found is None:
        return {"skipped": "grace no longer current"}
    return {"status": found.status, "changed": found.changed}


EVALUATE = JobKind(
    name="enforcement.evaluate",
    handler=evaluate_all,
    description="Account status of every store for its last complete local day.",
    period=daily(OFFSET),
)

GRACE_END = JobKind(
    name=service.GRACE_END,
    handler=end_grace,
    description="The end of a store's grace period (Account Health Assurance).",
)

#: the enforcement slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = (EVALUATE, GRACE_END)
