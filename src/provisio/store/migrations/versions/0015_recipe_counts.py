"""recipe counts, and indexes for the console's recipe list

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

The console shows how many recipes an organization has in each status and the rollout's
progress on every refresh of its Recipes page. Counting them there would read every recipe of
the organization; `recipe_counts` keeps the counts instead (see `provisio.store.recipe_counts`),
filled here from the recipes that exist. The list, filtered by status or searched by serial
number or MAC address, reads one page of rows through the new indexes instead of walking the
organization's recipes in creation order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_INDEXES = {
    "ix_recipes_organization_uid_serial_key": "serial_key",
    "ix_recipes_organization_uid_mac_address": "mac_address",
}


def upgrade() -> None:
    op.create_table(
        "recipe_counts",
        sa.Column("organization_uid", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("stripe", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "organization_uid", "status", "stripe", name=op.f("pk_recipe_counts")
        ),
    )
    op.execute(
        "INSERT INTO recipe_counts (organization_uid, status, stripe, count)"
        " SELECT organization_uid, status, 0, COUNT(*) FROM recipes"
        " GROUP BY organization_uid, status"
    )
    op.create_index(
        "ix_recipes_organization_uid_status_id", "recipes", ["organization_uid", "status", "id"]
    )
    for name, column in SEARCH_INDEXES.items():
        present = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "recipes",
            ["organization_uid", column],
            sqlite_where=present,
            postgresql_where=present,
        )


def downgrade() -> None:
    for name in SEARCH_INDEXES:
        op.drop_index(name, table_name="recipes")
    op.drop_index("ix_recipes_organization_uid_status_id", table_name="recipes")
    op.drop_table("recipe_counts")
