"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_companies")),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("subject_uid", sa.String(length=32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
        sa.UniqueConstraint("position", name=op.f("uq_events_position")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_organization_uid_position", ["organization_uid", "position"], unique=False
        )
        batch_op.create_index(
            "ix_events_unpositioned",
            ["id"],
            unique=False,
            sqlite_where=sa.text("position IS NULL"),
            postgresql_where=sa.text("position IS NULL"),
        )

    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("company_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_uid"], ["companies.uid"], name=op.f("fk_accounts_company_uid_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_company_uid"), ["company_uid"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("company_uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_uid"], ["companies.uid"], name=op.f("fk_organizations_company_uid_companies")
        ),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_organizations")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organizations_company_uid"), ["company_uid"], unique=False
        )

    op.create_table(
        "recipes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=False),
        sa.Column("brand_key", sa.String(length=255), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("serial_number", sa.String(length=255), nullable=True),
        sa.Column("serial_key", sa.String(length=255), nullable=True),
        sa.Column("mac_address", sa.String(length=17), nullable=True),
        sa.Column("device_name", sa.String(length=255), nullable=True),
        sa.Column("tag_uids", sa.Text(), server_default="", nullable=False),
        sa.Column("policy_uid", sa.String(length=32), nullable=True),
        sa.Column("location_uid", sa.String(length=32), nullable=True),
        sa.Column("confirmed_ownership", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("warning_message", sa.Text(), nullable=True),
        sa.Column("device_uid", sa.String(length=32), nullable=True),
        sa.Column("last_device_uid", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_recipes_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recipes")),
        sa.UniqueConstraint("uid", name=op.f("uq_recipes_uid")),
    )
    with op.batch_alter_table("recipes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recipes_organization_uid_id", ["organization_uid", "id"], unique=False
        )
        batch_op.create_index(
            "uq_recipes_live_mac",
            ["organization_uid", "brand_key", "mac_address"],
            unique=True,
            sqlite_where=sa.text("status <> 'Applied' AND mac_address IS NOT NULL"),
            postgresql_where=sa.text("status <> 'Applied' AND mac_address IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_recipes_live_serial",
            ["organization_uid", "brand_key", "serial_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'Applied' AND serial_key IS NOT NULL"),
            postgresql_where=sa.text("status <> 'Applied' AND serial_key IS NOT NULL"),
        )

    op.create_table(
        "tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("organization_uid", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tokens_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["organization_uid"],
            ["organizations.uid"],
            name=op.f("fk_tokens_organization_uid_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokens")),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_account_id"))

    op.drop_table("tokens")
    with op.batch_alter_table("recipes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recipes_live_serial",
            sqlite_where=sa.text("status <> 'Applied' AND serial_key IS NOT NULL"),
            postgresql_where=sa.text("status <> 'Applied' AND serial_key IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_recipes_live_mac",
            sqlite_where=sa.text("status <> 'Applied' AND mac_address IS NOT NULL"),
            postgresql_where=sa.text("status <> 'Applied' AND mac_address IS NOT NULL"),
        )
        batch_op.drop_index("ix_recipes_organization_uid_id")

    op.drop_table("recipes")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_company_uid"))

    op.drop_table("organizations")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_company_uid"))

    op.drop_table("accounts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_events_unpositioned",
            sqlite_where=sa.text("position IS NULL"),
            postgresql_where=sa.text("position IS NULL"),
        )
        batch_op.drop_index("ix_events_organization_uid_position")

    op.drop_table("events")
    op.drop_table("companies")
