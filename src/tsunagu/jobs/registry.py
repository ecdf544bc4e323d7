"""Which kinds of job exist. Each slice registers its jobs here at import time.

A *periodic* kind names, for any instant, the period that is due (its ``key``, e.g. the UTC day
just finished) and when that period's run becomes due; the runner creates one row per
(kind, key), so a period runs once however often ``run-due`` is called. One-off jobs (grace-period
ends, appeal deadlines …) are enqueued with their own key by the feature that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
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


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"job kind {kind.name} registered twice")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, JobKind]:
    _load_builtin()
    return dict(_KINDS)


def daily(offset: timedelta = timedelta(0)) -> Callable[[datetime], tuple[str, datetime]]:
    """The UTC day before ``now`` is due at the next midnight UTC (+ offset)."""

    def period(now: datetime) -> tuple[str, datetime]:
        due_day = now - offset
        day = due_day.date() - timedelta(days=1)
        due = datetime.combine(day + timedelta(days=1), time(0), tzinfo=now.tzinfo) + offset
        return day.isoformat(), due

    return period


def _load_builtin() -> None:
    # importing a slice's jobs module registers its kinds
    from tsunagu.health import jobs as _health_jobs  # noqa: F401
    from tsunagu.orders import jobs as _orders_jobs  # noqa: F401
