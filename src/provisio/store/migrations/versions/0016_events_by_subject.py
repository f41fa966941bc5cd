"""events by subject: a recipe's history without reading its organization's feed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

The console's recipe page lists the recipe's events from the feed. Only positioned events are
in the feed, so the index holds only those: an event enters it when the relay positions it,
and the write that caused the event does not pay for it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITIONED = sa.text("position IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_events_subject_uid_position",
        "events",
        ["subject_uid", "position"],
        sqlite_where=POSITIONED,
        postgresql_where=POSITIONED,
    )


def downgrade() -> None:
    op.drop_index("ix_events_subject_uid_position", table_name="events")
