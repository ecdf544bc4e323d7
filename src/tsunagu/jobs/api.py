"""``/v1/jobs``: what the scheduled work did and will do (read-only).

Running jobs is not exposed: ``tsunagu worker`` (or ``jobs run-due`` from cron) is the one runner.
A request would hold a server thread and the database's write lock for as long as the due jobs
take, and an ``as_of`` from a caller would run periods that have not ended yet, each recorded
as done for good (a period key runs once). See README, REST API.
"""

from __future__ import annotations

from fastapi import Request

from tsunagu.core.errors import TsunaguError
from tsunagu.core.i18n import N_
from tsunagu.core.paging import instant, next_page, read_cursor, text
from tsunagu.http.deps import ActorDep, SessionDep, signed_in_router
from tsunagu.http.params import Cursor, Limit
from tsunagu.http.responses import documented
from tsunagu.jobs import service
from tsunagu.jobs.schemas import JobOut, JobPage

#: every route here needs a signed-in caller
router = signed_in_router()


@router.get(
    "/jobs",
    tags=["jobs"],
    summary="Recent and pending jobs, and the job kinds",
    responses=documented(
        e403="Only platform operators, who see every seller, see jobs (`forbidden`).",
        e422="Bad parameters, or a cursor tsunagu did not make (`invalid_cursor`).",
    ),
)
def list_jobs(
    request: Request, session: SessionDep, actor: ActorDep, limit: Limit = 50, cursor: Cursor = None
) -> JobPage:
    """What `tsunagu jobs list --json` prints, latest due first; page with `cursor`. Jobs cover
    every seller, so only a platform operator's session (which sees every seller) may list
    them."""
    if actor.sellers is not None:
        raise TsunaguError(N_("Only platform operators may see jobs"), code="forbidden", status=403)
    after = read_cursor(cursor, instant, text)
    found = service.list_jobs(session, limit=limit + 1, after=after)
    page, next_cursor = next_page(found, limit, lambda j: (j.due_at, j.id))
    return JobPage(
        kinds=sorted(request.app.state.job_kinds),
        items=[JobOut.of(j) for j in page],
        next_cursor=next_cursor,
    )
