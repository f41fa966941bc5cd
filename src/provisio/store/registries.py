"""Tags, policies and locations: one repository shape over three tables, each kind mapping the
columns of its own."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, Generic

from sqlalchemy import ColumnElement, Row, Table, delete, insert, select, update

from provisio.domain.errors import NotFound
from provisio.domain.registry import (
    Address,
    Coordinates,
    Entry,
    LocationSpec,
    PolicyItem,
    PolicySpec,
    Reference,
    RegistryKind,
    Spec,
    TagSpec,
)
from provisio.store.backend import Connection
from provisio.store.tables import location_tags, locations, policies, tags


class RegistryRepository(Generic[Spec]):
    """What every kind shares — uid, organization, name, dates, paging, existence — inside one
    transaction. A kind maps its spec to its columns (`_columns`) and back (`_spec`)."""

    kind: ClassVar[RegistryKind]
    table: ClassVar[Table]

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _columns(self, spec: Spec) -> dict[str, Any]:
        raise NotImplementedError

    def _spec(self, row: Row[Any]) -> Spec:
        raise NotImplementedError

    async def _entries(self, rows: Sequence[Row[Any]]) -> list[Entry[Spec]]:
        return [
            Entry(row.uid, row.organization_uid, self._spec(row), row.created_at, row.updated_at)
            for row in rows
        ]

    def _row(self, entry: Entry[Spec]) -> dict[str, Any]:
        """The columns a change may touch."""
        return {
            "name": entry.spec.name,
            "updated_at": entry.updated_at,
            **self._columns(entry.spec),
        }

    async def add(self, entry: Entry[Spec]) -> None:
        await self._conn.execute(
            insert(self.table).values(
                uid=entry.uid,
                organization_uid=entry.organization_uid,
                created_at=entry.created_at,
                **self._row(entry),
            )
        )

    async def save(self, entry: Entry[Spec]) -> None:
        await self._conn.execute(
            update(self.table).where(self.table.c.uid == entry.uid).values(**self._row(entry))
        )

    async def get(
        self, uid: str, organization_uids: Sequence[str], *, for_update: bool = False
    ) -> Entry[Spec]:
        table = self.table
        query = select(table).where(
            table.c.uid == uid, table.c.organization_uid.in_(organization_uids)
        )
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        if row is None:
            raise NotFound(f"{self.kind} not found")
        (entry,) = await self._entries([row])
        return entry

    async def find(
        self, organization_uids: Sequence[str], after: int, limit: int
    ) -> list[tuple[int, Entry[Spec]]]:
        return await self._find(organization_uids, after, limit)

    async def _find(
        self,
        organization_uids: Sequence[str],
        after: int,
        limit: int,
        *conditions: ColumnElement[bool],
    ) -> list[tuple[int, Entry[Spec]]]:
        """One page in creation order, keyed by the internal row id (the `after` cursor)."""
        table = self.table
        rows = list(
            await self._conn.execute(
                select(table)
                .where(table.c.organization_uid.in_(organization_uids), table.c.id > after)
                .where(*conditions)
                .order_by(table.c.id)
                .limit(limit)
            )
        )
        return list(zip([row.id for row in rows], await self._entries(rows), strict=True))

    async def remove(self, uid: str) -> None:
        await self._conn.execute(delete(self.table).where(self.table.c.uid == uid))

    async def existing(
        self, organization_uid: str, uids: Sequence[str], *, lock: bool = False
    ) -> set[str]:
        """Which of `uids` are entries of the organization. `lock`: keep them from being deleted
        until the transaction ends (on PostgreSQL; SQLite has one writer at a time anyway)."""
        table = self.table
        query = select(table.c.uid).where(
            table.c.organization_uid == organization_uid, table.c.uid.in_(uids)
        )
        rows = await self._conn.execute(query.with_for_update(read=True) if lock else query)
        return {row.uid for row in rows}


class TagRepository(RegistryRepository[TagSpec]):
    kind = RegistryKind.TAG
    table = tags

    def _columns(self, spec: TagSpec) -> dict[str, Any]:
        return {"color": spec.color, "parent_tag_uid": spec.parent_tag_uid}

    def _spec(self, row: Row[Any]) -> TagSpec:
        return TagSpec(row.name, row.color, row.parent_tag_uid)

    async def ancestors(self, uid: str) -> list[str]:
        """The tag's parent, the parent's parent, and so on."""
        found: list[str] = []
        parent = select(tags.c.parent_tag_uid)
        current: str | None = uid
        while current is not None:
            current = await self._conn.scalar(parent.where(tags.c.uid == current))
            if current is None or current in found:  # a cycle can only come from a race
                return found
            found.append(current)
        return found


class PolicyRepository(RegistryRepository[PolicySpec]):
    kind = RegistryKind.POLICY
    table = policies

    def _columns(self, spec: PolicySpec) -> dict[str, Any]:
        items = [
            {"type": item.type, "application_type": item.application_type, "value": item.value}
            for item in spec.items
        ]
        return {"note": spec.note, "items": items, "archived_at": spec.archived_at}

    def _spec(self, row: Row[Any]) -> PolicySpec:
        items = tuple(
            PolicyItem(item["type"], item["value"], item["application_type"]) for item in row.items
        )
        return PolicySpec(row.name, row.note, items, row.archived_at)

    async def find_by_archived(
        self, organization_uids: Sequence[str], after: int, limit: int, archived: bool
    ) -> list[tuple[int, Entry[PolicySpec]]]:
        """Only archived policies, or only the others."""
        column = policies.c.archived_at
        condition = column.is_not(None) if archived else column.is_(None)
        return await self._find(organization_uids, after, limit, condition)


class LocationRepository(RegistryRepository[LocationSpec]):
    """Locations, with their tags kept in `location_tags`."""

    kind = RegistryKind.LOCATION
    table = locations

    def _columns(self, spec: LocationSpec) -> dict[str, Any]:
        place = spec.place
        coordinates = place if isinstance(place, Coordinates) else None
        return {
            "latitude": coordinates.lat if coordinates else None,
            "longitude": coordinates.long if coordinates else None,
            "address": place.text if isinstance(place, Address) else None,
            "custom_id": spec.custom_id,
            "description": spec.description,
        }

    def _spec(self, row: Row[Any]) -> LocationSpec:
        place: Coordinates | Address | None = None
        if row.latitude is not None:
            place = Coordinates(row.latitude, row.longitude)
        elif row.address is not None:
            place = Address(row.address)
        return LocationSpec(row.name, place, row.custom_id, row.description)

    async def _entries(self, rows: Sequence[Row[Any]]) -> list[Entry[LocationSpec]]:
        entries = await super()._entries(rows)
        if not entries:
            return entries
        assigned: dict[str, list[str]] = defaultdict(list)
        found = await self._conn.execute(
            select(location_tags.c.location_uid, location_tags.c.tag_uid)
            .where(location_tags.c.location_uid.in_([entry.uid for entry in entries]))
            .order_by(location_tags.c.id)
        )
        for row in found:
            assigned[row.location_uid].append(row.tag_uid)
        return [replace(e, spec=replace(e.spec, tag_uids=tuple(assigned[e.uid]))) for e in entries]

    async def add(self, entry: Entry[LocationSpec]) -> None:
        await super().add(entry)
        await self._assign(entry.uid, entry.spec.tag_uids)

    async def save(self, entry: Entry[LocationSpec]) -> None:
        await super().save(entry)
        table = location_tags
        held = await self._conn.execute(
            select(table.c.tag_uid).where(table.c.location_uid == entry.uid)
        )
        kept = {row.tag_uid for row in held}
        dropped = kept - set(entry.spec.tag_uids)
        if dropped:
            await self._conn.execute(
                delete(table).where(table.c.location_uid == entry.uid, table.c.tag_uid.in_(dropped))
            )
        await self._assign(entry.uid, [uid for uid in entry.spec.tag_uids if uid not in kept])

    async def _assign(self, location_uid: str, tag_uids: Sequence[str]) -> None:
        if tag_uids:
            await self._conn.execute(
                insert(location_tags),
                [{"location_uid": location_uid, "tag_uid": uid} for uid in tag_uids],
            )


class Registries:
    """All three kinds, and which of a recipe's references point at nothing."""

    def __init__(self, conn: Connection) -> None:
        self.tags = TagRepository(conn)
        self.policies = PolicyRepository(conn)
        self.locations = LocationRepository(conn)
        self._repositories: dict[RegistryKind, RegistryRepository[Any]] = {
            RegistryKind.TAG: self.tags,
            RegistryKind.POLICY: self.policies,
            RegistryKind.LOCATION: self.locations,
        }

    def __getitem__(self, kind: RegistryKind) -> RegistryRepository[Any]:
        return self._repositories[kind]

    async def missing(
        self, organization_uid: str, wanted: Sequence[Reference], *, lock: bool = False
    ) -> list[Reference]:
        """The references that point at nothing in the organization; `lock`: keep those that do
        from being deleted until the transaction ends."""
        missing: list[Reference] = []
        for kind, repository in self._repositories.items():
            uids = [reference.uid for reference in wanted if reference.kind is kind]
            if not uids:
                continue
            found = await repository.existing(organization_uid, uids, lock=lock)
            missing.extend(r for r in wanted if r.kind is kind and r.uid not in found)
        return missing
