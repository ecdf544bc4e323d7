"""All SQL of the appeals slice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tsunagu.appeals.models import Appeal, AppealAttachment, AppealSection, AppealTransition
from tsunagu.sellers.models import Store


def get(session: Session, appeal_id: str, *, for_update: bool = False) -> Appeal | None:
    """The appeal; ``for_update`` locks its row on PostgreSQL until the transaction ends (SQLite
    writers already hold the database's write lock from their first statement)."""
    query = select(Appeal).where(Appeal.id == appeal_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def open_for(session: Session, deactivation_id: str) -> Appeal | None:
    return session.scalars(select(Appeal).where(Appeal.open_key == deactivation_id)).first()


def latest_for(session: Session, deactivation_id: str) -> Appeal | None:
    return session.scalars(
        select(Appeal)
        .where(Appeal.deactivation_id == deactivation_id)
        .order_by(Appeal.id.desc())
        .limit(1)
    ).first()


def list_appeals(
    session: Session,
    *,
    sellers: frozenset[str] | None,
    seller_id: str | None,
    marketplace: str | None,
    status: str | None,
    before: str | None,
    limit: int,
) -> list[Appeal]:
    """Newest first (ids grow with time); ``sellers`` limits to the ones the caller may read."""
    query = select(Appeal).order_by(Appeal.id.desc()).limit(limit)
    if sellers is not None:
        query = query.where(Appeal.seller_id.in_(sorted(sellers)))
    if seller_id is not None:
        query = query.where(Appeal.seller_id == seller_id)
    if marketplace is not None:
        query = query.where(Appeal.marketplace == marketplace)
    if status is not None:
        query = query.where(Appeal.status == status)
    if before is not None:
        query = query.where(Appeal.id < before)
    return list(session.scalars(query))


def overdue(session: Session, *, statuses: Sequence[str], now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Appeal.id)
            .where(Appeal.status.in_(statuses), Appeal.deadline <= now)
            .order_by(Appeal.id)
        )
    )


def stores(session: Session) -> list[tuple[str, str]]:
    """Every store (seller, marketplace), in order."""
    rows = session.execute(
        select(Store.seller_id, Store.marketplace).order_by(Store.seller_id, Store.marketplace)
    ).all()
    return [(r[0], r[1]) for r in rows]


def ever_submitted(session: Session, deactivation_id: str) -> bool:
    """Whether any appeal of the deactivation reached SUBMITTED (even if later rejected)."""
    found = session.scalar(
        select(Appeal.id)
        .where(Appeal.deactivation_id == deactivation_id, Appeal.submitted_at.is_not(None))
        .limit(1)
    )
    return found is not None


def sections(session: Session, appeal_id: str) -> list[AppealSection]:
    return list(
        session.scalars(
            select(AppealSection)
            .where(AppealSection.appeal_id == appeal_id)
            .order_by(AppealSection.position)
        )
    )


def replace_sections(session: Session, appeal_id: str, rows: Sequence[AppealSection]) -> None:
    session.execute(delete(AppealSection).where(AppealSection.appeal_id == appeal_id))
    session.add_all(rows)
    session.flush()


def attachments(session: Session, appeal_id: str) -> list[AppealAttachment]:
    return list(
        session.scalars(
            select(AppealAttachment)
            .where(AppealAttachment.appeal_id == appeal_id)
            .order_by(AppealAttachment.id)
        )
    )


def attachment_by_sha(session: Session, appeal_id: str, sha256: str) -> AppealAttachment | None:
    return session.scalars(
        select(AppealAttachment).where(
            AppealAttachment.appeal_id == appeal_id, AppealAttachment.sha256 == sha256
        )
    ).first()


def transitions(session: Session, appeal_id: str) -> list[AppealTransition]:
    return list(
        session.scalars(
            select(AppealTransition)
            .where(AppealTransition.appeal_id == appeal_id)
            .order_by(AppealTransition.seq)
        )
    )


def last_seq(session: Session, appeal_id: str) -> int:
    found = session.scalar(
        select(func.max(AppealTransition.seq)).where(AppealTransition.appeal_id == appeal_id)
    )
    return int(found or 0)
