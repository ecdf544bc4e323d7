"""Order cases: the key includes the order, so one case id on two orders is two cases.

A claim, chargeback or return id reused on another order used to break the projection's primary
key (a database error instead of a stored event). The projection is rebuilt from events, so the
table is recreated with the wider key on SQLite; PostgreSQL swaps the constraint in place.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    "seller_id, marketplace, kind, case_id, order_id, reason, opened_at, outcome, decided_at, "
    "buyer_satisfied"
)


def _rebuild(key: list[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE order_cases DROP CONSTRAINT pk_order_cases")
        op.create_primary_key("pk_order_cases", "order_cases", key)
        return
    op.create_table(
        "order_cases_rebuilt",
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
        sa.PrimaryKeyConstraint(*key, name="pk_order_cases"),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO order_cases_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM order_cases")
    op.drop_table("order_cases")
    op.rename_table("order_cases_rebuilt", "order_cases")
    op.create_index("ix_order_cases_order", "order_cases", ["seller_id", "marketplace", "order_id"])


def upgrade() -> None:
    _rebuild(["seller_id", "marketplace", "kind", "order_id", "case_id"])


def downgrade() -> None:
    _rebuild(["seller_id", "marketplace", "kind", "case_id"])
