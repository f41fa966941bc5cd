"""Delivery end to end on both engines: recipes change, the relay fans events out, the
dispatcher POSTs them over loopback to a real receiver with programmable faults."""

import asyncio
import base64
import hashlib
import hmac
import time
from datetime import timedelta

from sqlalchemy import select, update
from standardwebhooks import Webhook

from provisio.service.exporters import replay, update_exporter
from provisio.store.tables import deliveries, delivery_attempts, exporters
from provisio.webhooks.dispatcher import FAILING_REASON, GONE_REASON
from tests.webhooks.conftest import POLICY, SECRET, TYPES, World, eventually
from tests.webhooks.receiver import for_uid


async def test_changes_arrive_signed_with_increasing_sequence_numbers(world: World) -> None:
    uid = await world.recipe("SN-1")
    await world.rename(uid, "Lobby")
    await world.receiver.wait_for(2, timeout=10)
    sent = world.receiver.deliveries()
    assert [d.event_type for d in sent] == list(TYPES)
    assert all(d.verified for d in sent), [d.verification_error for d in sent]
    assert [d.sequence for d in sent] == [1, 2]
    assert {d.headers["X-SOS-Exporter-Config-Uid"] for d in sent} == {world.exporter_uid}
    assert all(d.headers["webhook-id"] == d.json["id"] for d in sent)


async def test_a_failing_endpoint_gets_the_same_event_again_while_others_flow(world: World) -> None:
    stalled = await world.recipe("SN-1")
    world.receiver.fail(times=2, status=503, when=for_uid(stalled))
    other = await world.recipe("SN-2")
    await world.receiver.wait_for(1, timeout=10, when=for_uid(other))
    await world.receiver.wait_for(3, timeout=10, when=for_uid(stalled))
    attempts = [d for d in world.receiver.deliveries() if d.uid == stalled]
    assert [d.status for d in attempts] == [503, 503, 204]
    assert len({d.event_id for d in attempts}) == 1
    assert len({d.sequence for d in attempts}) == 1

    async def recorded() -> list[int | None]:
        async with world.store.reader() as uow:
            query = select(delivery_attempts.c.http_status)
            return list((await uow.conn.execute(query)).scalars().all())

    rows = await eventually(recorded, lambda rows: len(rows) == 4)
    assert sorted(rows, key=str) == sorted([503, 503, 204, 204], key=str)


async def test_one_recipe_stays_in_order_while_a_stalled_delivery_holds_it(world: World) -> None:
    held_uid = await world.recipe("SN-1")
    hold = world.receiver.hold(when=for_uid(held_uid))
    await world.receiver.wait_for(1, timeout=10, when=for_uid(held_uid))
    await world.rename(held_uid, "second")
    free_uid = await world.recipe("SN-2")
    await world.rename(free_uid, "flows")
    await world.receiver.wait_for(2, timeout=10, when=for_uid(free_uid))
    assert len([d for d in world.receiver.deliveries() if d.uid == held_uid]) == 1
    hold.release()
    await world.receiver.wait_for(2, timeout=10, when=for_uid(held_uid))
    held = [d for d in world.receiver.deliveries() if d.uid == held_uid]
    assert [d.event_type for d in held] == list(TYPES)
    assert [d.sequence for d in held] == sorted(d.sequence or 0 for d in held)


async def test_410_gone_fails_the_delivery_and_disables_the_exporter(world: World) -> None:
    world.receiver.fail(status=410)
    await world.recipe("SN-1")
    await world.receiver.wait_for(1, timeout=10)
    for _ in range(100):
        async with world.store.reader() as uow:
            exporter = await uow.exporters.get(
                world.exporter_uid, [world.principal.organization_uid or ""]
            )
            statuses = (await uow.conn.execute(select(deliveries.c.status))).scalars().all()
        if not exporter.spec.enabled:
            break
        await asyncio.sleep(0.05)
    assert (exporter.spec.enabled, exporter.disabled_reason) == (False, GONE_REASON)
    assert statuses == ["failed"]
    await world.recipe("SN-2")  # a disabled exporter gets nothing queued
    await asyncio.sleep(0.3)
    assert len(world.receiver.deliveries()) == 1
    await update_exporter(
        world.store, world.principal, world.exporter_uid, {"enabled": True}, POLICY
    )
    await world.recipe("SN-3")
    await world.receiver.wait_for(2, timeout=10)
    assert world.receiver.deliveries()[-1].sequence == 2


async def test_an_exporter_failing_everything_for_5_days_is_disabled(world: World) -> None:
    world.receiver.fail(status=500, times=None)
    await world.recipe("SN-1")
    await eventually(world.attempts, lambda rows: len(rows) >= 1)
    await _backdate_attempts(world, timedelta(days=6))  # as if the failures began 6 days ago
    await world.recipe("SN-2")  # its failing delivery finds the exporter failing for 6 days

    async def state() -> tuple[bool, str | None]:
        async with world.store.reader() as uow:
            org = world.principal.organization_uid or ""
            exporter = await uow.exporters.get(world.exporter_uid, [org])
        return exporter.spec.enabled, exporter.disabled_reason

    assert await eventually(state, lambda s: not s[0]) == (False, FAILING_REASON)


async def test_a_success_resets_the_5_day_clock(world: World) -> None:
    world.receiver.fail(status=500, times=1)
    await world.recipe("SN-1")
    await eventually(world.attempts, lambda rows: len(rows) >= 2)
    await _backdate_attempts(world, timedelta(days=6))
    world.receiver.fail(status=500, times=1)
    await world.recipe("SN-2")
    await world.receiver.wait_for(4, timeout=10)
    async with world.store.reader() as uow:
        exporter = await uow.exporters.get(
            world.exporter_uid, [world.principal.organization_uid or ""]
        )
    assert exporter.spec.enabled


async def _backdate_attempts(world: World, by: timedelta) -> None:
    """As if every attempt so far, and the exporter's run of failures, began `by` earlier."""
    async with world.store.unit_of_work() as uow:
        table = delivery_attempts.c
        rows = list(await uow.conn.execute(select(table.id, table.attempted_at)))
        for row in rows:
            await uow.conn.execute(
                update(delivery_attempts)
                .where(table.id == row.id)
                .values(attempted_at=row.attempted_at - by)
            )
        failing = select(exporters.c.uid, exporters.c.failing_since)
        for uid, since in list(await uow.conn.execute(failing)):
            if since is not None:
                await uow.conn.execute(
                    update(exporters).where(exporters.c.uid == uid).values(failing_since=since - by)
                )


async def test_signatures_verify_independently_of_the_sdk(world: World) -> None:
    await world.recipe("SN-1")
    await world.receiver.wait_for(1, timeout=10)
    (sent,) = world.receiver.deliveries()
    timestamp = sent.headers["X-SOS-Timestamp"]
    message = b"POST" + world.receiver.url.encode() + timestamp.encode() + sent.body
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest())
    assert sent.headers["X-SOS-Signature"] == "v1=" + expected.decode()
    headers = {k: v for k, v in sent.headers.items() if k.lower().startswith("webhook-")}
    assert Webhook(SECRET.encode()).verify(sent.body, headers)["id"] == sent.event_id
    assert abs(int(timestamp) - time.time()) < 60


async def test_replay_sends_the_same_event_id_with_a_new_sequence_number(world: World) -> None:
    await world.recipe("SN-1")
    await world.receiver.wait_for(1, timeout=10)
    (first,) = world.receiver.deliveries()
    assert first.event_id is not None
    queued = await replay(
        world.store, world.principal, world.exporter_uid, event_ids=[first.event_id]
    )
    assert queued == 1
    await world.receiver.wait_for(2, timeout=10)
    again = world.receiver.deliveries()[1]
    assert again.event_id == first.event_id
    assert (first.sequence, again.sequence) == (1, 2)
    assert again.body == first.body


async def test_queued_deliveries_wait_while_disabled_and_resume_on_enable(world: World) -> None:
    failing = world.receiver.fail(status=503, times=None)
    await world.recipe("SN-1")
    await eventually(world.attempts, lambda rows: len(rows) >= 1)
    await update_exporter(
        world.store, world.principal, world.exporter_uid, {"enabled": False}, POLICY
    )
    failing.cancel()
    sent = len(world.receiver.deliveries())
    await asyncio.sleep(0.4)  # several retry intervals: a disabled exporter gets nothing
    assert len(world.receiver.deliveries()) == sent
    await update_exporter(
        world.store, world.principal, world.exporter_uid, {"enabled": True}, POLICY
    )
    await world.receiver.wait_for(sent + 1, timeout=10)
    assert world.receiver.deliveries()[-1].status == 204
