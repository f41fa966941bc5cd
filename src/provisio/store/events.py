"""The outbox and the feed: events are appended with state, positioned later by the relay."""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, func, select, update

from provisio.domain.events import Event
from provisio.store.backend import Connection
from provisio.store.row_insert import RowInsert
from provisio.store.tables import events


class Positioned(NamedTuple):
    """An event the relay just gave a feed position, with what fan-out needs to route it."""

    row_id: int
    organization_uid: str
    type: str
    subject_uid: str
    created_at: datetime


class FeedEntry(NamedTuple):
    """A positioned event as a screen shows it: where and when, what about, and its stored
    envelope bytes (exactly what webhooks sign)."""

    position: int
    created_at: datetime
    type: str
    subject_uid: str
    body: bytes


class Outbound(NamedTuple):
    """A positioned event as an outbound publisher sends it: the stored envelope bytes and what
    its subject and deduplication id are made of."""

    position: int
    event_id: str
    organization_uid: str
    type: str
    body: bytes


_APPEND = RowInsert(
    events,
    ("event_id", "organization_uid", "type", "subject_uid", "body", "created_at"),
    repeated=("created_at",),
)


ABOUT = (
    select(events.c.position, events.c.created_at, events.c.body, events.c.organization_uid)
    .where(events.c.subject_uid == bindparam("subject_uid"), events.c.position.is_not(None))
    .order_by(events.c.position.desc())
    .limit(bindparam("limit"))
)
"""One recipe's or device's positioned events, newest first, through
`ix_events_subject_uid_position` alone: with the organization in the condition too, a planner
without statistics may walk the organization's events instead. The tenant check is made on
the rows."""


def newest_query(
    organization_uids: Sequence[str],
    after: int,
    before: int | None,
    limit: int,
    types: Sequence[str],
) -> Select[tuple[int, datetime, str, str, bytes]]:
    """`EventLog.read_newest`'s statement: it walks the index on (organization, position)
    from its top end (or from `before`) down, never further than `after`, and never sorts."""
    query = select(
        events.c.position,
        events.c.created_at,
        events.c.type,
        events.c.subject_uid,
        events.c.body,
    ).where(events.c.organization_uid.in_(organization_uids), events.c.position > after)
    if before is not None:
        query = query.where(events.c.position < before)
    if types:
        query = query.where(events.c.type.in_(types))
    return query.order_by(events.c.position.desc()).limit(limit)


class EventLog:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def append(self, batch: Sequence[tuple[str, str, Event]], now: datetime) -> None:
        """Write (organization uid, subject uid, event) entries in the caller's transaction,
        in the order they were caused."""
        if not batch:
            return
        await _APPEND.run(
            self._conn,
            (
                {
                    "event_id": event.id,
                    "organization_uid": organization_uid,
                    "type": event.type,
                    "subject_uid": subject_uid,
                    "body": event.to_json(),
                    "created_at": now,
                }
                for organization_uid, subject_uid, event in batch
            ),
        )

    async def assign_positions(self, limit: int) -> list[Positioned]:
        """Give the oldest committed, unpositioned events the next feed positions.

        Only one relay does this at a time (the backend's relay lock), so positions become
        visible in increasing order and a reader paging with `after` never skips one.
        """
        pending = [
            Positioned(*row)
            for row in await self._conn.execute(
                select(
                    events.c.id,
                    events.c.organization_uid,
                    events.c.type,
                    events.c.subject_uid,
                    events.c.created_at,
                )
                .where(events.c.position.is_(None))
                .order_by(events.c.id)
                .limit(limit)
            )
        ]
        if not pending:
            return []
        top = (await self._conn.execute(select(func.max(events.c.position)))).scalar_one()
        start = (top or 0) + 1
        await self._conn.execute(
            update(events)
            .where(events.c.id == bindparam("row_id"))
            .values(position=bindparam("row_position")),
            [{"row_id": p.row_id, "row_position": start + n} for n, p in enumerate(pending)],
        )
        return pending

    async def read(
        self, organization_uids: Sequence[str], after: int, limit: int, types: Sequence[str]
    ) -> list[tuple[int, bytes]]:
        """A page of the feed: (position, envelope bytes) in position order."""
        query = select(events.c.position, events.c.body).where(
            events.c.organization_uid.in_(organization_uids), events.c.position > after
        )
        if types:
            query = query.where(events.c.type.in_(types))
        rows = await self._conn.execute(query.order_by(events.c.position).limit(limit))
        return [(int(row.position), bytes(row.body)) for row in rows]

    async def about(
        self, organization_uid: str, subject_uid: str, limit: int
    ) -> list[tuple[int, datetime, bytes]]:
        """The feed's events about one recipe or device, newest first: (position, commit
        time, envelope bytes). Read through the index of positioned events by subject."""
        rows = await self._conn.execute(ABOUT, {"subject_uid": subject_uid, "limit": limit})
        return [
            (int(row.position), row.created_at, bytes(row.body))
            for row in rows
            if row.organization_uid == organization_uid
        ]

    async def read_newest(
        self,
        organization_uids: Sequence[str],
        *,
        after: int = 0,
        before: int | None = None,
        limit: int,
        types: Sequence[str] = (),
    ) -> list[FeedEntry]:
        """The feed backwards: the newest positioned events between `after` and `before`
        (both excluded; `before` None: up to the newest), newest first."""
        rows = await self._conn.execute(
            newest_query(organization_uids, after, before, limit, types)
        )
        return [
            FeedEntry(int(row.position), row.created_at, row.type, row.subject_uid, bytes(row.body))
            for row in rows
        ]

    async def read_all(self, after: int, limit: int) -> list[Outbound]:
        """Every organization's events after position `after`, in feed order."""
        rows = await self._conn.execute(
            select(
                events.c.position,
                events.c.event_id,
                events.c.organization_uid,
                events.c.type,
                events.c.body,
            )
            .where(events.c.position > after)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [
            Outbound(
                int(row.position), row.event_id, row.organization_uid, row.type, bytes(row.body)
            )
            for row in rows
        ]

    async def position_of(self, event_id: str) -> int | None:
        """The feed position of an event; None if it is unknown or not positioned yet."""
        position = await self._conn.scalar(
            select(events.c.position).where(events.c.event_id == event_id)
        )
        return None if position is None else int(position)
