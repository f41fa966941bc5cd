"""exporters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exporters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("subscribed_event_types", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_exporters_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exporters")),
        sa.UniqueConstraint("uid", name=op.f("uq_exporters_uid")),
    )
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_exporters_organization_uid"), ["organization_uid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("exporters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exporters_organization_uid"))

    op.drop_table("exporters")
