"""Health from stored days (issue 13): each selecting day's tallies as they stood on every later
evaluation day (``health_day_history``), how far a store keeps them, and each store's window
totals for today (``health_store_summaries``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_day_history",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("versions", sa.LargeBinary(), nullable=False),
        sa.Column("next_day", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint(
            "seller_id", "marketplace", "day", name=op.f("pk_health_day_history")
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "health_store_summaries",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("totals", sa.LargeBinary(), nullable=False),
        sa.Column("history_through", sa.String(length=10), nullable=True),
        sa.Column("history_key", sa.String(length=64), nullable=True),
        sa.Column("history", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_health_store_summaries")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("health_rollup_state") as batch:
        batch.add_column(sa.Column("history_from", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("history_through", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("health_rollup_state") as batch:
        batch.drop_column("history_through")
        batch.drop_column("history_from")
    op.drop_table("health_store_summaries")
    op.drop_table("health_day_history")
