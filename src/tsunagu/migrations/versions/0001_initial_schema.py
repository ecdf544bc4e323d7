"""Initial schema: sellers, stores, the event log, order projection, personal data, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:28:27.076974
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The event log is append-only: the database itself refuses UPDATE and DELETE on it.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE FUNCTION tsunagu_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
    "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION tsunagu_events_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION tsunagu_events_append_only()",
]


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _PG_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "daily_order_rollups",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("shipped", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "day", name=op.f("pk_daily_order_rollups")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("seller_id", sa.String(length=40), nullable=True),
        sa.Column("marketplace", sa.String(length=8), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_runs_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_installation_secrets")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_jobs_kind")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_due", ["status", "due_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("no_response_needed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", "message_id", name=op.f("pk_messages")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "order_cases",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("buyer_satisfied", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "kind", "case_id", name=op.f("pk_order_cases")
        ),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("order_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_order_cases_order", ["seller_id", "marketplace", "order_id"], unique=False
        )

    op.create_table(
        "order_items",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("tax", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "order_id", "line_no", name=op.f("pk_order_items")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "personal_links",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "order_id", "subject_id", name=op.f("pk_personal_links")
        ),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("personal_links", schema=None) as batch_op:
        batch_op.create_index("ix_personal_links_subject", ["subject_id"], unique=False)

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

    op.create_table(
        "sellers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sellers")),
    )
    op.create_table(
        "violations",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("violation_id", sa.String(length=100), nullable=False),
        sa.Column("policy", sa.String(length=100), nullable=True),
        sa.Column("severity", sa.String(length=10), nullable=True),
        sa.Column("asin", sa.String(length=20), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("how", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "violation_id", name=op.f("pk_violations")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=True),
        sa.Column("ref_id", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_events_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("seller_id", "event_id", name=op.f("uq_events_seller_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_order", ["seller_id", "marketplace", "order_id"], unique=False
        )
        batch_op.create_index(
            "ix_events_ref",
            ["seller_id", "marketplace", "ref_id"],
            unique=False,
            sqlite_where=sa.text("ref_id IS NOT NULL"),
            postgresql_where=sa.text("ref_id IS NOT NULL"),
        )

    op.create_table(
        "orders",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_ship_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_delivery_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("tax_total", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=True),
        sa.Column("is_business", sa.Boolean(), nullable=False),
        sa.Column("ship_service", sa.String(length=100), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ship_time_known", sa.Boolean(), nullable=True),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking_id", sa.String(length=100), nullable=True),
        sa.Column("first_scan_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=10), nullable=True),
        sa.Column("cancel_reason", sa.String(length=20), nullable=True),
        sa.Column("feedback_rating", sa.Integer(), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("feedback_removed", sa.Boolean(), nullable=False),
        sa.Column("refunded_total", sa.Integer(), nullable=False),
        sa.Column("refund_count", sa.Integer(), nullable=False),
        sa.Column("invoice_uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cs_satisfied", sa.Boolean(), nullable=True),
        sa.Column("claim_count", sa.Integer(), nullable=False),
        sa.Column("chargeback_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_orders_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", "order_id", name=op.f("pk_orders")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_seller_purchased", ["seller_id", "marketplace", "purchased_at"], unique=False
        )

    op.create_table(
        "stores",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["sellers.id"],
            name=op.f("fk_stores_seller_id_sellers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("seller_id", "marketplace", name=op.f("uq_stores_seller_id")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_seller_id"), ["seller_id"], unique=False)
    _append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS events_no_update ON events")
        op.execute("DROP FUNCTION IF EXISTS tsunagu_events_append_only()")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_seller_id"))

    op.drop_table("stores")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_seller_purchased")

    op.drop_table("orders")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_ref")
        batch_op.drop_index("ix_events_order")

    op.drop_table("events")
    op.drop_table("violations")
    op.drop_table("sellers")

    op.drop_table("personal_records")
    with op.batch_alter_table("personal_links", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_links_subject")

    op.drop_table("personal_links")
    op.drop_table("order_items")
    with op.batch_alter_table("order_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_order_cases_order")

    op.drop_table("order_cases")
    op.drop_table("messages")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_due")

    op.drop_table("jobs")
    op.drop_table("installation_secrets")
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_runs_seller_id"))

    op.drop_table("import_runs")
    op.drop_table("daily_order_rollups")
