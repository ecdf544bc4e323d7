"""The audit log (PRIV-05, AUTH-16): append, list with filters, export as JSON lines.

Every text value is escaped (:func:`rules.escape_control`) and cut to its column before it is
stored, so a user name with CR/LF cannot start a forged entry in any rendering of the log; detail
keys that would carry a secret are refused outright. Functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tsunagu.identity import repo
from tsunagu.identity.models import AuditEntry
from tsunagu.identity.rules import FORBIDDEN_AUDIT_KEYS, escape_control
from tsunagu.identity.schemas import AuditEntryOut

OUTCOMES = ("success", "failure", "denied")


@dataclass(frozen=True)
class Client:
    """Where a request came from; every field optional (the CLI has none of them)."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


NO_CLIENT = Client()


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return escape_control(value)[:limit]


def _clean_details(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return "…"
    if isinstance(value, str):
        return escape_control(value)[:500]
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            name = escape_control(str(key))[:60]
            if name.casefold() in FORBIDDEN_AUDIT_KEYS:
                raise ValueError(f"audit details may not contain {name!r}")
            cleaned[name] = _clean_details(item, depth + 1)
        return cleaned
    if isinstance(value, list | tuple):
        return [_clean_details(item, depth + 1) for item in value[:50]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return escape_control(str(value))[:500]


def append(
    session: Session,
    *,
    action: str,
    outcome: str,
    now: datetime,
    actor: str = "anonymous",
    target: str | None = None,
    client: Client = NO_CLIENT,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    if now.tzinfo is None:
        raise ValueError("audit time must be aware UTC")
    entry = AuditEntry(
        at=now,
        actor=_clean(actor, 120) or "anonymous",
        action=_clean(action, 60) or "unknown",
        target=_clean(target, 200),
        outcome=outcome,
        ip=_clean(client.ip, 64),
        user_agent=_clean(client.user_agent, 300),
        request_id=_clean(client.request_id, 100),
        details=_clean_details(details or {}),
    )
    session.add(entry)
    session.flush()
    return entry


class Owned(Protocol):
    """A stored secret that belongs to a principal (a one-time code, an API token)."""

    @property
    def id(self) -> str: ...

    @property
    def principal_id(self) -> str: ...


def refusal(
    session: Session,
    *,
    action: str,
    reason: str,
    now: datetime,
    client: Client,
    row: Owned | None,
) -> AuditEntry:
    """The entry of a refused secret: whose it was (``anonymous`` when unknown) and why."""
    return append(
        session,
        action=action,
        outcome="failure",
        now=now,
        actor=row.principal_id if row is not None else "anonymous",
        target=row.id if row is not None else None,
        client=client,
        details={"reason": reason},
    )


def list_entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntryOut]:
    """Entries in the order they were written; ``after_seq`` pages on from the last one seen."""
    rows = repo.audit_entries(
        session,
        actor=actor,
        action=action,
        outcome=outcome,
        target=target,
        since=since,
        until=until,
        after_seq=after_seq,
        limit=max(1, min(limit, 10_000)),
    )
    return [AuditEntryOut.model_validate(row) for row in rows]


def export_jsonl(session: Session, **filters: Any) -> Iterator[str]:
    """Every matching entry as one JSON object per line (no trailing newline in the items)."""
    after: int | None = None
    while True:
        page = list_entries(session, after_seq=after, limit=1000, **filters)
        for entry in page:
            yield entry.model_dump_json()
        if len(page) < 1000:
            return
        after = page[-1].seq
