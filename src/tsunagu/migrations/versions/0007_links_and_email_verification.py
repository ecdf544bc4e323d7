"""Linked accounts and e-mail verification: ``principals.email_verified_at``, link groups and
their members, unlink confirmation codes, e-mail verification tokens (ADR 0014).

Existing principals start unverified: they cannot be linked until they verify their address (or an
administrator marks it verified), which is the point (AUTH-13 b).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    with op.batch_alter_table("principals") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "email_verifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _fk("email_verifications", "principal_id", "principals", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_verifications")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_verifications_token_hash")),
    )
    op.create_index(
        op.f("ix_email_verifications_principal_id"),
        "email_verifications",
        ["principal_id"],
        unique=False,
    )
    op.create_table(
        "identity_link_groups",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("factor_principal_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("identity_link_groups", "factor_principal_id", "principals", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_link_groups")),
    )
    op.create_table(
        "identity_links",
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        _fk("identity_links", "principal_id", "principals", "CASCADE"),
        _fk("identity_links", "group_id", "identity_link_groups", "CASCADE"),
        sa.PrimaryKeyConstraint("principal_id", name=op.f("pk_identity_links")),
    )
    op.create_index(
        op.f("ix_identity_links_group_id"), "identity_links", ["group_id"], unique=False
    )
    op.create_table(
        "link_confirmations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("target_principal_id", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _fk("link_confirmations", "principal_id", "principals", "CASCADE"),
        _fk("link_confirmations", "target_principal_id", "principals", "CASCADE"),
        _fk("link_confirmations", "group_id", "identity_link_groups", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_confirmations")),
    )
    op.create_index(
        op.f("ix_link_confirmations_principal_id"),
        "link_confirmations",
        ["principal_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_link_confirmations_group_id"), "link_confirmations", ["group_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_link_confirmations_group_id"), table_name="link_confirmations")
    op.drop_index(op.f("ix_link_confirmations_principal_id"), table_name="link_confirmations")
    op.drop_table("link_confirmations")
    op.drop_index(op.f("ix_identity_links_group_id"), table_name="identity_links")
    op.drop_table("identity_links")
    op.drop_table("identity_link_groups")
    op.drop_index(op.f("ix_email_verifications_principal_id"), table_name="email_verifications")
    op.drop_table("email_verifications")
    with op.batch_alter_table("principals") as batch:
        batch.drop_column("email_verified_at")
