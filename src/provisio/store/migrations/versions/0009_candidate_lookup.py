"""candidate lookup: one index per identifier, keyed by identifier and brand together

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

The candidate indexes were (brand_key, serial_key) and (brand_key, mac_address): a planner
without statistics (a freshly loaded table before `ANALYZE`) could walk the serial-number index
by brand for a MAC lookup, reading every live recipe of the brand. Keyed by one expression that
only the matching lookup uses, each index has one lookup to serve and that lookup one index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CANDIDATE = sa.text("status IN ('Pending', 'Failed')")
IDENTIFIERS = {
    "ix_recipes_candidate_serial": "serial_key",
    "ix_recipes_candidate_mac": "mac_address",
}


def _replace(keyed: bool) -> None:
    for name, identifier in IDENTIFIERS.items():
        op.drop_index(name, table_name="recipes")
        columns = [sa.text(f"({identifier} || brand_key)")] if keyed else ["brand_key", identifier]
        op.create_index(
            name, "recipes", columns, sqlite_where=CANDIDATE, postgresql_where=CANDIDATE
        )


def upgrade() -> None:
    _replace(keyed=True)


def downgrade() -> None:
    _replace(keyed=False)
