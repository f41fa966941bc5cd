"""exporter enabled_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enabled_at", UTCDateTime(), nullable=True))
    # Exporters enabled before this column existed keep receiving everything not yet queued.
    op.execute("UPDATE exporters SET enabled_at = created_at WHERE enabled")


def downgrade() -> None:
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.drop_column("enabled_at")
