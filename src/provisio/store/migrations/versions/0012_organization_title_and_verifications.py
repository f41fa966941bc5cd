"""organization title

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01

Organizations get a `title` (signageOS's display name); existing ones are titled by their name.
The column is added NOT NULL with an empty default and filled at once: SQLite cannot make an
added column NOT NULL afterwards without rebuilding the table, and `organizations` cannot be
rebuilt inside the migration's transaction while every organization-scoped table's foreign key
refers to it. PostgreSQL drops the default again; on SQLite it stays, unused (every write sets
the title).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("title", sa.String(length=255), nullable=False, server_default="")
        )
    op.execute("UPDATE organizations SET title = name")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("organizations", "title", server_default=None)


def downgrade() -> None:
    # Natively on both engines (SQLite 3.35+): rebuilding `organizations` is what the upgrade
    # avoids.
    op.drop_column("organizations", "title")
