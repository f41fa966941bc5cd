"""Tags, policies and locations: one repository shape over three tables."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select

from provisio.domain.errors import NotFound
from provisio.domain.registry import Reference, RegistryEntry, RegistryKind
from provisio.store.backend import Connection
from provisio.store.tables import locations, policies, tags

TABLES: dict[RegistryKind, Table] = {
    RegistryKind.TAG: tags,
    RegistryKind.POLICY: policies,
    RegistryKind.LOCATION: locations,
}


def _entry(row: Row[Any]) -> RegistryEntry:
    return RegistryEntry(row.uid, row.organization_uid, row.name, row.created_at)


class RegistryRepository:
    """The entries of one kind, inside one transaction."""

    def __init__(self, conn: Connection, kind: RegistryKind) -> None:
        self._conn = conn
        self._kind = kind
        self._table = TABLES[kind]

    async def add(self, entry: RegistryEntry) -> None:
        await self._conn.execute(
            insert(self._table).values(
                uid=entry.uid,
                organization_uid=entry.organization_uid,
                name=entry.name,
                created_at=entry.created_at,
            )
        )

    async def get(self, uid: str, organization_uids: Sequence[str]) -> RegistryEntry:
        table = self._table
        row = (
            await self._conn.execute(
                select(table).where(
                    table.c.uid == uid, table.c.organization_uid.in_(organization_uids)
                )
            )
        ).first()
        if row is None:
            raise NotFound(f"{self._kind} not found")
        return _entry(row)

    async def find(
        self, organization_uids: Sequence[str], after: int, limit: int
    ) -> list[tuple[int, RegistryEntry]]:
        """One page in creation order, keyed by the internal row id (the `after` cursor)."""
        table = self._table
        rows = await self._conn.execute(
            select(table)
            .where(table.c.organization_uid.in_(organization_uids), table.c.id > after)
            .order_by(table.c.id)
            .limit(limit)
        )
        return [(row.id, _entry(row)) for row in rows]

    async def remove(self, uid: str) -> None:
        await self._conn.execute(delete(self._table).where(self._table.c.uid == uid))

    async def existing(self, organization_uid: str, uids: Sequence[str]) -> set[str]:
        table = self._table
        rows = await self._conn.execute(
            select(table.c.uid).where(
                table.c.organization_uid == organization_uid, table.c.uid.in_(uids)
            )
        )
        return {row.uid for row in rows}


class Registries:
    """All three kinds, and which of a recipe's references point at nothing."""

    def __init__(self, conn: Connection) -> None:
        self._repositories = {kind: RegistryRepository(conn, kind) for kind in RegistryKind}

    def __getitem__(self, kind: RegistryKind) -> RegistryRepository:
        return self._repositories[kind]

    async def missing(self, organization_uid: str, wanted: Sequence[Reference]) -> list[Reference]:
        missing: list[Reference] = []
        for kind, repository in self._repositories.items():
            uids = [reference.uid for reference in wanted if reference.kind is kind]
            if not uids:
                continue
            found = await repository.existing(organization_uid, uids)
            missing.extend(r for r in wanted if r.kind is kind and r.uid not in found)
        return missing
