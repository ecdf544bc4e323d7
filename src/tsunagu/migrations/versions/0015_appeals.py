"""The appeals tables (issue 14): appeals, their plan sections, evidence files and transitions.

One open appeal per deactivation is the unique ``open_key`` (the deactivation id while the appeal
is open, NULL once it is final); ``version`` and the unique (appeal, seq) of the transitions keep
two concurrent decisions from both landing (SH-02).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("seller_id", sa.String(length=40), nullable=False),
        sa.Column("marketplace", sa.String(length=8), nullable=False),
        sa.Column("deactivation_id", sa.String(length=40), nullable=False),
        sa.Column("open_key", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("issues", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["sellers.id"], name=op.f("fk_appeals_seller_id_sellers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("open_key", name=op.f("uq_appeals_open_key")),
    )
    op.create_index(
        "ix_appeals_store", "appeals", ["seller_id", "marketplace", "created_at"], unique=False
    )
    op.create_index("ix_appeals_status", "appeals", ["status", "deadline"], unique=False)
    op.create_index("ix_appeals_deactivation", "appeals", ["deactivation_id"], unique=False)
    op.create_table(
        "appeal_sections",
        sa.Column("appeal_id", sa.String(length=40), nullable=False),
        sa.Column("issue", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("prevention", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_sections_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("appeal_id", "issue", name=op.f("pk_appeal_sections")),
    )
    op.create_table(
        "appeal_attachments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("appeal_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_attachments_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_attachments")),
        sa.UniqueConstraint("appeal_id", "sha256", name=op.f("uq_appeal_attachments_appeal_id")),
    )
    op.create_table(
        "appeal_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("appeal_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"], ["appeals.id"], name=op.f("fk_appeal_transitions_appeal_id_appeals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal_transitions")),
        sa.UniqueConstraint("appeal_id", "seq", name=op.f("uq_appeal_transitions_appeal_id")),
    )


def downgrade() -> None:
    op.drop_table("appeal_transitions")
    op.drop_table("appeal_attachments")
    op.drop_table("appeal_sections")
    op.drop_index("ix_appeals_deactivation", table_name="appeals")
    op.drop_index("ix_appeals_status", table_name="appeals")
    op.drop_index("ix_appeals_store", table_name="appeals")
    op.drop_table("appeals")
