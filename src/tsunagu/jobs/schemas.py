"""Shapes of ``/v1/jobs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tsunagu.jobs.models import Job


class JobOut(BaseModel):
    id: str = Field(examples=["job_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    kind: str = Field(examples=["health.alerts"])
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
        examples=[["health.alerts"]],
    )
    items: list[JobOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
