"""The enforcement tables (issue 14, ADR 0024): each store's account status, one evaluation per
store and local day, every status change (append-only) and every deactivation.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enforcement_states",
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since", _AT, nullable=True),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("grace_until", _AT, nullable=True),
        sa.Column("deactivation_id", sa.String(length=40), nullable=True),
        sa.Column("probation_from", _AT, nullable=True),
        sa.Column("probation_until", _AT, nullable=True),
        sa.Column("probation_codes", sa.JSON(), nullable=False),
        sa.Column("breached_since", sa.JSON(), nullable=False),
        sa.Column("last_day", sa.String(length=10), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "marketplace", name=op.f("pk_enforcement_states")),
    )
    op.create_table(
        "enforcement_evaluations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("evaluated_at", _AT, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("decided", sa.String(length=16), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_evaluations")),
        sa.UniqueConstraint(
            "seller_id",
            "marketplace",
            "day",
            name=op.f("uq_enforcement_evaluations_seller_id"),
        ),
    )
    op.create_table(
        "enforcement_changes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=False),
        sa.Column("current", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("evaluation_id", sa.String(length=40), nullable=True),
        sa.Column("deactivation_id", sa.String(length=40), nullable=True),
        sa.Column("grace_until", _AT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_changes")),
    )
    op.create_index(
        "ix_enforcement_changes_store_at",
        "enforcement_changes",
        ["seller_id", "marketplace", "at"],
    )
    op.create_table(
        "enforcement_deactivations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("at", _AT, nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("appeal_deadline", _AT, nullable=False),
        sa.Column("origin_id", sa.String(length=40), nullable=True),
        sa.Column("reinstated_at", _AT, nullable=True),
        sa.Column("reinstated_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_deactivations")),
    )
    op.create_index(
        "ix_enforcement_deactivations_store",
        "enforcement_deactivations",
        ["seller_id", "marketplace", "at"],
    )
    op.create_index(
        "ix_enforcement_deactivations_origin", "enforcement_deactivations", ["origin_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_enforcement_deactivations_origin", table_name="enforcement_deactivations")
    op.drop_index("ix_enforcement_deactivations_store", table_name="enforcement_deactivations")
    op.drop_table("enforcement_deactivations")
    op.drop_index("ix_enforcement_changes_store_at", table_name="enforcement_changes")
    op.drop_table("enforcement_changes")
    op.drop_table("enforcement_evaluations")
    op.drop_table("enforcement_states")
