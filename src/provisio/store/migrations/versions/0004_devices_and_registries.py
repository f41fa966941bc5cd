"""devices and registries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:14:07.000671
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("brand_key", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("serial_number", sa.String(length=255), nullable=True),
        sa.Column("serial_key", sa.String(length=255), nullable=True),
        sa.Column("firmware_version", sa.String(length=255), nullable=True),
        sa.Column("verification_hash", sa.String(length=16), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("tag_uids", sa.Text(), server_default="", nullable=False),
        sa.Column("policy_uid", sa.String(length=32), nullable=True),
        sa.Column("location_uid", sa.String(length=32), nullable=True),
        sa.Column("recipe_uid", sa.String(length=32), nullable=True),
        sa.Column("paired_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_devices_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("uid", name=op.f("uq_devices_uid")),
        sa.UniqueConstraint("verification_hash", name=op.f("uq_devices_verification_hash")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_devices_organization_uid_id", ["organization_uid", "id"], unique=False
        )
        batch_op.create_index(
            "uq_devices_serial",
            ["brand_key", "serial_key"],
            unique=True,
            sqlite_where=sa.text("serial_key IS NOT NULL"),
            postgresql_where=sa.text("serial_key IS NOT NULL"),
        )

    op.create_table(
        "locations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_locations_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("uid", name=op.f("uq_locations_uid")),
    )
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_locations_organization_uid_id", ["organization_uid", "id"], unique=False
        )

    op.create_table(
        "policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_policies_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("uid", name=op.f("uq_policies_uid")),
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index(
            "ix_policies_organization_uid_id", ["organization_uid", "id"], unique=False
        )

    op.create_table(
        "tags",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_tags_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("uid", name=op.f("uq_tags_uid")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tags_organization_uid_id", ["organization_uid", "id"], unique=False
        )

    op.create_table(
        "device_macs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device_uid", sa.String(length=32), nullable=False),
        sa.Column("brand_key", sa.String(length=255), nullable=False),
        sa.Column("mac_address", sa.String(length=17), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_uid"],
            ["devices.uid"],
            name=op.f("fk_device_macs_device_uid_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_macs")),
    )
    with op.batch_alter_table("device_macs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_macs_device_uid"), ["device_uid"], unique=False)
        batch_op.create_index(
            "uq_device_macs_brand_key_mac_address", ["brand_key", "mac_address"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("device_macs", schema=None) as batch_op:
        batch_op.drop_index("uq_device_macs_brand_key_mac_address")
        batch_op.drop_index(batch_op.f("ix_device_macs_device_uid"))

    op.drop_table("device_macs")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_organization_uid_id")

    op.drop_table("tags")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index("ix_policies_organization_uid_id")

    op.drop_table("policies")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index("ix_locations_organization_uid_id")

    op.drop_table("locations")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_devices_serial",
            sqlite_where=sa.text("serial_key IS NOT NULL"),
            postgresql_where=sa.text("serial_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_devices_organization_uid_id")

    op.drop_table("devices")
