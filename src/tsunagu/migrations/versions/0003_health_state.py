"""Health state: imported Amazon reports, alerts, daily metric rollups and their dirty marks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:04:23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_dirty_marks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("at_minute", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_dirty_marks")),
    )
    with op.batch_alter_table("health_dirty_marks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_dirty_marks_store", ["seller_id", "marketplace"], unique=False
        )

    op.create_table(
        "health_rollup_state",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("built_from", sa.String(length=10), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_health_rollup_state")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "health_rollups",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tallies", sa.LargeBinary(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", "day", name=op.f("pk_health_rollups")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "health_alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("raised_on", sa.String(length=10), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_on", sa.String(length=10), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_health_alerts_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_alerts")),
    )
    with op.batch_alter_table("health_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_alerts_store", ["seller_id", "marketplace", "kind", "subject"], unique=False
        )

    op.create_table(
        "health_snapshots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("report_date", sa.String(length=10), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_health_snapshots_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_snapshots")),
        sa.UniqueConstraint(
            "seller_id", "marketplace", "file_sha256", name=op.f("uq_health_snapshots_seller_id")
        ),
    )
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_health_snapshots_store_day",
            ["seller_id", "marketplace", "report_date"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("health_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_health_snapshots_store_day")

    op.drop_table("health_snapshots")
    with op.batch_alter_table("health_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_health_alerts_store")

    op.drop_table("health_alerts")
    op.drop_table("health_rollups")
    op.drop_table("health_rollup_state")
    with op.batch_alter_table("health_dirty_marks", schema=None) as batch_op:
        batch_op.drop_index("ix_health_dirty_marks_store")

    op.drop_table("health_dirty_marks")
