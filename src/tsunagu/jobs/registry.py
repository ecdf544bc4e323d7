"""What a job kind is. Each slice lists its kinds in its ``jobs.py`` (``KINDS``) and the
composition root (:mod:`tsunagu.slices`) hands them to the runner: this module imports no slice.

A *periodic* kind names, for any instant, the period that is due (its ``key``, e.g. the UTC day
just finished) and when that period's run becomes due; the runner creates one row per
(kind, key), so a period runs once however often ``run-due`` is called. One-off jobs (grace-period
ends, appeal deadlines …) are enqueued with their own key by the feature that needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tsunagu.jobs.models import Job
from tsunagu.marketplaces.registry import Registry


@dataclass(frozen=True)
class JobContext:
    """What a job may rely on besides its session: the explicit clock and the region table."""

    as_of: datetime
    registry: Registry


#: the job kinds the runner knows, by name (the composition root's :func:`tsunagu.slices.job_kinds`)
JobKinds = Mapping[str, "JobKind"]


Handler = Callable[[Session, Job, JobContext], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    description: str
    #: for periodic kinds: instant -> (key, due_at) of the latest period due at that instant
    period: Callable[[datetime], tuple[str, datetime]] | None = None
    max_attempts: int = 5
    lease: timedelta = timedelta(minutes=15)


def by_name(kinds: Iterable[JobKind]) -> dict[str, JobKind]:
    """The kinds by name; two kinds with one name are a programming error."""
    found: dict[str, JobKind] = {}
    for kind in kinds:
        if kind.name in found:
            raise ValueError(f"job kind {kind.name} listed twice")
        found[kind.name] = kind
    return found


def daily(offset: timedelta = timedelta(0)) -> Callable[[datetime], tuple[str, datetime]]:
    """The UTC day before ``now`` is due at the next midnight UTC (+ offset)."""

    def period(now: datetime) -> tuple[str, datetime]:
        due_day = now - offset
        day = due_day.date() - timedelta(days=1)
        due = datetime.combine(day + timedelta(days=1), time(0), tzinfo=now.tzinfo) + offset
        return day.isoformat(), due

    return period
