"""Sending what is due: claim, send, record, each delivery on its own.

Like the job runner, this module owns its transactions: deliveries are claimed in one (marked
``sending`` with a lease), each HTTP attempt is made with no transaction open (so SQLite's write
lock is never held across the network), and each result is recorded in a transaction of its
own. A runner that dies mid-attempt leaves a ``sending`` delivery whose lease runs out; the next
run takes it over. Two runners never send the same claimed attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.notifications import rules, sender, service
from tsunagu.notifications.config import NotificationsConfig
from tsunagu.notifications.sender import Resolver, system_resolver

log = logging.getLogger("tsunagu.notifications")


@dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "attempts": self.attempts,
        }


def lease_for(config: NotificationsConfig) -> timedelta:
    """Longer than any attempt can take (three timeouts, see :mod:`.sender`), plus a margin."""
    return timedelta(seconds=3 * config.timeout_seconds + 60)


def request_of(claim: service.Claimed, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and the signed headers of one attempt."""
    body = rules.body_of(
        rules.envelope(
            notification_id=claim.notification_id,
            kind=claim.kind,
            seller_id=claim.seller_id,
            marketplace=claim.marketplace,
            payload=claim.payload,
            occurred_at=claim.occurred_at,
            published_at=now,
            webhook_id=claim.webhook_id,
        )
    )
    timestamp = int(now.timestamp())
    headers = {
        rules.SIGNATURE_HEADER: rules.signature_header(claim.secret, timestamp, body),
        rules.ID_HEADER: claim.notification_id,
    }
    return body, headers


def deliver_due(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    config: NotificationsConfig,
    resolve: Resolver = system_resolver,
) -> DeliveryRun:
    """Make one attempt for every delivery due at ``now`` (at most ``batch_size``)."""
    run = DeliveryRun()
    with unit_of_work(factory) as session:
        claims, run.cancelled = service.claim_due(
            session, now=now, limit=config.batch_size, lease=lease_for(config)
        )
    for claim in claims:
        body, headers = request_of(claim, now)
        outcome = sender.send(
            url=claim.url,
            allowlist=config.allowed_hosts,
            body=body,
            headers=headers,
            timeout=config.timeout_seconds,
            max_response_bytes=config.max_response_bytes,
            resolve=resolve,
        )
        attempt = service.Attempt(now, outcome.status_code, outcome.error, outcome.duration_ms)
        with unit_of_work(factory) as session:
            status = service.record_attempt(session, claim=claim, attempt=attempt, config=config)
        if status == rules.DELIVERED:
            run.delivered += 1
        elif status == rules.PENDING:
            run.retrying += 1
        elif status == rules.FAILED:
            run.failed += 1
        if outcome.error:
            # ids and the status only: never the URL (it may carry a token), a header or a body
            log.warning(
                "webhook delivery %s (webhook %s) attempt %d: %s",
                claim.delivery_id,
                claim.webhook_id,
                claim.attempt,
                outcome.error,
            )
        run.attempts.append(
            {
                "delivery_id": claim.delivery_id,
                "webhook_id": claim.webhook_id,
                "attempt": claim.attempt,
                "status": status,
                **attempt.as_dict(),
            }
        )
    return run
