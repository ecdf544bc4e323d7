"""The settlement tables (issue 14): each store's ledger (append-only, LED-07), the cursor of the
event sync that feeds it, funds holds and the Amazon settlement reports imported.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER settlement_entries_no_update BEFORE UPDATE ON settlement_entries "
    "BEGIN SELECT RAISE(ABORT, 'settlement entries are append-only'); END",
    "CREATE TRIGGER settlement_entries_no_delete BEFORE DELETE ON settlement_entries "
    "BEGIN SELECT RAISE(ABORT, 'settlement entries are append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE FUNCTION tsunagu_settlement_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'settlement entries are append-only'; END $$",
    "CREATE TRIGGER settlement_entries_no_update BEFORE UPDATE OR DELETE ON settlement_entries "
    "FOR EACH ROW EXECUTE FUNCTION tsunagu_settlement_append_only()",
]

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "settlement_entries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=30), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_settlement_entries_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_entries")),
        sa.UniqueConstraint(
            "seller_id", "marketplace", "key", name=op.f("uq_settlement_entries_seller_id")
        ),
    )
    op.create_index(
        "ix_settlement_entries_store", "settlement_entries", ["seller_id", "marketplace", "id"]
    )
    op.create_index(
        "ix_settlement_entries_order",
        "settlement_entries",
        ["seller_id", "marketplace", "order_id"],
    )
    op.create_table(
        "settlement_cursors",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_settlement_cursors")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "settlement_holds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("release_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_amount", sa.BigInteger(), nullable=True),
        sa.Column("release_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_settlement_holds_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_holds")),
        sa.UniqueConstraint(
            "seller_id", "marketplace", "ref", name=op.f("uq_settlement_holds_seller_id")
        ),
    )
    op.create_index(
        "ix_settlement_holds_store",
        "settlement_holds",
        ["seller_id", "marketplace", "released_at"],
    )
    op.create_table(
        "settlement_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("settlement_id", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deposit_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("imported_total", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_settlement_reports_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_reports")),
        sa.UniqueConstraint(
            "seller_id",
            "marketplace",
            "settlement_id",
            name=op.f("uq_settlement_reports_seller_id"),
        ),
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS settlement_entries_no_update ON settlement_entries")
        op.execute("DROP FUNCTION IF EXISTS tsunagu_settlement_append_only()")
    op.drop_table("settlement_reports")
    op.drop_index("ix_settlement_holds_store", table_name="settlement_holds")
    op.drop_table("settlement_holds")
    op.drop_table("settlement_cursors")
    op.drop_index("ix_settlement_entries_order", table_name="settlement_entries")
    op.drop_index("ix_settlement_entries_store", table_name="settlement_entries")
    op.drop_table("settlement_entries")
