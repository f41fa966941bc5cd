"""Webhook deliveries: fan-out of positioned events, leased claims in per-subject order,
and the outcome of each attempt."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.sql import ColumnElement

from provisio.store.backend import Connection
from provisio.store.events import Positioned
from provisio.store.tables import UTCDateTime, deliveries, delivery_attempts, events, exporters

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
PENDING_IN_SQL: ColumnElement[str] = literal_column(f"'{PENDING}'")
"""`pending` written into the statement, not bound: only then does the planner use the partial
indexes whose predicate is `status = 'pending'` (a prepared statement's generic plan cannot
prove that a parameter equals it, and scans every pending row of the exporter instead)."""


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
    response: str | None = None
    """The start of the answer's body."""

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300

    @property
    def describe(self) -> str:
        return self.error or f"HTTP {self.http_status}"


@dataclass(frozen=True)
class Result:
    """A finished attempt, with when to try again (None: no attempt is left)."""

    claimed: Claimed
    outcome: Outcome
    next_attempt_at: datetime | None


def replay_by_ids(organization_uid: str, event_ids: Sequence[str]) -> Select[Any]:
    return select(events.c.id).where(
        events.c.organization_uid == organization_uid, events.c.event_id.in_(event_ids)
    )


def replay_since(organization_uid: str, since: datetime, types: Sequence[str]) -> Select[Any]:
    return select(events.c.id).where(
        events.c.organization_uid == organization_uid,
        events.c.created_at >= since,
        events.c.type.in_(types),
    )


def replay_failed(exporter_uid: str) -> Select[Any]:
    failed = (deliveries.c.exporter_uid == exporter_uid) & (deliveries.c.status == FAILED)
    return select(deliveries.c.event_row_id).where(failed).distinct()


class DeliveryRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def fan_out(self, positioned: Sequence[Positioned], now: datetime) -> int:
        """Queue each event for every enabled exporter of its organization subscribed to its
        type and enabled when the event was committed (an event the relay positions late is
        not sent to an exporter created after it), numbering them per exporter in feed order."""
        if not positioned:
            return 0
        orgs = {p.organization_uid for p in positioned}
        rows = await self._conn.execute(
            select(
                exporters.c.uid,
                exporters.c.organization_uid,
                exporters.c.subscribed_event_types,
                exporters.c.enabled_at,
            )
            .where(exporters.c.organization_uid.in_(orgs), exporters.c.enabled.is_(True))
            .order_by(exporters.c.id)
        )
        listeners: dict[str, list[tuple[str, set[str], datetime | None]]] = defaultdict(list)
        for row in rows:
            types = set(row.subscribed_event_types.split(","))
            listeners[row.organization_uid].append((row.uid, types, row.enabled_at))
        return await self._enqueue(
            [
                (exporter_uid, event.row_id, event.subject_uid)
                for event in positioned
                for exporter_uid, types, since in listeners.get(event.organization_uid, [])
                if event.type in types and (since is None or event.created_at >= since)
            ],
            now,
        )

    async def replay(self, exporter_uid: str, chosen: Select[Any], now: datetime) -> int:
        """Queue the events `chosen` selects (their row ids) again for one exporter: the same
        event ids, new sequence numbers, in feed order."""
        picked = chosen.subquery()
        rows = await self._conn.execute(
            select(events.c.id, events.c.subject_uid)
            .where(events.c.id.in_(select(picked.c[0])), events.c.position.is_not(None))
            .order_by(events.c.position)
        )
        return await self._enqueue([(exporter_uid, row.id, row.subject_uid) for row in rows], now)

    async def known_event_ids(self, organization_uid: str, event_ids: Sequence[str]) -> set[str]:
        query = select(events.c.event_id).where(
            events.c.organization_uid == organization_uid, events.c.event_id.in_(event_ids)
        )
        return set((await self._conn.execute(query)).scalars())

    async def count(self, chosen: Select[Any]) -> int:
        query = select(func.count()).select_from(chosen.subquery())
        return int((await self._conn.execute(query)).scalar_one())

    async def _enqueue(self, queue: list[tuple[str, int, str]], now: datetime) -> int:
        """Insert pending deliveries (exporter uid, event row id, subject uid), numbering each
        exporter's from its last sequence number (row-locked, so numbers are never reused)."""
        if not queue:
            return 0
        used = sorted({exporter_uid for exporter_uid, _, _ in queue})
        locked = await self._conn.execute(
            select(exporters.c.uid, exporters.c.last_sequence)
            .where(exporters.c.uid.in_(used))
            .order_by(exporters.c.uid)
            .with_for_update()
        )
        sequence = {row.uid: int(row.last_sequence) for row in locked}
        rows = []
        for exporter_uid, row_id, subject_uid in queue:
            sequence[exporter_uid] += 1
            rows.append(
                {
                    "exporter_uid": exporter_uid,
                    "event_row_id": row_id,
                    "subject_uid": subject_uid,
                    "sequence_number": sequence[exporter_uid],
                    "status": PENDING,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
        await self._conn.execute(insert(deliveries), rows)
        for exporter_uid in used:
            await self._conn.execute(
                update(exporters)
                .where(exporters.c.uid == exporter_uid)
                .values(last_sequence=sequence[exporter_uid])
            )
        return len(rows)

    async def claim(self, now: datetime, limit: int, lease: timedelta, owner: str) -> list[Claimed]:
        """Lease due deliveries of enabled exporters whose earlier deliveries about the same
        subject are all finished (per-subject order) to `owner`; others skip leased rows."""
        rows = await self._conn.execute(_DUE, {"due_at": now, "due_limit": limit})
        claimed = [Claimed(*row) for row in rows]
        if claimed:
            await self._conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_([c.delivery_id for c in claimed]))
                .values(lease_expires_at=now + lease, lease_owner=owner)
            )
        return claimed

    async def record(self, results: Sequence[Result], owner: str) -> list[Result]:
        """Store the attempts of deliveries `owner` still holds (a delivery whose lease another
        dispatcher took over is theirs now: its result here is dropped) and returns those kept.
        Each delivery ends delivered, ends failed (no next attempt), or waits for its next."""
        held = set(
            (
                await self._conn.execute(
                    select(deliveries.c.id)
                    .where(
                        deliveries.c.id.in_([r.claimed.delivery_id for r in results]),
                        deliveries.c.lease_owner == owner,
                        deliveries.c.status == PENDING,
                    )
                    .with_for_update()
                )
            ).scalars()
        )
        kept = [r for r in results if r.claimed.delivery_id in held]
        if not kept:
            return kept
        await self._conn.execute(
            insert(delivery_attempts),
            [
                {
                    "delivery_id": r.claimed.delivery_id,
                    "attempted_at": r.outcome.attempted_at,
                    "duration_ms": r.outcome.duration_ms,
                    "http_status": r.outcome.http_status,
                    "error": r.outcome.error,
                    "response": r.outcome.response,
                }
                for r in kept
            ],
        )
        await self._conn.execute(_FINISH_ATTEMPT, [_finished_attempt(r) for r in kept])
        return kept

    async def track_failures(self, results: Sequence[Result]) -> dict[str, datetime]:
        """Keep each exporter's `failing_since` (when its current run of failed attempts began;
        a success ends the run) and return it for the exporters still failing.

        Exporter rows are written in uid order, and a batch with a failure (which may go on to
        disable exporters) locks them all in that order first, as the relay's fan-out does: two
        dispatchers' transactions never wait for each other in a cycle."""
        query = (
            select(exporters.c.uid, exporters.c.failing_since)
            .where(exporters.c.uid.in_({r.claimed.exporter_uid for r in results}))
            .order_by(exporters.c.uid)
        )
        if not all(r.outcome.succeeded for r in results):
            query = query.with_for_update()
        rows = await self._conn.execute(query)
        current: dict[str, datetime | None] = {row.uid: row.failing_since for row in rows}
        since = dict(current)
        for result in sorted(results, key=lambda r: r.outcome.attempted_at):
            uid = result.claimed.exporter_uid
            if result.outcome.succeeded:
                since[uid] = None
            elif since.get(uid) is None:
                since[uid] = result.outcome.attempted_at
        for uid, value in sorted(since.items()):
            if value != current.get(uid):
                await self._conn.execute(
                    update(exporters).where(exporters.c.uid == uid).values(failing_since=value)
                )
        return {uid: value for uid, value in since.items() if value is not None}

    async def release(self, delivery_ids: Sequence[int], owner: str) -> None:
        """Give up `owner`'s leases on unfinished deliveries (their dispatcher is stopping)."""
        await self._conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id.in_(delivery_ids),
                deliveries.c.status == PENDING,
                deliveries.c.lease_owner == owner,
            )
            .values(lease_expires_at=None, lease_owner=None)
        )

    async def release_all(self, owner: str) -> int:
        """Give up every lease held under `owner`: a restarted dispatcher with a stable name
        resumes what its previous life was sending."""
        result = await self._conn.execute(
            update(deliveries)
            .where(deliveries.c.lease_owner == owner, deliveries.c.status == PENDING)
            .values(lease_expires_at=None, lease_owner=None)
        )
        return int(result.rowcount)

    async def disable_exporter(self, exporter_uid: str, reason: str, now: datetime) -> None:
        await self._conn.execute(
            update(exporters)
            .where(exporters.c.uid == exporter_uid, exporters.c.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason, updated_at=now)
        )


def _due() -> Select[Any]:
    """Due deliveries of enabled exporters whose earlier deliveries about the same subject are
    all finished. The ids are chosen (and locked) first, walking `ix_deliveries_due` from the
    longest-due, so the claim reads only the rows it leases whatever the backlog."""
    earlier = deliveries.alias("earlier")
    blocked = exists().where(
        earlier.c.exporter_uid == deliveries.c.exporter_uid,
        earlier.c.subject_uid == deliveries.c.subject_uid,
        earlier.c.status == PENDING_IN_SQL,
        earlier.c.sequence_number < deliveries.c.sequence_number,
    )
    enabled = exists().where(
        exporters.c.uid == deliveries.c.exporter_uid, exporters.c.enabled.is_(True)
    )
    now = bindparam("due_at", type_=UTCDateTime())
    due_ids = (
        select(deliveries.c.id)
        .where(
            deliveries.c.status == PENDING_IN_SQL,
            deliveries.c.next_attempt_at <= now,
            or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
            enabled,
            ~blocked,
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(bindparam("due_limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        select(
            deliveries.c.id,
            deliveries.c.exporter_uid,
            exporters.c.url,
            exporters.c.secret,
            deliveries.c.sequence_number,
            deliveries.c.attempts,
            events.c.event_id,
            events.c.body,
        )
        .join(exporters, exporters.c.uid == deliveries.c.exporter_uid)
        .join(events, events.c.id == deliveries.c.event_row_id)
        .where(deliveries.c.id.in_(due_ids.scalar_subquery()))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
    )


_DUE = _due()
"""Due deliveries in `Claimed`'s field order, built once (claims run many times a second)."""

_FINISH_ATTEMPT = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("row_id"))
    .values(
        status=bindparam("row_status"),
        attempts=deliveries.c.attempts + 1,
        next_attempt_at=func.coalesce(
            bindparam("row_next", type_=UTCDateTime()), deliveries.c.next_attempt_at
        ),
        lease_expires_at=None,
        lease_owner=None,
        last_error=bindparam("row_error"),
        delivered_at=bindparam("row_delivered", type_=UTCDateTime()),
        finished_at=bindparam("row_finished", type_=UTCDateTime()),
    )
)
"""One attempt's bookkeeping, built once and executed with one parameter row per delivery."""


def _finished_attempt(result: Result) -> dict[str, object]:
    outcome, next_at = result.outcome, result.next_attempt_at
    done = outcome.succeeded or next_at is None
    status = DELIVERED if outcome.succeeded else FAILED if next_at is None else PENDING
    return {
        "row_id": result.claimed.delivery_id,
        "row_status": status,
        "row_next": None if done else next_at,
        "row_error": None if outcome.succeeded else outcome.describe,
        "row_delivered": outcome.attempted_at if outcome.succeeded else None,
        "row_finished": outcome.attempted_at if done else None,
    }


@dataclass(frozen=True)
class Failure:
    event_id: str
    event_type: str
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None


@dataclass(frozen=True)
class Observability:
    delivered: int
    retries: int
    errors: int
    last_successful_delivery_at: datetime | None
    recent_failures: list[Failure]


@dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    duration_ms: int
    http_status: int | None
    error: str | None
    response: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    sequence_number: int
    status: str
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempts: list[Attempt]


RECENT_FAILURES = 20


class DeliveryReader:
    """What an exporter's owner may see of its deliveries."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def observability(self, exporter_uid: str) -> Observability:
        d = deliveries.c
        totals = (
            await self._conn.execute(
                select(
                    func.count().filter(d.status == DELIVERED),
                    func.coalesce(func.sum(case((d.attempts > 1, d.attempts - 1), else_=0)), 0),
                    func.count().filter(d.status == FAILED),
                    func.max(d.delivered_at),
                ).where(d.exporter_uid == exporter_uid)
            )
        ).one()
        failures = await self._conn.execute(
            select(events.c.event_id, events.c.type, d.attempts, d.last_error, d.finished_at)
            .join(events, events.c.id == d.event_row_id)
            .where(d.exporter_uid == exporter_uid, d.status == FAILED)
            .order_by(d.finished_at.desc(), d.id.desc())
            .limit(RECENT_FAILURES)
        )
        return Observability(
            delivered=int(totals[0]),
            retries=int(totals[1]),
            errors=int(totals[2]),
            last_successful_delivery_at=totals[3],
            recent_failures=[Failure(*row) for row in failures],
        )

    async def page(
        self,
        exporter_uid: str,
        status: str | None,
        after: int,
        limit: int,
        *,
        newest_first: bool = False,
    ) -> list[DeliveryView]:
        """Oldest first after the cursor `after` (a delivery id); `newest_first`: newest first
        below it, 0 meaning from the newest."""
        d = deliveries.c
        query = (
            select(
                d.id,
                events.c.event_id,
                events.c.type,
                d.sequence_number,
                d.status,
                d.created_at,
                d.next_attempt_at,
                d.delivered_at,
            )
            .join(events, events.c.id == d.event_row_id)
            .where(d.exporter_uid == exporter_uid)
            .limit(limit)
        )
        if newest_first:
            query = query.order_by(d.id.desc())
            if after:
                query = query.where(d.id < after)
        else:
            query = query.where(d.id > after).order_by(d.id)
        if status is not None:
            query = query.where(d.status == status)
        rows = list(await self._conn.execute(query))
        tried: dict[int, list[Attempt]] = defaultdict(list)
        if rows:
            a = delivery_attempts.c
            for row in await self._conn.execute(
                select(
                    a.delivery_id, a.attempted_at, a.duration_ms, a.http_status, a.error, a.response
                )
                .where(a.delivery_id.in_([row.id for row in rows]))
                .order_by(a.id)
            ):
                tried[row.delivery_id].append(Attempt(*row[1:]))
        return [
            DeliveryView(
                id=row.id,
                event_id=row.event_id,
                event_type=row.type,
                sequence_number=int(row.sequence_number),
                status=row.status,
                created_at=row.created_at,
                next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
                delivered_at=row.delivered_at,
                attempts=tried[row.id],
            )
            for row in rows
        ]
