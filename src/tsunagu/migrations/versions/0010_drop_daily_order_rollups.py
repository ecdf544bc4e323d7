"""Drop ``daily_order_rollups``: the ``orders.daily_rollup`` job wrote it and nothing read it;
account health keeps its own daily rollups (``health_rollups``, ADR 0011). Issue 12.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("daily_order_rollups")
    # the job's runs stay in the jobs table as history; no runner knows the kind any more


def downgrade() -> None:
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
