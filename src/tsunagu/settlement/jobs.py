"""Jobs of the settlement slice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.jobs.models import Job
from tsunagu.jobs.registry import JobContext, JobKind, daily
from tsunagu.settlement.service import disburse_all

#: The run for UTC day K is due at 02:00 UTC on K+1 (after the health checks at 01:00).
OFFSET = timedelta(hours=2)


def run_disbursements(session: Session, job: Job, context: JobContext) -> dict[str, Any]:
    """Sync every store's ledger, pay out the stores whose disbursement date has come and whose
    funds are not held, and release the holds whose date has come. Keys make a second run of
    the same period post nothing."""
    done = disburse_all(session, registry=context.registry, now=context.as_of)
    outcomes = Counter(d.outcome for d in done)
    return {
        "stores": len(done),
        "disbursed": outcomes["disbursed"],
        "released": outcomes["released"],
        "held": outcomes["held"],
        "amounts": {f"{d.seller_id}/{d.marketplace}": d.amount for d in done if d.amount},
    }


DISBURSE = JobKind(
    name="settlement.disburse",
    handler=run_disbursements,
    description="Settlement: disbursements due and funds holds whose release date has come.",
    period=daily(OFFSET),
)

#: the settlement slice's job kinds, for the composition root
KINDS: tuple[JobKind, ...] = (DISBURSE,)
