"""Alerts that speak up and e-mail over SMTP (issue 16, ADR 0034): a ``level`` on health alerts
(near | missed), the SMTP delivery state of outbox messages, users' e-mail preferences and the
daily alert digests written (one per user per day).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("health_alerts") as batch:
        batch.add_column(sa.Column("level", sa.String(length=12), nullable=True))
    # every metric alert recorded before had the meaning "near"; the next check re-levels it
    op.execute("UPDATE health_alerts SET level = 'near' WHERE kind = 'metric_margin'")
    op.create_table(
        "email_deliveries",
        sa.Column("outbox_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_email_deliveries_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbox_id", name=op.f("pk_email_deliveries")),
    )
    op.create_index(
        "ix_email_deliveries_due", "email_deliveries", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "email_preferences",
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_email_preferences_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("principal_id", name=op.f("pk_email_preferences")),
    )
    op.create_table(
        "alert_digests",
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("outbox_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"],
            ["principals.id"],
            name=op.f("fk_alert_digests_principal_id_principals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("principal_id", "day", name=op.f("pk_alert_digests")),
    )


def downgrade() -> None:
    op.drop_table("alert_digests")
    op.drop_table("email_preferences")
    op.drop_index("ix_email_deliveries_due", table_name="email_deliveries")
    op.drop_table("email_deliveries")
    with op.batch_alter_table("health_alerts") as batch:
        batch.drop_column("level")
