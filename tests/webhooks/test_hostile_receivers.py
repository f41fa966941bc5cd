"""Whatever an endpoint answers, the attempt is recorded, the schedule goes on, other recipes
flow and no secret reaches a log (DESIGN §10), on both engines."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select, update

from provisio.logs import configure_logging
from provisio.service.exporters import update_exporter
from provisio.store.deliveries import DELIVERED, FAILED, PENDING
from provisio.store.tables import deliveries, delivery_attempts, events
from provisio.webhooks.schedule import RetrySchedule
from tests.webhooks.conftest import POLICY, SECRET, DeliveryRow, World, eventually
from tests.webhooks.hostile import Answer, HostileEndpoint, endless, raw, reset_after, trickle


def _retry_in_an_hour() -> Answer:
    """A 503 whose Retry-After is an HTTP date an hour after the moment it is answered."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        date = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True).encode()
        await raw(_head(b"503 Unavailable", b"Retry-After: " + date, EMPTY))(writer)

    return answer


@dataclass(frozen=True)
class Case:
    answer: Answer
    status: int | None
    """The attempt's recorded HTTP status (None: an error instead)."""
    waits: float | None = None
    """Seconds the next attempt waits (a honoured Retry-After); None: the schedule's 0.1 s."""


def _head(status: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n"


EMPTY = b"Content-Length: 0"
CASES = {
    "retry-after-huge": Case(
        raw(_head(b"429 Too Many", b"Retry-After: 99999999999999999999", EMPTY)), 429, 86400
    ),
    "retry-after-superscript-digit": Case(
        raw(_head(b"503 Unavailable", "Retry-After: \u00b2".encode(), EMPTY)), 503
    ),
    "retry-after-negative": Case(raw(_head(b"503 Unavailable", b"Retry-After: -30", EMPTY)), 503),
    "retry-after-http-date": Case(_retry_in_an_hour(), 503, 3600),
    "status-999": Case(raw(_head(b"999 Whatever", EMPTY)), 999),
    "status-100-then-close": Case(raw(_head(b"100 Continue")), None),
    "garbage-status-line": Case(raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), None),
    "nul-and-bad-bytes": Case(
        raw(
            _head(b"500 \x00\xff", b"X-Odd: \xff\xfe\x00", b"Content-Length: 6") + b"\x00\xff\xfeab"
        ),
        None,
    ),
    "huge-body": Case(endless(_head(b"500 Oops", b"Content-Length: 104857600")), 500),
    "endless-success-body": Case(endless(_head(b"200 OK", b"Content-Length: 104857600")), 200),
    "reset-mid-body": Case(
        reset_after(_head(b"500 Oops", b"Content-Length: 1000") + b"partial"), 500
    ),
    "reset-before-answering": Case(reset_after(b""), None),
    "trickled-status-line": Case(trickle(_head(b"200 OK", EMPTY), every=0.5), None),
}


async def _hostile_world(world: World, endpoint: HostileEndpoint) -> None:
    await update_exporter(
        world.store, world.principal, world.exporter_uid, {"url": endpoint.url}, POLICY
    )


async def _rows(world: World, event_id: str) -> list[DeliveryRow]:
    return [row for row in await world.deliveries() if row.event_id == event_id]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_hostile_answer_is_recorded_and_the_schedule_goes_on(
    idle_world: World, case: Case, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("console")
    world = idle_world
    async with HostileEndpoint(case.answer) as endpoint:
        await _hostile_world(world, endpoint)
        world.start(world.dispatcher())
        target = await world.recipe("SN-HOSTILE")
        endpoint.target = target
        await world.rename(target, "second event about the same recipe")
        other = await world.recipe("SN-OTHER")
        await endpoint.wait_for(1, uid=other)  # other recipes flow meanwhile

        def first_attempt_recorded(rows: list[DeliveryRow]) -> bool:
            return any(row.attempts >= 1 for row in rows if row.subject_uid == target)

        rows = await eventually(world.deliveries, first_attempt_recorded, timeout=10)
        [created] = [row for row in rows if row.subject_uid == target][:1]
        async with world.store.reader() as uow:
            a = delivery_attempts.c
            query = select(a.http_status, a.error, a.response, a.duration_ms).where(
                a.delivery_id == created.id
            )
            first = (await uow.conn.execute(query.order_by(a.id))).first()
        assert first is not None
        assert first.http_status == case.status, first
        assert (first.error is not None) == (case.status is None), first
        if first.response is not None:
            assert len(first.response.encode()) <= 1024 * 3  # first KiB, as text
            assert "\x00" not in first.response
        if case.waits is not None:
            [row] = await _rows(world, created.event_id)
            assert (row.status, row.attempts) == (PENDING, 1)
            waits = (row.next_attempt_at - datetime.now(UTC)).total_seconds()
            assert case.waits - 60 < waits <= case.waits * 1.1 + 1, waits
        else:
            expected = DELIVERED if case.status == 200 else None

            def settled(rows: list[DeliveryRow]) -> bool:
                mine = [r for r in rows if r.subject_uid == target]
                return len(mine) == 2 and all(r.status == DELIVERED for r in mine)

            rows = await eventually(world.deliveries, settled, timeout=15)
            mine = [r for r in rows if r.subject_uid == target]
            assert [r.status for r in mine] == [DELIVERED, DELIVERED], mine
            assert mine[0].attempts == (1 if expected == DELIVERED else 2), mine
    assert SECRET not in capsys.readouterr().err


async def test_a_failure_inside_provisio_is_an_attempt_and_the_recipe_moves_on(
    idle_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event body that cannot be signed (a corrupted row) fails every attempt inside
    provisio: each is recorded with the error, the delivery finally fails, and the recipe's
    next event is delivered after it."""
    configure_logging("console")
    world = idle_world
    target = await world.recipe("SN-1")
    rows = await eventually(world.deliveries, lambda rows: len(rows) == 1)
    broken_event = events.c.event_id == rows[0].event_id
    async with world.store.unit_of_work() as uow:
        body = (await uow.conn.execute(select(events.c.body).where(broken_event))).scalar_one()
        await uow.conn.execute(update(events).where(broken_event).values(body=b"\xff\xfe"))
    world.start(world.dispatcher(RetrySchedule((0, 0.05, 0.05), jitter=0)))
    await world.rename(target, "after the broken one")
    await world.receiver.wait_for(1)
    rows = await eventually(world.deliveries, lambda rows: rows[0].status == FAILED)
    assert (rows[0].status, rows[0].attempts) == (FAILED, 3)
    attempts = await world.attempts()
    broken = [a for a in attempts if a.delivery_id == rows[0].id]
    assert len(broken) == 3
    assert all("provisio failed sending: UnicodeDecodeError" in (a.error or "") for a in broken)
    [sent] = world.receiver.deliveries()
    assert sent.uid == target
    assert sent.status == 204
    assert SECRET not in capsys.readouterr().err
    async with world.store.unit_of_work() as uow:  # the feed stays valid for the teardown check
        await uow.conn.execute(update(events).where(broken_event).values(body=body))


async def test_a_recorder_that_lost_its_lease_records_nothing(
    idle_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another dispatcher took the delivery over while this one waited for the answer: the
    late answer is not recorded over the new owner's work."""
    configure_logging("console")
    world = idle_world
    hold = world.receiver.hold(times=1)
    world.start(world.dispatcher())
    await world.recipe("SN-1")
    await world.receiver.wait_for(1)
    [row] = await world.deliveries()
    async with world.store.unit_of_work() as uow:
        await uow.conn.execute(
            update(deliveries).where(deliveries.c.id == row.id).values(lease_owner="another")
        )
    hold.release()
    seen = ""

    async def logged() -> str:
        nonlocal seen
        seen += capsys.readouterr().err
        return seen

    assert "dispatcher.lease_lost" in await eventually(logged, lambda out: "lease_lost" in out)
    [after] = await world.deliveries()
    assert (after.status, after.attempts) == (PENDING, 0), after
    assert await world.attempts() == []
