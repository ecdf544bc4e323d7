"""One personal-data row per subject (ADR 0023): ``personal_records`` keyed by subject and
``about`` with the values as a JSON object, instead of one row per field.

``about`` is the part of the field name before its last ``:`` (``""`` for ``ship_city``,
``message:m1`` for ``message:m1:body``). The rows are moved in SQL: grouped into objects on the
way up, spread back into one row per field on the way down. ``source`` and ``updated_at`` of a
grouped row are those of its latest field.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

#: ``about`` of a field name, in SQLite: ``rtrim`` strips the characters of the name that are not
#: ``:`` from its end, which leaves everything up to the last ``:``; then that ``:`` goes.
_SQLITE_ABOUT = (
    "CASE WHEN instr(field, ':') = 0 THEN '' ELSE "
    "substr(rtrim(field, replace(field, ':', '')), 1, "
    "length(rtrim(field, replace(field, ':', ''))) - 1) END"
)

_UP = {
    # a bare column next to a single max() comes from the row holding that max (SQLite)
    "sqlite": f"""
        INSERT INTO personal_records (subject_id, about, seller_id, fields, source, updated_at)
        SELECT subject_id, about, seller_id, json_group_object(field, value), source,
               max(updated_at)
        FROM (SELECT *, {_SQLITE_ABOUT} AS about FROM personal_records_by_field ORDER BY field)
        GROUP BY subject_id, about
    """,
    "postgresql": """
        INSERT INTO personal_records (subject_id, about, seller_id, fields, source, updated_at)
        SELECT subject_id, about,
               (array_agg(seller_id ORDER BY updated_at DESC))[1],
               json_object_agg(field, value ORDER BY field)::text,
               (array_agg(source ORDER BY updated_at DESC))[1],
               max(updated_at)
        FROM (SELECT *, regexp_replace(field, ':?[^:]*$', '') AS about
              FROM personal_records_by_field) AS old
        GROUP BY subject_id, about
    """,
}

_DOWN = {
    "sqlite": """
        INSERT INTO personal_records (subject_id, field, seller_id, value, source, updated_at)
        SELECT r.subject_id, j.key, r.seller_id, j.value, r.source, r.updated_at
        FROM personal_records_by_subject AS r, json_each(r.fields) AS j
    """,
    "postgresql": """
        INSERT INTO personal_records (subject_id, field, seller_id, value, source, updated_at)
        SELECT r.subject_id, j.key, r.seller_id, j.value, r.source, r.updated_at
        FROM personal_records_by_subject AS r, json_each_text(r.fields::json) AS j
    """,
}


def _set_aside(name: str) -> None:
    """Rename ``personal_records`` (and, on PostgreSQL, its key's name, which is global)."""
    op.rename_table("personal_records", name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT pk_personal_records TO pk_{name}")


def upgrade() -> None:
    _set_aside("personal_records_by_field")
    op.create_table(
        "personal_records",
        sa.Column("subject_id", sa.String(length=60), nullable=False),
        sa.Column("about", sa.String(length=200), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "about", name=op.f("pk_personal_records")),
        sqlite_with_rowid=False,
    )
    op.execute(_UP[op.get_bind().dialect.name])
    op.drop_table("personal_records_by_field")


def downgrade() -> None:
    _set_aside("personal_records_by_subject")
    op.create_table(
        "personal_records",
        sa.Column("subject_id", sa.String(length=60), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "field", name=op.f("pk_personal_records")),
        sqlite_with_rowid=False,
    )
    op.execute(_DOWN[op.get_bind().dialect.name])
    op.drop_table("personal_records_by_subject")
