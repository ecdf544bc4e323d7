"""E-mail over SMTP (ADR 0034): one message through the standard library's :mod:`smtplib`, and
the delivery of the ``outbox`` (where every account e-mail and alert digest is written) with
retries.

Every e-mail tsunagu writes goes to the ``outbox`` table in the writer's transaction
(:mod:`tsunagu.identity.mail`), so a rolled-back request sends nothing. When
``[notifications.email]`` names a host, the ``notifications.email`` job sends what is waiting:
like webhook deliveries (:mod:`.dispatch`) it claims messages in one short transaction, talks to
the server with no transaction open, and records each result in a transaction of its own. A
failed attempt is tried again after the webhook back-off (``first_retry_seconds`` doubled up to
``max_retry_seconds``, with jitter) until ``max_attempts``; a permanent refusal (a 5xx answer,
a refused recipient, failed authentication) fails at once. A message older than
``max_age_hours`` is marked expired instead of sent. The password is never logged, and an error
recorded is an SMTP code or an exception's class name, never a message body.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tsunagu.core.db import unit_of_work
from tsunagu.identity.models import OutboxMessage
from tsunagu.notifications.config import EmailConfig, NotificationsConfig
from tsunagu.notifications.email_models import EmailDelivery
from tsunagu.notifications.rules import retry_delay

log = logging.getLogger("tsunagu.notifications")

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
EXPIRED = "expired"
STATUSES = (PENDING, SENDING, SENT, FAILED, EXPIRED)


class SendFailed(Exception):
    """One attempt did not hand the message to the server. ``error`` is safe to record;
    ``permanent``: trying again cannot help."""

    def __init__(self, error: str, *, permanent: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.permanent = permanent


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    """Certificates are always checked: against the system's authorities, or ``ca_file``."""
    return ssl.create_default_context(cafile=config.ca_file)


def compose(config: EmailConfig, *, to: str, subject: str, body: str, at: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=config.from_address.rsplit("@", 1)[-1])
    message.set_content(body)
    return message


def send_message(config: EmailConfig, message: EmailMessage) -> None:
    """Hand ``message`` to the configured server, or raise :class:`SendFailed`."""
    if not config.host:
        raise SendFailed("not_configured", permanent=True)
    host, port, timeout = config.host, config.effective_port, config.timeout_seconds
    try:
        client: smtplib.SMTP
        if config.security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(config))
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if config.security == "starttls":
                if not client.has_extn("starttls"):
                    raise SendFailed("starttls_unavailable", permanent=True)
                client.starttls(context=tls_context(config))
                client.ehlo()
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except SendFailed:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SendFailed(f"auth_failed ({exc.smtp_code})", permanent=True) from None
    except smtplib.SMTPRecipientsRefused:
        raise SendFailed("recipient_refused", permanent=True) from None
    except smtplib.SMTPSenderRefused as exc:
        raise SendFailed(
            f"sender_refused ({exc.smtp_code})", permanent=exc.smtp_code >= 500
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(f"smtp_{exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
    except smtplib.SMTPNotSupportedError:
        raise SendFailed("not_supported", permanent=True) from None
    except smtplib.SMTPServerDisconnected:
        raise SendFailed("disconnected") from None
    except smtplib.SMTPException as exc:
        raise SendFailed(f"smtp_error: {type(exc).__name__}") from None
    except ssl.SSLError as exc:
        raise SendFailed(f"tls_failed: {type(exc).__name__}") from None
    except TimeoutError:
        raise SendFailed("timeout") from None
    except OSError as exc:
        raise SendFailed(f"connect_failed: {type(exc).__name__}") from None


# -- the outbox ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    outbox_id: str
    to: str
    subject: str
    body: str
    created_at: datetime
    attempt: int


@dataclass
class EmailRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "expired": self.expired,
            "attempts": len(self.attempts),
        }


def lease_for(config: EmailConfig) -> timedelta:
    """Longer than one attempt can take (a few commands, each with its timeout)."""
    return timedelta(seconds=6 * config.timeout_seconds + 60)


def claim_due(
    session: Session, *, now: datetime, config: NotificationsConfig
) -> tuple[list[Claimed], int]:
    """Mark up to ``batch_size`` waiting messages ``sending`` (oldest first); messages older than
    ``max_age_hours`` are marked expired instead. (claimed, expired count)."""
    email = config.email
    due = or_(
        EmailDelivery.outbox_id.is_(None),
        and_(EmailDelivery.status == PENDING, EmailDelivery.next_attempt_at <= now),
        and_(EmailDelivery.status == SENDING, EmailDelivery.lease_until <= now),
    )
    rows = session.execute(
        select(OutboxMessage, EmailDelivery)
        .outerjoin(EmailDelivery, EmailDelivery.outbox_id == OutboxMessage.id)
        .where(OutboxMessage.sent_at.is_(None), due)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(config.batch_size)
    ).all()
    oldest = now - timedelta(hours=email.max_age_hours)
    claimed: list[Claimed] = []
    expired = 0
    for message, delivery in rows:
        if delivery is None:
            delivery = EmailDelivery(
                outbox_id=message.id, status=PENDING, attempts=0, updated_at=now
            )
            session.add(delivery)
        if message.created_at < oldest:
            delivery.status = EXPIRED
            delivery.next_attempt_at = None
            delivery.lease_until = None
            delivery.updated_at = now
            expired += 1
            continue
        delivery.status = SENDING
        delivery.attempts += 1
        delivery.lease_until = now + lease_for(email)
        delivery.updated_at = now
        claimed.append(
            Claimed(
                message.id,
                message.to_address,
                message.subject,
                message.body,
                message.created_at,
                delivery.attempts,
            )
        )
    session.flush()
    return claimed, expired


def record(
    session: Session,
    *,
    claim: Claimed,
    error: SendFailed | None,
    now: datetime,
    config: NotificationsConfig,
) -> str:
    """Record one attempt's result; the delivery's status afterwards."""
    delivery = session.get(EmailDelivery, claim.outbox_id)
    message = session.get(OutboxMessage, claim.outbox_id)
    if delivery is None or message is None:  # the message was deleted meanwhile
        return FAILED
    delivery.lease_until = None
    delivery.updated_at = now
    if error is None:
        delivery.status = SENT
        delivery.sent_at = now
        delivery.last_error = None
        delivery.next_attempt_at = None
        message.sent_at = now
    elif error.permanent or delivery.attempts >= config.email.max_attempts:
        delivery.status = FAILED
        delivery.last_error = error.error[:300]
        delivery.next_attempt_at = None
    else:
        delivery.status = PENDING
        delivery.last_error = error.error[:300]
        delivery.next_attempt_at = now + retry_delay(
            delivery.attempts, first=config.first_retry, cap=config.max_retry, seed=claim.outbox_id
        )
    session.flush()
    return delivery.status


def deliver_outbox(
    factory: sessionmaker[Session], *, now: datetime, config: NotificationsConfig
) -> EmailRun:
    """One attempt for every waiting outbox message (at most ``batch_size``); nothing at all
    when no SMTP host is configured (the outbox keeps the messages, ``tsunagu outbox list``)."""
    run = EmailRun()
    if not config.email.enabled:
        return run
    with unit_of_work(factory) as session:
        claims, run.expired = claim_due(session, now=now, config=config)
    for claim in claims:
        error: SendFailed | None = None
        try:
            send_message(
                config.email,
                compose(config.email, to=claim.to, subject=claim.subject, body=claim.body, at=now),
            )
        except SendFailed as exc:
            error = exc
            # ids and the error only: never the address, a body or a credential
            log.warning("e-mail %s attempt %d: %s", claim.outbox_id, claim.attempt, exc.error)
        with unit_of_work(factory) as session:
            status = record(session, claim=claim, error=error, now=now, config=config)
        if status == SENT:
            run.sent += 1
        elif status == PENDING:
            run.retrying += 1
        else:
            run.failed += 1
        run.attempts.append(
            {
                "outbox_id": claim.outbox_id,
                "attempt": claim.attempt,
                "status": status,
                "error": error.error if error else None,
            }
        )
    return run


def delivery_of(session: Session, outbox_id: str) -> EmailDelivery | None:
    return session.get(EmailDelivery, outbox_id)
