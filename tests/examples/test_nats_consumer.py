"""The example JetStream consumer against the shared NATS server: it hands over every event once,
in stream order, acknowledges them, and a restart under its durable name continues after them."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from examples.nats_consumer import consume
from provisio.nats.stream import MSG_ID, subject
from provisio.sdk import Event
from tests.nats.support import Names, delete_stream, open_client, settle, shared_nats

ORGANIZATION = "a" * 32


def _envelope(number: int) -> tuple[str, bytes]:
    event_id = f"0197f2a4-3a5e-7b1c-9d2f-{number:012d}"
    body = (
        '{"id":"' + event_id + '","kind":"domain","type":"Device.Verification.DevicePaired",'
        '"payload":{"owner":{"ownershipType":"organization","organizationUid":"'
        + ORGANIZATION + '","parentCompanyUid":"' + "b" * 32 + '"},'
        '"type":"Device.Verification.DevicePaired","deviceIdentityHash":"' + "c" * 32 + '",'
        '"verificationHash":"123456"}}'
    )  # fmt: skip
    return event_id, body.encode()


@pytest.fixture
async def names() -> AsyncIterator[Names]:
    """A stream of the test's own on the shared server, as provisio's publisher creates it."""
    url = shared_nats()
    names = Names.unique()
    nc = await open_client(url)
    try:
        await nc.jetstream().add_stream(name=names.stream, subjects=[f"{names.prefix}.>"])
    finally:
        await nc.close()
    yield names
    await delete_stream(url, names.stream)


async def _publish(names: Names, numbers: range) -> list[str]:
    nc = await open_client(shared_nats())
    ids = []
    try:
        js = nc.jetstream()
        for number in numbers:
            event_id, body = _envelope(number)
            event_type = "Device.Verification.DevicePaired"
            await js.publish(
                subject(names.prefix, ORGANIZATION, event_type), body, headers={MSG_ID: event_id}
            )
            ids.append(event_id)
    finally:
        await nc.close()
    return ids


async def _consume_until(names: Names, count: int, handled: list[Event]) -> None:
    """Run the consumer until it has handled `count` events in all, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        consume(shared_nats(), "example", handled.append, stop, stream=names.stream,
                subjects=f"{names.prefix}.>")
    )  # fmt: skip

    async def progress() -> int:
        return len(handled)

    try:
        await settle(progress, lambda n: n >= count or task.done())
    finally:
        stop.set()
        await task


async def _pending(names: Names) -> tuple[int, int]:
    """The durable consumer's (unacknowledged, not yet delivered) message counts."""
    nc = await open_client(shared_nats())
    try:
        info = await nc.jetstream().consumer_info(names.stream, "example")
    finally:
        await nc.close()
    return info.num_ack_pending, info.num_pending


async def test_the_consumer_acknowledges_and_resumes_after_a_restart(names: Names) -> None:
    handled: list[Event] = []
    first = await _publish(names, range(1, 4))
    await _consume_until(names, 3, handled)
    assert [event.id for event in handled] == first
    assert await settle(lambda: _pending(names), lambda counts: counts == (0, 0)) == (0, 0)

    later = await _publish(names, range(4, 6))
    await _consume_until(names, 5, handled)
    assert [event.id for event in handled] == first + later  # nothing handled twice
