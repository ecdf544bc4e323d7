"""``/v1/jobs``: what the scheduled work did and will do (read-only).

Running jobs is not exposed: ``tsunagu worker`` (or ``jobs run-due`` from cron) is the one runner.
A request would hold a server thread and the database's write lock for as long as the due jobs
take, and an ``as_of`` from a caller would run periods that have not ended yet, each recorded
as done for good (a period key runs once). See README, REST API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tsunagu.api.routes import Cursor, Limit
from tsunagu.core.errors import InvalidInput, TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import decode_cursor, encode_cursor
from tsunagu.core.timeutil import format_instant, parse_instant
from tsunagu.http.deps import ActorDep, SessionDep, current_actor
from tsunagu.http.responses import documented
from tsunagu.jobs import service
from tsunagu.jobs.models import Job

#: every route here needs a signed-in caller
router = APIRouter(prefix="/v1", dependencies=[Depends(current_actor)])


class JobOut(BaseModel):
    id: str = Field(examples=["job_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    kind: str = Field(examples=["orders.daily_rollup"])
    key: str = Field(
        description="The period the run covers, e.g. its day.", examples=["2026-11-24"]
    )
    status: str = Field(description="pending, running, done or failed.", examples=["done"])
    attempts: int
    due_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str | None = Field(description="The error of the last failed attempt.")
    result: dict[str, Any] | None = Field(description="What the job reported when done.")

    @classmethod
    def of(cls, j: Job) -> JobOut:
        return cls(
            id=j.id,
            kind=j.kind,
            key=j.key,
            status=j.status,
            attempts=j.attempts,
            due_at=j.due_at,
            started_at=j.started_at,
            finished_at=j.finished_at,
            last_error=j.last_error,
            result=dict(j.result) if j.result is not None else None,
        )


class JobPage(BaseModel):
    kinds: list[str] = Field(
        description="Every job kind this tsunagu knows.",
        examples=[["health.alerts", "orders.daily_rollup"]],
    )
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")


@router.get(
    "/jobs",
    tags=["jobs"],
    summary="Recent and pending jobs, and the job kinds",
    responses=documented(
        e403="Only the installation's owner sees jobs (`forbidden`).",
        e422="Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`).",
    ),
)
def list_jobs(
    request: Request, session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> JobPage:
    """What `tsunagu jobs list --json` prints, latest due first; page with `cursor`. Jobs cover
    every seller, so only the owner (who sees every seller) may list them."""
    if actor.sellers is not None:
        raise TsunaguError(
            N_("Only the installation's owner may see jobs"), code="forbidden", status=403
        )
    after = None
    if cursor:
        at, job_id = decode_cursor(cursor, 2)
        try:
            after = (parse_instant(at), job_id)
        except ValueError as exc:
            raise InvalidInput(
                N_("The cursor is not valid"), code="invalid_cursor", details={"field": "cursor"}
            ) from exc
    found = service.list_jobs(session, limit=limit + 1, after=after)
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = encode_cursor(format_instant(found[-1].due_at), found[-1].id)
    return JobPage(
        kinds=sorted(request.app.state.job_kinds),
        items=[JobOut.of(j) for j in found],
        next_cursor=next_cursor,
    )
