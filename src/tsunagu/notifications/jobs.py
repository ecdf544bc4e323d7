"""Jobs of the notifications slice: ``notifications.deliver``, each minute.

The runner hands a handler one session, in a transaction it commits afterwards. Sending must not
happen inside a transaction (on SQLite that would hold the write lock across the network), so
the handler leaves that session untouched and lets :func:`dispatch.deliver_due` open short
transactions of its own on the same database; the runner's session begins only after the
handler returns, when it records the job as done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.core.db import make_sessionmaker
from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind
from tsunagu.notifications.config import notifications_of
from tsunagu.notifications.dispatch import deliver_due
from tsunagu.notifications.email import deliver_outbox

DELIVER = "notifications.deliver"
EMAIL = "notifications.email"


def every_minute(now: datetime) -> tuple[str, datetime]:
    """The minute that has begun at ``now`` is due at once (key ``YYYY-MM-DDTHH:MM``)."""
    minute = now.replace(second=0, microsecond=0)
    return minute.strftime("%Y-%m-%dT%H:%M"), minute


def _deliver(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    factory = make_sessionmaker(session.get_bind())  # type: ignore[arg-type]
    run = deliver_due(factory, now=context.as_of, config=notifications_of(context.registry))
    result = run.as_dict()
    result["attempts"] = len(run.attempts)  # the job row keeps counts, the deliveries the rest
    return result


def _email(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    # like _deliver: the session stays untouched, sending happens outside any transaction
    factory = make_sessionmaker(session.get_bind())  # type: ignore[arg-type]
    return deliver_outbox(
        factory, now=context.as_of, config=notifications_of(context.registry)
    ).as_dict()


#: the notifications slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = (
    JobKind(
        name=DELIVER,
        handler=_deliver,
        description="Send due webhook deliveries (first attempts and retries).",
        period=every_minute,
        max_attempts=1,
        lease=timedelta(minutes=5),
    ),
    JobKind(
        name=EMAIL,
        handler=_email,
        description="Send waiting e-mails (the outbox) over SMTP, with retries (ADR 0034).",
        period=every_minute,
        max_attempts=1,
        lease=timedelta(minutes=10),
    ),
)
