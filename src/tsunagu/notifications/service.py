"""Notification records, the webhooks that receive them, and their deliveries. Never commits.

:func:`notify` is what enforcement and appeals call: it records the notification once per
``key`` and queues one delivery per active webhook that subscribed to its kind (for its seller,
or for every seller). Sending happens later, under the job runner (:mod:`.dispatch`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tsunagu.access.actor import Actor
from tsunagu.core.i18n import N_
from tsunagu.core.ids import new_id
from tsunagu.identity import audit
from tsunagu.identity.audit import NO_CLIENT, Client
from tsunagu.notifications import errors, repo
from tsunagu.notifications.config import NotificationsConfig
from tsunagu.notifications.models import Delivery, Notification, Webhook
from tsunagu.notifications.rules import (
    CANCELLED,
    DELIVERED,
    FAILED,
    KIND_SHAPE,
    KINDS,
    PENDING,
    SENDING,
    is_success,
    parse_target,
    retry_delay,
    url_problem,
)
from tsunagu.sellers.service import get_seller, seller_not_found

#: webhooks one seller (or the every-seller scope) may have at once
MAX_WEBHOOKS = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 (a label in front of the random part)


# -- notifications -----------------------------------------------------------------------------


def notify(
    session: Session,
    *,
    kind: str,
    seller_id: str,
    marketplace: str | None,
    payload: Mapping[str, Any],
    now: datetime,
    key: str,
) -> None:
    """Record one notification (idempotent per ``key``) and queue its deliveries to the
    webhooks that subscribe to it. ``kind`` is e.g. ``ACCOUNT_STATUS_CHANGED`` (payload
    ``previousAccountStatus``, ``currentAccountStatus`` …) or ``APPEAL_STATUS_CHANGED``."""
    record(
        session,
        kind=kind,
        seller_id=seller_id,
        marketplace=marketplace,
        payload=payload,
        now=now,
        key=key,
    )


def record(
    session: Session,
    *,
    kind: str,
    seller_id: str,
    marketplace: str | None,
    payload: Mapping[str, Any],
    now: datetime,
    key: str,
) -> tuple[Notification, bool]:
    """:func:`notify`, returning the notification and whether it is new."""
    if not KIND_SHAPE.match(kind):
        raise ValueError(f"not a notification kind: {kind!r}")
    if not key or len(key) > 200:
        raise ValueError("a notification key is 1 to 200 characters")
    if now.tzinfo is None:
        raise ValueError("now must be aware UTC")
    body = json.loads(json.dumps(dict(payload)))  # JSON only; a stray object fails here
    found = repo.notification_by_key(session, key)
    if found is not None:
        return found, False
    notification = Notification(
        id=new_id("ntf"),
        key=key,
        kind=kind,
        seller_id=seller_id,
        marketplace=marketplace,
        payload=body,
        occurred_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(notification)
    except IntegrityError:
        found = repo.notification_by_key(session, key)  # recorded at the same moment elsewhere
        if found is None:
            raise
        return found, False
    for webhook in repo.subscribed_webhooks(session, seller_id=seller_id, kind=kind):
        session.add(
            Delivery(
                id=new_id("dlv"),
                notification_id=notification.id,
                webhook_id=webhook.id,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                attempt_log=[],
            )
        )
    session.flush()
    return notification, True


def list_notifications(
    session: Session,
    *,
    actor: Actor,
    seller_id: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> Sequence[Notification]:
    """The caller's sellers' notifications, newest first (``seller_id`` narrows to one; a seller
    the caller cannot read is ``seller_not_found``)."""
    sellers: Iterable[str] | None = actor.sellers
    if seller_id is not None:
        if not actor.allows(seller_id, "read"):
            raise seller_not_found(seller_id)
        sellers = [seller_id]
    return repo.list_notifications(
        session,
        sellers=None if sellers is None else list(sellers),
        limit=limit,
        before=before,
    )


# -- webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    #: shown once, to whoever made the webhook; never again
    secret: str


def _may_manage_every_seller(actor: Actor) -> bool:
    """The local owner, or a platform operator signed in with a session (not an API token,
    which is always limited to named sellers)."""
    if actor.roles is None:
        return True
    return actor.roles.operator and actor.via != "token"


def _require_write(session: Session, actor: Actor, seller_id: str | None) -> None:
    if seller_id is None:
        if not _may_manage_every_seller(actor):
            raise errors.forbidden(
                N_("Only platform operators may manage webhooks for every seller.")
            )
        return
    if not actor.allows(seller_id, "read"):
        raise seller_not_found(seller_id)
    get_seller(session, seller_id)
    if not actor.allows(seller_id, "write"):
        raise errors.forbidden(
            N_("Your access to seller {seller_id} does not allow changes."), seller_id=seller_id
        )


def _kinds(kinds: Iterable[str]) -> list[str]:
    wanted: list[str] = []
    for kind in kinds:
        if kind not in KINDS:
            raise errors.unknown_kind(kind, KINDS)
        if kind not in wanted:
            wanted.append(kind)
    if not wanted:
        raise errors.unknown_kind("", KINDS)
    return wanted


def create_webhook(
    session: Session,
    *,
    actor: Actor,
    url: str,
    kinds: Iterable[str],
    seller_id: str | None,
    now: datetime,
    config: NotificationsConfig,
    client: Client = NO_CLIENT,
) -> CreatedWebhook:
    """A webhook for ``seller_id`` (write access needed) or, with None, for every seller (the
    local owner or a platform operator). The URL's host must be on the operator's allowlist
    now; it is checked again before every attempt."""
    _require_write(session, actor, seller_id)
    wanted = _kinds(kinds)
    problem = url_problem(url, config.allowed_hosts)
    if problem is not None:
        target = parse_target(url)
        raise errors.url_refused(problem, target.host if target else None)
    if repo.count_webhooks(session, seller_id=seller_id) >= MAX_WEBHOOKS:
        raise errors.too_many_webhooks(MAX_WEBHOOKS)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    webhook = Webhook(
        id=new_id("whk"),
        seller_id=seller_id,
        url=url,
        kinds=wanted,
        secret=secret,
        active=True,
        created_at=now,
        created_by=actor.principal_id or actor.name,
        removed_at=None,
    )
    session.add(webhook)
    session.flush()
    target = parse_target(url)
    audit.append(
        session,
        action="webhook_created",
        outcome="success",
        now=now,
        actor=actor.principal_id or actor.name,
        target=webhook.id,
        client=client,
        # the host only: a receiver may carry a token of its own in the path or query
        details={"seller_id": seller_id, "host": target.host if target else None, "kinds": wanted},
    )
    return CreatedWebhook(webhook, secret)


def visible_webhook(session: Session, *, actor: Actor, webhook_id: str) -> Webhook:
    """The webhook if the caller may read it: its seller's readers, and for an every-seller
    webhook the local owner and platform operators. Otherwise ``webhook_not_found``."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.removed_at is not None:
        raise errors.webhook_not_found(webhook_id)
    if webhook.seller_id is None:
        if actor.roles is None or actor.roles.operator:
            return webhook
        raise errors.webhook_not_found(webhook_id)
    if not actor.allows(webhook.seller_id, "read"):
        raise errors.webhook_not_found(webhook_id)
    return webhook


def list_webhooks(
    session: Session,
    *,
    actor: Actor,
    seller_id: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> Sequence[Webhook]:
    """The webhooks the caller may see, newest first (``seller_id`` narrows to one seller)."""
    every = actor.roles is None or actor.roles.operator
    if seller_id is not None:
        if not actor.allows(seller_id, "read"):
            raise seller_not_found(seller_id)
        return repo.list_webhooks(
            session, sellers=[seller_id], include_global=False, limit=limit, before=before
        )
    sellers = actor.sellers
    return repo.list_webhooks(
        session,
        sellers=None if sellers is None else list(sellers),
        include_global=every,
        limit=limit,
        before=before,
    )


def remove_webhook(
    session: Session,
    *,
    actor: Actor,
    webhook_id: str,
    now: datetime,
    client: Client = NO_CLIENT,
) -> Webhook:
    """Stop a webhook at once: nothing more is queued for it and its pending deliveries are
    cancelled. The row stays (with its deliveries) as the record of what was sent."""
    webhook = visible_webhook(session, actor=actor, webhook_id=webhook_id)
    _require_write(session, actor, webhook.seller_id)
    webhook.active = False
    webhook.removed_at = now
    cancelled = repo.cancel_pending(session, webhook_id=webhook.id)
    session.flush()
    audit.append(
        session,
        action="webhook_removed",
        outcome="success",
        now=now,
        actor=actor.principal_id or actor.name,
        target=webhook.id,
        client=client,
        details={"seller_id": webhook.seller_id, "cancelled": cancelled},
    )
    return webhook


def list_deliveries(
    session: Session,
    *,
    actor: Actor,
    webhook_id: str,
    limit: int = 50,
    before: str | None = None,
) -> Sequence[Delivery]:
    visible_webhook(session, actor=actor, webhook_id=webhook_id)
    return repo.list_deliveries(session, webhook_id=webhook_id, limit=limit, before=before)


# -- sending (the dispatcher's steps; each runs in a transaction of its own) --------------------


@dataclass(frozen=True)
class Claimed:
    """One delivery taken for an attempt, with what the attempt needs (read while claiming, so
    the network call happens outside any transaction)."""

    delivery_id: str
    attempt: int
    webhook_id: str
    url: str
    secret: str
    notification_id: str
    kind: str
    seller_id: str
    marketplace: str | None
    payload: dict[str, Any]
    occurred_at: datetime


def claim_due(
    session: Session, *, now: datetime, limit: int, lease: timedelta
) -> tuple[list[Claimed], int]:
    """Take up to ``limit`` due deliveries (``sending``, leased until ``now + lease``); those
    whose webhook was removed meanwhile are cancelled instead. Returns the claims and the
    number cancelled."""
    claims: list[Claimed] = []
    cancelled = 0
    for delivery in repo.due_deliveries(session, now=now, limit=limit):
        webhook = session.get(Webhook, delivery.webhook_id)
        notification = session.get(Notification, delivery.notification_id)
        assert webhook is not None  # foreign keys
        assert notification is not None
        if not webhook.active or webhook.removed_at is not None:
            delivery.status, delivery.next_attempt_at, delivery.lease_until = CANCELLED, None, None
            cancelled += 1
            continue
        attempt = delivery.attempts + 1  # read before the update refreshes the row
        if not repo.take(session, delivery, lease_until=now + lease):
            continue  # another runner has it
        claims.append(
            Claimed(
                delivery_id=delivery.id,
                attempt=attempt,
                webhook_id=webhook.id,
                url=webhook.url,
                secret=webhook.secret,
                notification_id=notification.id,
                kind=notification.kind,
                seller_id=notification.seller_id,
                marketplace=notification.marketplace,
                payload=dict(notification.payload),
                occurred_at=notification.occurred_at,
            )
        )
    session.flush()
    return claims, cancelled


@dataclass(frozen=True)
class Attempt:
    """What one attempt found. ``error`` is short and never holds the URL, a header or a
    body: ``redirect_not_followed``, ``http_500``, ``timeout``, ``refused: host_not_allowed`` …"""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "status_code": self.status_code,
            "error": self.error,
            "duration_ms": self.duration_ms,
        }


def record_attempt(
    session: Session,
    *,
    claim: Claimed,
    attempt: Attempt,
    config: NotificationsConfig,
) -> str:
    """Write one attempt and what follows from it: ``delivered``; another try after the
    back-off (``pending``); or, after ``max_attempts``, ``failed``. Returns the new status.
    An attempt whose lease was taken over by another runner is still logged."""
    delivery = session.get(Delivery, claim.delivery_id)
    assert delivery is not None
    delivery.attempt_log = [*(delivery.attempt_log or []), attempt.as_dict()]
    delivery.last_status_code = attempt.status_code
    delivery.last_error = attempt.error[:300] if attempt.error else None
    delivery.lease_until = None
    if delivery.status != SENDING:
        session.flush()  # cancelled (webhook removed) while the attempt was on the way
        return delivery.status
    if is_success(attempt.status_code):
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DELIVERED,
            attempt.at,
            None,
        )
    elif claim.attempt >= config.max_attempts:
        delivery.status, delivery.next_attempt_at = FAILED, None
    else:
        delay = retry_delay(
            claim.attempt, first=config.first_retry, cap=config.max_retry, seed=delivery.id
        )
        delivery.status, delivery.next_attempt_at = PENDING, attempt.at + delay
    session.flush()
    return delivery.status
