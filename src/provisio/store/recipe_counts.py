"""Recipes per organization and status, counted as they change instead of when they are read.

A unit of work notes each change (+1 for a recipe added in a status, -1 for one that left it)
and writes the sum of its changes in one upsert, just before it commits: a bulk import of
100,000 rows writes at most four rows here, a registration that applies a recipe two. The
upsert is the transaction's last statement and takes its rows in one order, so a writer holds
these row locks only while it commits and two writers never wait for each other in a circle.

On PostgreSQL each transaction adds to one of `STRIPES` rows per (organization, status), picked
at random: registrations in one organization run at once and would otherwise queue on a single
row until each commits. SQLite has one writer at a time, so it keeps one row (stripe 0).
"""

import random
from collections import Counter

from sqlalchemy import bindparam, func, select

from provisio.domain.status import RecipeStatus
from provisio.store.backend import Connection
from provisio.store.row_insert import placeholders
from provisio.store.tables import recipe_counts

STRIPES = 16
"""Rows per (organization, status) on PostgreSQL: concurrent writers of one organization pick
the same one 1 time in 16."""

_UPSERT_HEAD = "INSERT INTO recipe_counts (organization_uid, status, stripe, count) VALUES "
_UPSERT_TAIL = (
    " ON CONFLICT (organization_uid, status, stripe)"
    " DO UPDATE SET count = recipe_counts.count + excluded.count"
)
"""The same text on both engines (SQLite ≥ 3.24 and PostgreSQL share the upsert syntax)."""

_OF_ORGANIZATION = (
    select(recipe_counts.c.status, func.sum(recipe_counts.c.count))
    .where(recipe_counts.c.organization_uid == bindparam("organization_uid"))
    .group_by(recipe_counts.c.status)
)


class RecipeCounts:
    """The counters as one transaction sees and changes them."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._changes: Counter[tuple[str, str]] = Counter()

    def change(self, organization_uid: str, status: RecipeStatus, delta: int) -> None:
        """Note that `delta` recipes joined (or, negative, left) `status`; written by `flush`."""
        self._changes[organization_uid, status.value] += delta

    async def flush(self) -> None:
        """Write the changes noted so far (the unit of work calls this before it commits)."""
        changes = sorted((key, delta) for key, delta in self._changes.items() if delta)
        self._changes.clear()
        if not changes:
            return
        stripe = random.randrange(STRIPES) if self._conn.dialect.name == "postgresql" else 0
        marks = placeholders(self._conn.dialect.paramstyle, len(changes), 4)
        values = tuple(
            value
            for (organization_uid, status), delta in changes
            for value in (organization_uid, status, stripe, delta)
        )
        await self._conn.exec_driver_sql(_UPSERT_HEAD + marks + _UPSERT_TAIL, values)

    async def of(self, organization_uid: str) -> dict[RecipeStatus, int]:
        """The organization's recipes in each status (every status, zeros included), as
        committed: reads at most `STRIPES` rows per status."""
        counts = dict.fromkeys(RecipeStatus, 0)
        rows = await self._conn.execute(_OF_ORGANIZATION, {"organization_uid": organization_uid})
        for status, count in rows:
            counts[RecipeStatus(status)] = int(count)
        return counts
