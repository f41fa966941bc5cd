"""candidate indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 02:16:17.810100
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recipes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recipes_candidate_mac",
            ["brand_key", "mac_address"],
            unique=False,
            sqlite_where=sa.text("status IN ('Pending', 'Failed')"),
            postgresql_where=sa.text("status IN ('Pending', 'Failed')"),
        )
        batch_op.create_index(
            "ix_recipes_candidate_serial",
            ["brand_key", "serial_key"],
            unique=False,
            sqlite_where=sa.text("status IN ('Pending', 'Failed')"),
            postgresql_where=sa.text("status IN ('Pending', 'Failed')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("recipes", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_recipes_candidate_serial",
            sqlite_where=sa.text("status IN ('Pending', 'Failed')"),
            postgresql_where=sa.text("status IN ('Pending', 'Failed')"),
        )
        batch_op.drop_index(
            "ix_recipes_candidate_mac",
            sqlite_where=sa.text("status IN ('Pending', 'Failed')"),
            postgresql_where=sa.text("status IN ('Pending', 'Failed')"),
        )
