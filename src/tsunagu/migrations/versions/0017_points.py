"""The points programme (issue 15): customers, offers, the points ledger (append-only, LED-07)
with each customer's balances (never negative, LED-01), each order's grant, store settings, the
event cursor, checkout redemptions with their idempotency keys, and expiry warnings.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER points_entries_no_update BEFORE UPDATE ON points_entries "
    "BEGIN SELECT RAISE(ABORT, 'points entries are append-only'); END",
    "CREATE TRIGGER points_entries_no_delete BEFORE DELETE ON points_entries "
    "BEGIN SELECT RAISE(ABORT, 'points entries are append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE FUNCTION tsunagu_points_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'points entries are append-only'; END $$",
    "CREATE TRIGGER points_entries_no_update BEFORE UPDATE OR DELETE ON points_entries "
    "FOR EACH ROW EXECUTE FUNCTION tsunagu_points_append_only()",
    "CREATE TRIGGER points_entries_no_truncate BEFORE TRUNCATE ON points_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_points_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("marketplace", "external_id", name=op.f("uq_customers_marketplace")),
    )
    op.create_table(
        "points_cursors",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_points_cursors")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "points_expiry_warnings",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "customer_id", "expires_at", "days_before", name=op.f("pk_points_expiry_warnings")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "offers",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("points_rate", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "points_rate IS NULL OR (points_rate >= 0 AND points_rate <= 50)",
            name=op.f("ck_offers_points_rate_range"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_offers_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", "sku", name=op.f("pk_offers")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "points_accounts",
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.BigInteger(), nullable=False),
        sa.Column("last_acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "available >= 0", name=op.f("ck_points_accounts_available_not_negative")
        ),
        sa.CheckConstraint("pending >= 0", name=op.f("ck_points_accounts_pending_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_points_accounts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_points_accounts")),
    )
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_accounts_expiry", ["marketplace", "expires_at"], unique=False
        )

    op.create_table(
        "points_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("debit", sa.String(length=80), nullable=False),
        sa.Column("credit", sa.String(length=80), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("shortfall", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=True),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("grant_id", sa.String(length=40), nullable=True),
        sa.Column("redemption_id", sa.String(length=40), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_points_entries_amount_not_negative")),
        sa.CheckConstraint("shortfall >= 0", name=op.f("ck_points_entries_shortfall_not_negative")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_points_entries_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("marketplace", "key", name=op.f("uq_points_entries_marketplace")),
    )
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.create_index("ix_points_entries_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index(
            "ix_points_entries_seller", ["seller_id", "marketplace", "at"], unique=False
        )

    op.create_table(
        "points_grants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("posted", sa.BigInteger(), nullable=False),
        sa.Column("clawed", sa.BigInteger(), nullable=False),
        sa.Column("order_price", sa.BigInteger(), nullable=False),
        sa.Column("order_refunded", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Text(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_points_grants_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_points_grants_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_grants")),
        sa.UniqueConstraint(
            "seller_id", "marketplace", "order_id", name=op.f("uq_points_grants_seller_id")
        ),
    )
    with op.batch_alter_table("points_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_grants_due", ["marketplace", "state", "available_at"], unique=False
        )

    op.create_table(
        "points_redemptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_points_redemptions_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_redemptions")),
        sa.UniqueConstraint("marketplace", "key", name=op.f("uq_points_redemptions_marketplace")),
    )
    with op.batch_alter_table("points_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_points_redemptions_customer", ["customer_id", "claimed_at"], unique=False
        )

    op.create_table(
        "points_settings",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=True),
        sa.Column("badge", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("rate >= 0 AND rate <= 50", name=op.f("ck_points_settings_rate_range")),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_points_settings_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_points_settings")),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS points_entries_no_update ON points_entries")
        op.execute("DROP TRIGGER IF EXISTS points_entries_no_truncate ON points_entries")
        op.execute("DROP FUNCTION IF EXISTS tsunagu_points_append_only()")
    op.drop_table("points_settings")
    with op.batch_alter_table("points_redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_points_redemptions_customer")

    op.drop_table("points_redemptions")
    with op.batch_alter_table("points_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_points_grants_due")

    op.drop_table("points_grants")
    with op.batch_alter_table("points_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_points_entries_seller")
        batch_op.drop_index("ix_points_entries_customer")

    op.drop_table("points_entries")
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_points_accounts_expiry")

    op.drop_table("points_accounts")
    op.drop_table("offers")
    op.drop_table("points_expiry_warnings")
    op.drop_table("points_cursors")
    op.drop_table("customers")
