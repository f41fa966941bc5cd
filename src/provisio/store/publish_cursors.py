"""How far along the feed each outbound publisher has published (one row per publisher)."""

from sqlalchemy import insert, select, update

from provisio.store.backend import Connection
from provisio.store.tables import publish_cursors


class PublishCursors:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def position(self, name: str) -> int:
        """The last feed position `name` published; 0 before its first event."""
        found = await self._conn.scalar(
            select(publish_cursors.c.position).where(publish_cursors.c.name == name)
        )
        return int(found or 0)

    async def save(self, name: str, position: int) -> None:
        """Record `position` as published. Only the publisher holding the backend's publisher
        lock writes its row, so update-then-insert cannot race."""
        changed = await self._conn.execute(
            update(publish_cursors).where(publish_cursors.c.name == name).values(position=position)
        )
        if changed.rowcount == 0:
            await self._conn.execute(insert(publish_cursors).values(name=name, position=position))
