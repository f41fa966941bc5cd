"""Exporter persistence."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update

from provisio.domain.errors import NotFound
from provisio.domain.exporter import Exporter, ExporterSpec
from provisio.store.backend import Connection
from provisio.store.tables import exporters


def _to_row(exporter: Exporter) -> dict[str, Any]:
    spec = exporter.spec
    return {
        "uid": exporter.uid,
        "organization_uid": exporter.organization_uid,
        "name": spec.name,
        "description": spec.description,
        "subscribed_event_types": ",".join(spec.subscribed_event_types),
        "enabled": spec.enabled,
        "url": spec.url,
        "secret": spec.secret,
        "disabled_reason": exporter.disabled_reason,
        "enabled_at": exporter.enabled_at,
        "created_at": exporter.created_at,
        "updated_at": exporter.updated_at,
    }


def _from_row(row: Row[Any]) -> Exporter:
    spec = ExporterSpec(
        name=row.name,
        subscribed_event_types=tuple(row.subscribed_event_types.split(",")),
        url=row.url,
        secret=row.secret,
        description=row.description,
        enabled=bool(row.enabled),
    )
    return Exporter(
        uid=row.uid,
        organization_uid=row.organization_uid,
        spec=spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
        disabled_reason=row.disabled_reason,
        enabled_at=row.enabled_at,
    )


class ExporterRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def get(
        self, uid: str, organization_uids: Sequence[str], *, for_update: bool = False
    ) -> Exporter:
        query = select(exporters).where(
            exporters.c.uid == uid, exporters.c.organization_uid.in_(organization_uids)
        )
        row = (await self._conn.execute(query.with_for_update() if for_update else query)).first()
        if row is None:
            raise NotFound("exporter not found")
        return _from_row(row)

    async def find(
        self, organization_uids: Sequence[str], after: int, limit: int
    ) -> list[tuple[int, Exporter]]:
        query = (
            select(exporters)
            .where(exporters.c.organization_uid.in_(organization_uids), exporters.c.id > after)
            .order_by(exporters.c.id)
            .limit(limit)
        )
        return [(row.id, _from_row(row)) for row in await self._conn.execute(query)]

    async def count(self, organization_uids: Sequence[str]) -> int:
        query = select(func.count()).where(exporters.c.organization_uid.in_(organization_uids))
        return int((await self._conn.execute(query)).scalar_one())

    async def add(self, exporter: Exporter) -> None:
        await self._conn.execute(insert(exporters).values(_to_row(exporter)))

    async def save(self, exporter: Exporter) -> None:
        await self._conn.execute(
            update(exporters).where(exporters.c.uid == exporter.uid).values(_to_row(exporter))
        )

    async def remove(self, exporter: Exporter) -> None:
        await self._conn.execute(delete(exporters).where(exporters.c.uid == exporter.uid))
