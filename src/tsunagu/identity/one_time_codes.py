"""One-time codes sent by e-mail, shared by the flows that prove a mailbox: password reset
(:mod:`.reset`), e-mail verification (:mod:`.verify`), unlink confirmation (:mod:`.unlinking`)
and link requests (:mod:`.link_requests`). Never commits; the SQL is in :mod:`.repo`.

A code is issued with an expiry and shown only in its message; the table keeps its SHA-256. A
newer code for the same principal supersedes the older ones. A presented code is looked up by
its hash, refused when unknown, used, expired or its principal is no longer active (the audit
entry says which), and consumed once by one guarded UPDATE: of two concurrent uses, the second
finds nothing left to update.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic

from sqlalchemy.orm import Session

from tsunagu.core.ids import new_id
from tsunagu.identity import audit, repo
from tsunagu.identity.audit import Client
from tsunagu.identity.mail import Mail, MailSender
from tsunagu.identity.models import Principal
from tsunagu.identity.repo import Coded, Tokened


def new_token() -> str:
    """256 random bits from the CSPRNG, URL-safe (AUTH-08 asks for at least 128)."""
    return secrets.token_urlsafe(32)


def new_digits(count: int) -> str:
    """A code of ``count`` random decimal digits, for typing by hand."""
    return f"{secrets.randbelow(10**count):0{count}d}"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def link_line(link_base: str | None, token: str) -> str:
    """The message's line with the link that carries ``token``; empty without a base address."""
    return f"{link_base}?token={token}\n" if link_base else ""


def issue(
    session: Session,
    model: type[Tokened],
    *,
    prefix: str,
    principal_id: str,
    now: datetime,
    lifetime: timedelta,
    **columns: Any,
) -> tuple[Tokened, str]:
    """A new code for ``principal_id``, valid for ``lifetime``; its earlier unused codes stop
    working. Returns the stored row and the code in clear, to be sent once and forgotten."""
    repo.supersede_codes(session, model, principal_id=principal_id, now=now)
    token = new_token()
    row = model(
        id=new_id(prefix),
        principal_id=principal_id,
        token_hash=hash_secret(token),
        created_at=now,
        expires_at=now + lifetime,
        **columns,
    )
    session.add(row)
    session.flush()
    return row, token


def send(
    session: Session,
    model: type[Tokened],
    *,
    prefix: str,
    principal: Principal,
    now: datetime,
    lifetime: timedelta,
    compose: Callable[[str], Mail],
    sender: MailSender,
    action: str,
    client: Client,
    **columns: Any,
) -> None:
    """:func:`issue` a code for ``principal``, send the message ``compose`` makes of it, and
    record ``action`` (its success) in the audit log."""
    row, token = issue(
        session,
        model,
        prefix=prefix,
        principal_id=principal.id,
        now=now,
        lifetime=lifetime,
        **columns,
    )
    sender.send(session, compose(token), now)
    audit.append(
        session,
        action=action,
        outcome="success",
        now=now,
        actor=principal.id,
        target=row.id,
        client=client,
    )


@dataclass(frozen=True)
class Presented(Generic[Tokened]):
    """A code as presented: its row (None when unknown) and its active principal, or (with no
    principal) ``reason``, why it is refused: ``unknown``, ``used``, ``expired`` or
    ``no_active_account``."""

    row: Tokened | None
    principal: Principal | None = None
    reason: str = ""


def look_up(
    session: Session, model: type[Tokened], *, token: str, now: datetime
) -> Presented[Tokened]:
    """The unused, unexpired code ``token`` of an active principal, or why not."""
    row = repo.code_by_token_hash(session, model, hash_secret(token.strip()))
    if row is None:
        return Presented(None, reason="unknown")
    if row.used_at is not None:
        return Presented(row, reason="used")
    if now >= row.expires_at:
        return Presented(row, reason="expired")
    principal = session.get(Principal, row.principal_id)
    if principal is None or principal.status != "active":
        return Presented(row, reason="no_active_account")
    return Presented(row, principal)


def consume(session: Session, model: type[Coded], row: Coded, now: datetime) -> bool:
    """Spend the code once; False when a concurrent use spent it first."""
    return repo.claim_code(session, model, code_id=row.id, now=now)


def supersede(session: Session, model: type[Coded], *, principal_id: str, now: datetime) -> None:
    """Every unused code of the principal stops working."""
    repo.supersede_codes(session, model, principal_id=principal_id, now=now)
