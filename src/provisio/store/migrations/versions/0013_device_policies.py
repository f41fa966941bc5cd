"""device policies

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

A device carries several policies, each with a priority, in a table of their own. The one policy
a device had (`devices.policy_uid`, from its recipe) becomes its first assignment, with the
priority a recipe gives (1) and assigned when the device was paired.

`policy_uid` is dropped with a plain `ALTER TABLE … DROP COLUMN` (SQLite 3.35 and later), not a
batch table copy: on SQLite a copy drops the old `devices` table, and with foreign keys on that
deletes every row that cascades from it (the devices' MACs and policies).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from provisio.store.tables import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECIPE_POLICY_PRIORITY = 1  # provisio.domain.device.RECIPE_POLICY_PRIORITY when this was written


def upgrade() -> None:
    op.create_table(
        "device_policies",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device_uid", sa.String(length=32), nullable=False),
        sa.Column("policy_uid", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_uid"],
            ["devices.uid"],
            name=op.f("fk_device_policies_device_uid_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_policies")),
    )
    with op.batch_alter_table("device_policies", schema=None) as batch_op:
        batch_op.create_index(
            "uq_device_policies_device_uid_policy_uid", ["device_uid", "policy_uid"], unique=True
        )
    op.execute(
        "INSERT INTO device_policies (device_uid, policy_uid, priority, assigned_at)"
        f" SELECT uid, policy_uid, {RECIPE_POLICY_PRIORITY}, COALESCE(paired_at, updated_at)"
        " FROM devices WHERE policy_uid IS NOT NULL ORDER BY id"
    )
    op.drop_column("devices", "policy_uid")


def downgrade() -> None:
    op.add_column("devices", sa.Column("policy_uid", sa.String(length=32), nullable=True))
    # One policy per device fits the old column: the first in the order devices list them.
    op.execute(
        "UPDATE devices SET policy_uid = (SELECT p.policy_uid FROM device_policies p"
        " WHERE p.device_uid = devices.uid"
        " ORDER BY p.priority, p.assigned_at, p.policy_uid LIMIT 1)"
    )
    with op.batch_alter_table("device_policies", schema=None) as batch_op:
        batch_op.drop_index("uq_device_policies_device_uid_policy_uid")
    op.drop_table("device_policies")
