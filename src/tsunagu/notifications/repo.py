"""All SQL of the notifications slice. Ids are time-ordered, so lists page by id, newest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from tsunagu.notifications.models import Delivery, Notification, Webhook
from tsunagu.notifications.rules import CANCELLED, PENDING, SENDING


def notification_by_key(session: Session, key: str) -> Notification | None:
    return session.scalars(select(Notification).where(Notification.key == key)).first()


def subscribed_webhooks(session: Session, *, seller_id: str, kind: str) -> list[Webhook]:
    """Active webhooks of the seller, and those for every seller, that want ``kind``."""
    rows = session.scalars(
        select(Webhook)
        .where(
            Webhook.active.is_(True),
            Webhook.removed_at.is_(None),
            or_(Webhook.seller_id == seller_id, Webhook.seller_id.is_(None)),
        )
        .order_by(Webhook.id)
    ).all()
    return [w for w in rows if kind in (w.kinds or [])]


def count_webhooks(session: Session, *, seller_id: str | None) -> int:
    scope = Webhook.seller_id.is_(None) if seller_id is None else Webhook.seller_id == seller_id
    stmt = select(func.count()).select_from(Webhook).where(Webhook.removed_at.is_(None), scope)
    return int(session.scalar(stmt) or 0)


def list_notifications(
    session: Session,
    *,
    sellers: Collection[str] | None,
    limit: int,
    before: str | None = None,
) -> Sequence[Notification]:
    """Newest first; ``sellers`` None means every seller."""
    stmt = select(Notification)
    if sellers is not None:
        stmt = stmt.where(Notification.seller_id.in_(list(sellers)))
    if before is not None:
        stmt = stmt.where(Notification.id < before)
    return session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)).all()


def list_webhooks(
    session: Session,
    *,
    sellers: Collection[str] | None,
    include_global: bool,
    limit: int,
    before: str | None = None,
) -> Sequence[Webhook]:
    stmt = select(Webhook).where(Webhook.removed_at.is_(None))
    if sellers is not None:
        seller_filter = Webhook.seller_id.in_(list(sellers))
        stmt = stmt.where(
            or_(seller_filter, Webhook.seller_id.is_(None)) if include_global else seller_filter
        )
    elif not include_global:
        stmt = stmt.where(Webhook.seller_id.is_not(None))
    if before is not None:
        stmt = stmt.where(Webhook.id < before)
    return session.scalars(stmt.order_by(Webhook.id.desc()).limit(limit)).all()


def list_deliveries(
    session: Session, *, webhook_id: str, limit: int, before: str | None = None
) -> Sequence[Delivery]:
    stmt = select(Delivery).where(Delivery.webhook_id == webhook_id)
    if before is not None:
        stmt = stmt.where(Delivery.id < before)
    return session.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)).all()


def cancel_pending(session: Session, *, webhook_id: str) -> int:
    result = session.execute(
        update(Delivery)
        .where(Delivery.webhook_id == webhook_id, Delivery.status == PENDING)
        .values(status=CANCELLED, next_attempt_at=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def due_deliveries(session: Session, *, now: datetime, limit: int) -> Sequence[Delivery]:
    """Pending deliveries whose time has come, and sending ones whose runner's lease ran out."""
    return session.scalars(
        select(Delivery)
        .where(
            or_(
                (Delivery.status == PENDING) & (Delivery.next_attempt_at <= now),
                (Delivery.status == SENDING) & (Delivery.lease_until < now),
            )
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()


def take(session: Session, delivery: Delivery, *, lease_until: datetime) -> bool:
    """Mark one delivery ``sending`` unless another runner changed it since it was read."""
    claimed = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery.id,
            Delivery.status == delivery.status,
            Delivery.attempts == delivery.attempts,
        )
        .values(status=SENDING, attempts=delivery.attempts + 1, lease_until=lease_until)
    )
    return int(claimed.rowcount) == 1  # type: ignore[attr-defined]
