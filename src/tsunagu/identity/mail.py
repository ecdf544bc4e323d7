"""Outgoing e-mail through a pluggable sender. The default, :class:`OutboxSender`, writes the
message to the ``outbox`` table in the caller's transaction (so a rolled-back request sends
nothing); the local installation reads it with ``tsunagu outbox list``. A real transport plugs in
as another :class:`MailSender` (or as a job that delivers outbox rows and marks them sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from tsunagu.core.ids import new_id
from tsunagu.identity import repo
from tsunagu.identity.models import OutboxMessage
from tsunagu.identity.schemas import OutboxMessageOut


@dataclass(frozen=True)
class Mail:
    to: str
    kind: str
    subject: str
    body: str


class MailSender(Protocol):
    def send(self, session: Session, mail: Mail, now: datetime) -> None: ...


class OutboxSender:
    """The default sender: one ``outbox`` row per message, in the caller's transaction."""

    def send(self, session: Session, mail: Mail, now: datetime) -> None:
        session.add(
            OutboxMessage(
                id=new_id("msg"),
                created_at=now,
                to_address=mail.to[:254],
                kind=mail.kind[:40],
                subject=mail.subject[:200],
                body=mail.body,
            )
        )
        session.flush()


DEFAULT_SENDER = OutboxSender()


def list_outbox(
    session: Session, *, to: str | None = None, limit: int = 100
) -> list[OutboxMessageOut]:
    """Queued messages, newest first."""
    rows = repo.outbox_messages(session, to=to, limit=max(1, min(limit, 10_000)))
    return [OutboxMessageOut.model_validate(row) for row in rows]
