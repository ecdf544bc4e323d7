"""Running what is due. The runner owns its transactions, like any entry point.

Each job runs in its own transaction after being claimed in another: a claim is an UPDATE guarded
by the status the runner just read, so two workers never run the same job, and a job whose worker
died (lease expired) is claimed again. A failing job is retried with backoff up to
``max_attempts``, then left ``failed`` with its error for an operator to see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.core.ids import new_id
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, JobKinds
from tsunagu.marketplaces.registry import Registry


@dataclass
class RunSummary:
    scheduled: int = 0
    ran: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled, "ran": self.ran}


def enqueue(
    session: Session,
    *,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, object] | None = None,
) -> bool:
    """Add a one-off job; an existing (kind, key) is left as it is. Returns True when added."""
    if session.execute(select(Job.id).where(Job.kind == kind, Job.key == key)).first():
        return False
    try:
        with session.begin_nested():
            session.add(
                Job(
                    id=new_id("job"),
                    kind=kind,
                    key=key,
                    due_at=due_at,
                    status="pending",
                    attempts=0,
                    payload=payload or {},
                )
            )
    except IntegrityError:
        return False  # another runner added the same (kind, key) first
    return True


def schedule_periodic(session: Session, as_of: datetime, kinds: JobKinds) -> int:
    added = 0
    for kind in kinds.values():
        if kind.period is None:
            continue
        key, due_at = kind.period(as_of)
        if due_at <= as_of and enqueue(session, kind=kind.name, key=key, due_at=due_at):
            added += 1
    return added


def _claim(
    factory: sessionmaker[Session], as_of: datetime, known: JobKinds
) -> tuple[Job, JobKind] | None:
    with unit_of_work(factory) as session:
        candidates = (
            session.execute(
                select(Job)
                .where(
                    Job.due_at <= as_of,
                    or_(
                        Job.status == "pending",
                        (Job.status == "running") & (Job.lease_until < as_of),
                    ),
                )
                .order_by(Job.due_at, Job.id)
                .limit(20)
            )
            .scalars()
            .all()
        )
        for job in candidates:
            kind = known.get(job.kind)
            if kind is None:
                continue
            claimed = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
                .values(
                    status="running",
                    attempts=job.attempts + 1,
                    started_at=as_of,
                    lease_until=as_of + kind.lease,
                )
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                session.flush()
                session.refresh(job)
                return job, kind
    return None


def run_due(
    factory: sessionmaker[Session], *, as_of: datetime, registry: Registry, kinds: JobKinds
) -> RunSummary:
    """Schedule the periodic jobs due at ``as_of`` and run every due job once."""
    summary = RunSummary()
    with unit_of_work(factory) as session:
        summary.scheduled = schedule_periodic(session, as_of, kinds)
    while (claimed := _claim(factory, as_of, kinds)) is not None:
        job, kind = claimed
        summary.ran.append(_execute(factory, job, kind, JobContext(as_of, registry)))
    return summary


def _execute(
    factory: sessionmaker[Session], job: Job, kind: JobKind, context: JobContext
) -> dict[str, Any]:
    as_of = context.as_of
    try:
        with unit_of_work(factory) as session:
            result = kind.handler(session, job, context)
            session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status="done",
                    finished_at=as_of,
                    lease_until=None,
                    result=result,
                    last_error=None,
                )
            )
        return {"kind": job.kind, "key": job.key, "status": "done", "result": result}
    except Exception as exc:
        retry = job.attempts < kind.max_attempts
        with unit_of_work(factory) as session:
            session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status="pending" if retry else "failed",
                    due_at=as_of + timedelta(minutes=2**job.attempts) if retry else job.due_at,
                    lease_until=None,
                    last_error=f"{type(exc).__name__}: {exc}"[:2000],
                )
            )
        return {
            "kind": job.kind,
            "key": job.key,
            "status": "retry" if retry else "failed",
            "error": f"{type(exc).__name__}: {exc}"[:200],
        }


def list_jobs(
    session: Session, *, limit: int = 100, after: tuple[datetime, str] | None = None
) -> list[Job]:
    """Jobs, latest due first; ``after`` is the (due_at, id) of the last job of the previous page."""
    stmt = select(Job)
    if after is not None:
        due_at, job_id = after
        stmt = stmt.where(or_(Job.due_at < due_at, (Job.due_at == due_at) & (Job.id < job_id)))
    return list(
        session.execute(stmt.order_by(Job.due_at.desc(), Job.id.desc()).limit(limit)).scalars()
    )
