"""SQL of the personal-data store. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tsunagu.core.db import bulk_insert, placeholders
from tsunagu.personal.models import PersonalLink, PersonalRecord

_RECORD_COLUMNS = ("subject_id", "about", "seller_id", "fields", "source", "updated_at")

#: The stored object merged with the new one, a new value replacing the old value of its field.
_MERGED = {
    "sqlite": "json_patch(personal_records.fields, excluded.fields)",
    "postgresql": "(personal_records.fields::jsonb || excluded.fields::jsonb)::text",
}


def upsert_records(session: Session, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert ``(subject_id, about, seller_id, fields, source, updated_at)`` rows; a row already
    stored keeps the fields the new one does not give."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    conn.exec_driver_sql(
        f"INSERT INTO personal_records ({', '.join(_RECORD_COLUMNS)}) "
        f"VALUES ({placeholders(dialect, len(_RECORD_COLUMNS))}) "
        f"ON CONFLICT (subject_id, about) DO UPDATE SET fields = {_MERGED[dialect]}, "
        "seller_id = excluded.seller_id, source = excluded.source, "
        "updated_at = excluded.updated_at",
        list(rows),
    )


def insert_links(session: Session, rows: Sequence[tuple[str, str, str, str]]) -> None:
    """``(seller_id, marketplace, order_id, subject_id)`` rows; a link already stored stays."""
    bulk_insert(
        session,
        "personal_links",
        ("seller_id", "marketplace", "order_id", "subject_id"),
        rows,
        conflict=("seller_id", "marketplace", "order_id", "subject_id"),
    )


def fields_of(session: Session, subject_id: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for (fields,) in session.execute(
        select(PersonalRecord.fields)
        .where(PersonalRecord.subject_id == subject_id)
        .order_by(PersonalRecord.about)
    ):
        found.update(orjson.loads(fields))
    return found


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


def delete_subject(session: Session, subject_id: str) -> int:
    """Delete the subject's records; the number of values they held."""
    rows = session.execute(
        select(PersonalRecord.fields).where(PersonalRecord.subject_id == subject_id)
    ).scalars()
    count = sum(len(orjson.loads(fields)) for fields in rows)
    session.execute(delete(PersonalRecord).where(PersonalRecord.subject_id == subject_id))
    return count
