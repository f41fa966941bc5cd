"""registry shapes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

Tags get a color and a parent tag; policies a note, items and archiving; locations a place
(coordinates or an address), a custom id, a description and tags; every entry the moment it
was last updated. Existing entries were last updated when they were created; existing
locations have neither coordinates nor an address, and no tags.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGISTRIES = ("tags", "policies", "locations")


def upgrade() -> None:
    for table in REGISTRIES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        op.execute(f"UPDATE {table} SET updated_at = created_at")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("updated_at", existing_type=UTCDateTime(), nullable=False)
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("color", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("parent_tag_uid", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_tags_parent_tag_uid", ["parent_tag_uid"], unique=False)
        batch_op.create_foreign_key(
            "fk_tags_parent_tag_uid_tags", "tags", ["parent_tag_uid"], ["uid"], ondelete="SET NULL"
        )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("items", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("custom_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
    op.create_table(
        "location_tags",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("location_uid", sa.String(length=32), nullable=False),
        sa.Column("tag_uid", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_uid"],
            ["locations.uid"],
            name=op.f("fk_location_tags_location_uid_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_uid"],
            ["tags.uid"],
            name=op.f("fk_location_tags_tag_uid_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_tags")),
    )
    with op.batch_alter_table("location_tags", schema=None) as batch_op:
        batch_op.create_index("ix_location_tags_tag_uid", ["tag_uid"], unique=False)
        batch_op.create_index(
            "uq_location_tags_location_uid_tag_uid", ["location_uid", "tag_uid"], unique=True
        )


def downgrade() -> None:
    op.drop_table("location_tags")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        for column in ("description", "custom_id", "address", "longitude", "latitude"):
            batch_op.drop_column(column)
    with op.batch_alter_table("policies", schema=None) as batch_op:
        for column in ("archived_at", "items", "note"):
            batch_op.drop_column(column)
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tags_parent_tag_uid_tags", type_="foreignkey")
        batch_op.drop_index("ix_tags_parent_tag_uid")
        batch_op.drop_column("parent_tag_uid")
        batch_op.drop_column("color")
    for table in REGISTRIES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("updated_at")
