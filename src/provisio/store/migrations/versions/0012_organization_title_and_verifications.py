"""organization title and device verifications

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

Organizations get a `title` (signageOS's display name); existing ones are titled by their name.
The column is added NOT NULL with an empty default and filled at once: SQLite cannot make an
added column NOT NULL afterwards without rebuilding the table, and `organizations` cannot be
rebuilt inside the migration's transaction while every organization-scoped table's foreign key
refers to it. PostgreSQL drops the default again; on SQLite it stays, unused (every write sets
the title).

`device_verifications` keeps one row per pairing by code: signageOS's device verification
resource.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
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

    op.create_table(
        "device_verifications",
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("device_uid", sa.String(length=32), nullable=False),
        sa.Column("hash", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_uid"],
            ["devices.uid"],
            name=op.f("fk_device_verifications_device_uid_devices"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_device_verifications_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_device_verifications")),
    )


def downgrade() -> None:
    op.drop_table("device_verifications")
    # Natively on both engines (SQLite 3.35+): rebuilding `organizations` is what the upgrade
    # avoids.
    op.drop_column("organizations", "title")
