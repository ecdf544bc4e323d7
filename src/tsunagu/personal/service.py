"""The personal-data store's API. Services never commit; the caller owns the transaction.

Subjects are named by a keyed hash (HMAC-SHA256 with a per-installation secret) of what
identifies them — e.g. a buyer's e-mail within one store — so the same person gets the same
pseudonymous id on every import, yet the id reveals nothing without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, raw_instant
from tsunagu.personal import repo
from tsunagu.personal.models import InstallationSecret

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
    return pseudonyms(session, seller_id, [parts])[0]


def pseudonyms(session: Session, seller_id: str, keys: Iterable[Sequence[str]]) -> list[str]:
    """:func:`pseudonym` of each of ``keys`` (the ``parts`` of one subject each), in order."""
    key = _key(session)
    prefix = "subj_" + hashlib.sha256(seller_id.encode()).hexdigest()[:8]
    return [
        prefix + hmac.digest(key, "\x1f".join((seller_id, *parts)).encode(), "sha256").hex()[:24]
        for parts in keys
    ]


def record(
    session: Session,
    *,
    seller_id: str,
    values: Mapping[str, Mapping[str, str]],
    source: str,
    now: datetime,
) -> int:
    """Store ``values`` (subject -> field -> value); the number of values stored.

    A newer value of a field replaces the older one; fields not given keep their values; empty
    values are not stored. The fields of one subject are one row, or one per thing they are
    about (``message:<id>:body`` goes with the message, see :class:`PersonalRecord`).
    """
    updated = raw_instant(now, session.get_bind().dialect.name)
    rows: list[tuple[object, ...]] = []
    count = 0
    for subject in sorted(values):  # the order of the table's key
        by_about: dict[str, dict[str, str]] = {}
        for name, value in values[subject].items():
            if value:
                by_about.setdefault(name.rpartition(":")[0], {})[name] = value
        for about in sorted(by_about):
            fields = by_about[about]
            count += len(fields)
            text = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS).decode()
            rows.append((subject, about, seller_id, text, source, updated))
    repo.upsert_records(session, rows)
    return count


def link(
    session: Session, *, seller_id: str, marketplace: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """Connect orders to subjects: ``(order_id, subject_id)`` pairs."""
    repo.insert_links(
        session, [(seller_id, marketplace, order_id, subject) for order_id, subject in pairs]
    )


def records_of(session: Session, subject_id: str) -> dict[str, str]:
    """Every personal value stored about the subject, by field name."""
    return repo.fields_of(session, subject_id)


def subjects_of_order(
    session: Session, seller_id: str, marketplace: str, order_id: str
) -> list[str]:
    return repo.subjects_of_order(session, seller_id, marketplace, order_id)


def erase_subject(session: Session, subject_id: str) -> int:
    """Delete everything stored about one person (the number of values); events, projections
    and the links of orders to the pseudonym are untouched. Erasing twice erases nothing."""
    return repo.delete_subject(session, subject_id)
