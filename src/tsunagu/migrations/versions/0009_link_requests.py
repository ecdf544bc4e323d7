"""Links that wait for consent: ``link_requests`` and their ``link_approvals`` (issue 11, ADR
0014 amendment). An account without a second factor of its own is linked only after its owner
accepts, signed in, a message sent to its verified address.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "link_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("other_principal_id", sa.String(length=40), nullable=False),
        sa.Column("caller_group_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        _fk("link_requests", "requested_by", "principals"),
        _fk("link_requests", "other_principal_id", "principals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_requests")),
    )
    for column in ("requested_by", "other_principal_id"):
        op.create_index(op.f(f"ix_link_requests_{column}"), "link_requests", [column], unique=False)
    op.create_table(
        "link_approvals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        _fk("link_approvals", "request_id", "link_requests"),
        _fk("link_approvals", "principal_id", "principals"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_approvals")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_link_approvals_token_hash")),
    )
    for column in ("request_id", "principal_id"):
        op.create_index(
            op.f(f"ix_link_approvals_{column}"), "link_approvals", [column], unique=False
        )


def downgrade() -> None:
    for column in ("request_id", "principal_id"):
        op.drop_index(op.f(f"ix_link_approvals_{column}"), table_name="link_approvals")
    op.drop_table("link_approvals")
    for column in ("requested_by", "other_principal_id"):
        op.drop_index(op.f(f"ix_link_requests_{column}"), table_name="link_requests")
    op.drop_table("link_requests")
