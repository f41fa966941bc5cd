"""delivery ownership, attempt responses, failing_since, publish cursors

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=32), nullable=True))
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failing_since", UTCDateTime(), nullable=True))
    op.create_table(
        "publish_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_publish_cursors")),
    )


def downgrade() -> None:
    op.drop_table("publish_cursors")
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.drop_column("failing_since")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_column("response")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
