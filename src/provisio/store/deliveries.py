"""Webhook deliveries: fan-out of positioned events, leased claims in per-subject order,
and the outcome of each attempt."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from provisio.store.events import Positioned
from provisio.store.tables import deliveries, delivery_attempts, events, exporters

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to one dispatcher: everything needed to send it."""

    delivery_id: int
    exporter_uid: str
    url: str
    secret: str
    sequence_number: int
    attempts: int
    event_id: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: an HTTP status, or the error that prevented one."""

    attempted_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300

    @property
    def describe(self) -> str:
        return self.error or f"HTTP {self.http_status}"


class DeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def fan_out(self, positioned: Sequence[Positioned], now: datetime) -> int:
        """Queue each event for every enabled exporter of its organization subscribed to its
        type, numbering them per exporter in feed order."""
        orgs = {p.organization_uid for p in positioned}
        rows = await self._conn.execute(
            select(
                exporters.c.uid,
                exporters.c.organization_uid,
                exporters.c.subscribed_event_types,
                exporters.c.last_sequence,
            ).where(exporters.c.organization_uid.in_(orgs), exporters.c.enabled.is_(True))
        )
        listeners: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
        sequence: dict[str, int] = {}
        for row in rows:
            listeners[row.organization_uid].append(
                (row.uid, set(row.subscribed_event_types.split(",")))
            )
            sequence[row.uid] = int(row.last_sequence)
        queued = []
        for event in positioned:
            for exporter_uid, types in listeners.get(event.organization_uid, []):
                if event.type in types:
                    sequence[exporter_uid] += 1
                    queued.append(
                        {
                            "exporter_uid": exporter_uid,
                            "event_row_id": event.row_id,
                            "subject_uid": event.subject_uid,
                            "sequence_number": sequence[exporter_uid],
                            "status": PENDING,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        if not queued:
            return 0
        await self._conn.execute(insert(deliveries), queued)
        used = {str(q["exporter_uid"]) for q in queued}
        for exporter_uid in used:
            await self._conn.execute(
                update(exporters)
                .where(exporters.c.uid == exporter_uid)
                .values(last_sequence=sequence[exporter_uid])
            )
        return len(queued)

    async def claim(self, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
        """Lease due deliveries of enabled exporters whose earlier deliveries about the same
        subject are all finished (per-subject order); other dispatchers skip leased rows."""
        earlier = deliveries.alias("earlier")
        blocked = exists().where(
            earlier.c.exporter_uid == deliveries.c.exporter_uid,
            earlier.c.subject_uid == deliveries.c.subject_uid,
            earlier.c.status == PENDING,
            earlier.c.sequence_number < deliveries.c.sequence_number,
        )
        query = (
            select(
                deliveries.c.id,
                deliveries.c.exporter_uid,
                deliveries.c.sequence_number,
                deliveries.c.attempts,
                exporters.c.url,
                exporters.c.secret,
                events.c.event_id,
                events.c.body,
            )
            .join(exporters, exporters.c.uid == deliveries.c.exporter_uid)
            .join(events, events.c.id == deliveries.c.event_row_id)
            .where(
                deliveries.c.status == PENDING,
                deliveries.c.next_attempt_at <= now,
                or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
                exporters.c.enabled.is_(True),
                ~blocked,
            )
            .order_by(deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=deliveries)
        )
        claimed = [
            Claimed(
                delivery_id=row.id,
                exporter_uid=row.exporter_uid,
                url=row.url,
                secret=row.secret,
                sequence_number=int(row.sequence_number),
                attempts=int(row.attempts),
                event_id=row.event_id,
                body=bytes(row.body),
            )
            for row in await self._conn.execute(query)
        ]
        if claimed:
            await self._conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_([c.delivery_id for c in claimed]))
                .values(lease_expires_at=now + lease)
            )
        return claimed

    async def record(
        self, claimed: Claimed, outcome: Outcome, next_attempt_at: datetime | None
    ) -> None:
        """Store the attempt; the delivery ends delivered, ends failed (no next attempt), or
        waits for `next_attempt_at`."""
        await self._conn.execute(
            insert(delivery_attempts).values(
                delivery_id=claimed.delivery_id,
                attempted_at=outcome.attempted_at,
                duration_ms=outcome.duration_ms,
                http_status=outcome.http_status,
                error=outcome.error,
            )
        )
        done = outcome.succeeded or next_attempt_at is None
        values: dict[str, object] = {
            "attempts": claimed.attempts + 1,
            "lease_expires_at": None,
            "last_error": None if outcome.succeeded else outcome.describe,
        }
        if outcome.succeeded:
            values |= {"status": DELIVERED, "delivered_at": outcome.attempted_at}
        elif next_attempt_at is None:
            values |= {"status": FAILED}
        else:
            values |= {"next_attempt_at": next_attempt_at}
        if done:
            values["finished_at"] = outcome.attempted_at
        await self._conn.execute(
            update(deliveries).where(deliveries.c.id == claimed.delivery_id).values(values)
        )

    async def disable_exporter(self, exporter_uid: str, reason: str, now: datetime) -> None:
        await self._conn.execute(
            update(exporters)
            .where(exporters.c.uid == exporter_uid)
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )
