"""Room for sealed TOTP seeds: ``totp_factors.secret`` holds ``v1.`` + base64url(nonce, seed,
tag), about 83 characters, instead of the 32-character seed (ADR 0012, ``identity/sealing.py``).

Seeds stored before this revision stay readable in clear and are sealed the next time they verify
a code: the migration cannot seal them itself, because the key is kept outside the database.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("totp_factors") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=64), type_=sa.String(length=128)
        )


def downgrade() -> None:
    with op.batch_alter_table("totp_factors") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(length=128), type_=sa.String(length=64)
        )
