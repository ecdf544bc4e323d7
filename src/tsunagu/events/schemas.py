"""Shapes of the event and import routes: what ``POST /v1/events`` answers, the import report
of an Amazon file and the record of imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from tsunagu.events.models import ImportRun


class EventResult(BaseModel):
    index: int = Field(description="Position of the event in the request array (0-based).")
    event_id: str | None
    status: str = Field(description="stored, duplicate or rejected.")
    errors: list[dict[str, Any]] = Field(default_factory=list)


class EventsAnswer(BaseModel):
    read: int
    stored: int
    duplicates: int
    rejected: int
    results: list[EventResult]


class ImportRowError(BaseModel):
    line: int = Field(description="Physical line of the file (the header is line 1).")
    field: str = Field(description="The column or event field.", examples=["currency"])
    code: str = Field(description="A stable per-row error code.", examples=["currency_mismatch"])
    value: Any = Field(description="The offending value; `***` for personal data.")
    message: str = Field(examples=["marketplace JP trades in JPY"])


class ImportReportOut(BaseModel):
    """The import report of `tsunagu import amazon-* --json`, with the run it was recorded as."""

    import_id: str | None = Field(
        description="The `import_runs` record (`GET …/imports/{import_id}`); null on a dry run.",
        examples=["imp_01jd5m3q7x8k2v4b9c6n0p1r2s"],
    )
    dry_run: bool = Field(description="Nothing was written; `stored` says what would have been.")
    read: int = Field(description="Events built from the file plus rows refused.", examples=[19])
    stored: int = Field(description="New events written.", examples=[19])
    duplicates: int = Field(description="Events already stored; they change nothing.")
    rejected: int = Field(description="Rows or events refused; each has entries in `errors`.")
    errors: list[ImportRowError] = Field(description="Sorted by line.")
    file: dict[str, int | str] = Field(
        description="What the file held: rows, encoding, personal_values, and for orders "
        "reports orders (and pending, known_orders, other_channel).",
        examples=[{"rows": 16, "orders": 12, "encoding": "utf-8", "personal_values": 44}],
    )


class ImportRunOut(BaseModel):
    id: str = Field(examples=["imp_01jd5m3q7x8k2v4b9c6n0p1r2s"])
    kind: str = Field(
        description="amazon-orders, amazon-unshipped, amazon-feedback …",
        examples=["amazon-orders"],
    )
    source_name: str = Field(description="The file's name.", examples=["all-orders.txt"])
    sha256: str | None = Field(description="SHA-256 of the file's bytes.")
    seller_id: str | None
    marketplace: str | None = Field(examples=["JP"])
    mode: str = Field(description="strict or partial.", examples=["partial"])
    status: str = Field(
        description="running, done, done_with_rejections, rejected (strict, nothing stored) or "
        "failed.",
        examples=["done"],
    )
    started_at: datetime
    finished_at: datetime | None
    read: int
    stored: int
    duplicates: int
    rejected: int

    @classmethod
    def of(cls, r: ImportRun) -> ImportRunOut:
        return cls(
            id=r.id,
            kind=r.kind,
            source_name=r.source_name,
            sha256=r.sha256,
            seller_id=r.seller_id,
            marketplace=r.marketplace,
            mode=r.mode,
            status=r.status,
            started_at=r.started_at,
            finished_at=r.finished_at,
            read=r.read,
            stored=r.stored,
            duplicates=r.duplicates,
            rejected=r.rejected,
        )


class ImportRunDetailOut(ImportRunOut):
    report: dict[str, Any] = Field(
        description="The import report as it ended (its first 1,000 errors).",
        examples=[{"read": 2, "stored": 1, "duplicates": 0, "rejected": 1, "errors": []}],
    )


class ImportRunPage(BaseModel):
    items: list[ImportRunOut]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page.")
