"""The personal-data store's API. Services never commit; the caller owns the transaction.

Subjects are named by a keyed hash (HMAC-SHA256 with a per-installation secret) of what
identifies them — e.g. a buyer's e-mail within one store — so the same person gets the same
pseudonymous id on every import, yet the id reveals nothing without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant
from tsunagu.personal.models import InstallationSecret, PersonalLink, PersonalRecord

_KEY_NAME = "pseudonym_key"


def _key(session: Session) -> bytes:
    cached = session.info.get(_KEY_NAME)
    if isinstance(cached, bytes):
        return cached
    bulk_insert(
        session,
        "installation_secrets",
        ("name", "value"),
        [(_KEY_NAME, secrets.token_hex(32))],
        conflict=("name",),
    )
    value = session.execute(
        select(InstallationSecret.value).where(InstallationSecret.name == _KEY_NAME)
    ).scalar_one()
    key = bytes.fromhex(value)
    session.info[_KEY_NAME] = key
    return key


def pseudonym(session: Session, seller_id: str, *parts: str) -> str:
    """``subj_`` + 8 hex chars naming the seller + 24 keyed-hash chars; stable per installation.

    The seller part keeps one seller's subjects next to each other in the personal-data indexes,
    so an import touches a few pages instead of pages all over an ever larger table. It is a plain
    hash of the seller id, which is not personal data; the person stays behind the keyed hash.
    """
    digest = hmac.new(
        _key(session), "\x1f".join((seller_id, *parts)).encode(), hashlib.sha256
    ).hexdigest()
    return "subj_" + hashlib.sha256(seller_id.encode()).hexdigest()[:8] + digest[:24]


def record(
    session: Session,
    *,
    seller_id: str,
    rows: Iterable[tuple[str, str, str]],
    source: str,
    now: datetime,
) -> int:
    """Upsert ``(subject_id, field, value)`` rows; the newest value of a field wins."""
    d = session.get_bind().dialect.name
    values = [
        (subject, field, seller_id, value, source, raw_instant(now, d))
        for subject, field, value in rows
        if value
    ]
    bulk_insert(
        session,
        "personal_records",
        ("subject_id", "field", "seller_id", "value", "source", "updated_at"),
        values,
        conflict=("subject_id", "field"),
        update=("value", "source", "updated_at"),
    )
    return len(values)


def link(
    session: Session, *, seller_id: str, marketplace: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """Connect orders to subjects: ``(order_id, subject_id)`` pairs."""
    bulk_insert(
        session,
        "personal_links",
        ("seller_id", "marketplace", "order_id", "subject_id"),
        [(seller_id, marketplace, order_id, subject) for order_id, subject in pairs],
        conflict=("seller_id", "marketplace", "order_id", "subject_id"),
    )


def records_of(session: Session, subject_id: str) -> dict[str, str]:
    rows = session.execute(
        select(PersonalRecord.field, PersonalRecord.value).where(
            PersonalRecord.subject_id == subject_id
        )
    )
    return dict(rows)


def subjects_of_order(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> list[str]:
    return list(
        session.execute(
            select(PersonalLink.subject_id).where(
                PersonalLink.seller_id == seller_id,
                PersonalLink.marketplace == marketplace,
                PersonalLink.order_id == order_id,
            )
        ).scalars()
    )


def erase_subject(session: Session, subject_id: str) -> int:
    """Delete everything stored about one person; events and figures are untouched."""
    result = session.execute(delete(PersonalRecord).where(PersonalRecord.subject_id == subject_id))
    return int(result.rowcount)  # type: ignore[attr-defined]
