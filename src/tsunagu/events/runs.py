"""The record of imports (``import_runs``): keeping one around an import, and reading them back.

:func:`recorded` owns its transactions, like :mod:`tsunagu.events.ingest`: the run is written as
``running`` before the import starts and finished afterwards whatever happened, so a crash leaves a
visible ``running`` row. The CLI and the API both import through it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.events import service as events_service
from tsunagu.events.models import ImportRun

#: the statuses a run can end with (``running`` while it runs)
STATUSES = ("running", "done", "done_with_rejections", "rejected", "failed")


def recorded(
    factory: sessionmaker[Session],
    *,
    kind: str,
    source_name: str,
    sha256: str | None,
    seller_id: str | None,
    marketplace: str | None,
    mode: str,
    clock: Callable[[], datetime],
    work: Callable[[], dict[str, Any]],
) -> tuple[str, dict[str, Any]]:
    """Run ``work`` (an import answering the report dict) inside a record; returns (run id,
    report). The status is ``done``, ``done_with_rejections``, ``rejected`` (strict and something
    was refused) or ``failed`` (``work`` raised; the exception propagates)."""
    with unit_of_work(factory) as session:
        run_id = events_service.start_run(
            session,
            kind=kind,
            source_name=source_name,
            sha256=sha256,
            seller_id=seller_id,
            marketplace=marketplace,
            mode=mode,
            now=clock(),
        )
    status = "failed"
    result: dict[str, Any] = {}
    try:
        result = work()
        status = "done" if not result["rejected"] else "done_with_rejections"
        if mode == "strict" and result["rejected"]:
            status = "rejected"
        return run_id, result
    finally:
        with unit_of_work(factory) as session:
            events_service.finish_run(session, run_id, status=status, counts=result, now=clock())


def list_runs(
    session: Session,
    *,
    seller_id: str,
    marketplace: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[ImportRun]:
    """A seller's import runs, latest start first; ``after`` is the (started_at, id) of the last
    run of the previous page."""
    stmt = select(ImportRun).where(ImportRun.seller_id == seller_id)
    if marketplace is not None:
        stmt = stmt.where(ImportRun.marketplace == marketplace)
    if after is not None:
        started_at, run_id = after
        stmt = stmt.where(
            or_(
                ImportRun.started_at < started_at,
                (ImportRun.started_at == started_at) & (ImportRun.id < run_id),
            )
        )
    stmt = stmt.order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def get_run(session: Session, *, seller_id: str, run_id: str) -> ImportRun | None:
    """One run of the seller (``None`` for another seller's run: no existence leak)."""
    run = session.get(ImportRun, run_id)
    return run if run is not None and run.seller_id == seller_id else None
