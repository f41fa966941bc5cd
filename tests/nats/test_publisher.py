"""The JetStream publisher on the shared server, on both engines: what it publishes, in which
order, and that it never publishes an event twice."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from nats.js.api import RawStreamMsg

from provisio.nats.publisher import Publisher
from provisio.nats.stream import MSG_ID
from provisio.service.relay import Relay
from provisio.store.unit_of_work import Store
from tests.nats.fleet import Fleet, feed, set_cursor
from tests.nats.support import Names, open_client, settle, stream_messages

WINDOW = 1.0
"""The duplicate window of the streams these tests create, in seconds."""


def _publisher(store: Store, url: str, names: Names, **options: Any) -> Publisher:
    return Publisher(
        store, url, stream=names.stream, subject_prefix=names.prefix, duplicate_window=WINDOW,
        **options,
    )  # fmt: skip


def _ids(messages: list[RawStreamMsg]) -> list[str]:
    return [(message.headers or {})[MSG_ID] for message in messages]


async def _past_the_window(since: float) -> None:
    """Wait until JetStream has forgotten the ids published before `since` (time.monotonic());
    a server-side expiry, so only the clock can say when."""
    await asyncio.sleep(max(0.0, since + WINDOW + 0.5 - time.monotonic()))


async def test_every_event_is_published_in_feed_order_as_its_stored_bytes(
    store: Store, nats_url: str, names: Names
) -> None:
    lobby, hall = await Fleet.bootstrap(store, "Lobby"), await Fleet.bootstrap(store, "Hall")
    await lobby.create(3)
    await hall.create(2)
    await lobby.create(2)
    assert await stream_messages(nats_url, names.stream) == []  # no stream yet

    assert await _publisher(store, nats_url, names).drain() == 7

    events, messages = await feed(store), await stream_messages(nats_url, names.stream)
    assert [m.seq for m in messages] == list(range(1, 8))
    assert [m.subject for m in messages] == [
        f"{names.prefix}.{e.organization_uid}.Device.ProvisioningRecipeCreated" for e in events
    ]
    assert _ids(messages) == [e.event_id for e in events]
    assert [m.data for m in messages] == [e.body for e in events]
    async with store.reader() as uow:
        assert await uow.publish_cursors.position("jetstream") == events[-1].position


async def test_the_stream_is_created_with_the_contract_subjects(
    store: Store, nats_url: str, names: Names
) -> None:
    await (await Fleet.bootstrap(store)).create(1)
    await _publisher(store, nats_url, names).drain()
    nc = await open_client(nats_url)
    try:
        config = (await nc.jetstream().stream_info(names.stream)).config
    finally:
        await nc.close()
    assert config.subjects == [f"{names.prefix}.>"]
    assert config.duplicate_window == WINDOW


async def test_a_cursor_behind_the_stream_publishes_nothing_twice(
    store: Store, nats_url: str, names: Names
) -> None:
    """A crash between a publish and the cursor's save, noticed after the duplicate window."""
    fleet = await Fleet.bootstrap(store)
    await fleet.create(5)
    await _publisher(store, nats_url, names).drain()
    published = time.monotonic()
    await set_cursor(store, (await feed(store))[1].position)
    await _past_the_window(published)
    await fleet.create(2)

    assert await _publisher(store, nats_url, names).drain() == 2

    messages = await stream_messages(nats_url, names.stream)
    assert _ids(messages) == [e.event_id for e in await feed(store)]


async def test_only_one_publisher_publishes_at_a_time(
    store: Store, nats_url: str, names: Names
) -> None:
    await (await Fleet.bootstrap(store)).create(2)
    publisher = _publisher(store, nats_url, names)
    async with store.backend.lock_publisher() as held:
        assert held
        assert await publisher.publish_once() == 0  # another one holds the right
    assert await publisher.publish_once() == 2
    assert len(await stream_messages(nats_url, names.stream)) == 2


@contextlib.asynccontextmanager
async def _running(store: Store, publisher: Publisher) -> AsyncIterator[None]:
    """The relay and the publisher, in the background, as `provisio worker` runs them."""
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(Relay(store, 60).run(stop)),
        asyncio.create_task(publisher.run(stop)),
    ]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def test_the_publisher_wakes_when_the_relay_positions_events(
    store: Store, nats_url: str, names: Names
) -> None:
    fleet = await Fleet.bootstrap(store)
    # Polls are an hour apart: only the relay's signal can bring these events out in time.
    async with _running(store, _publisher(store, nats_url, names, poll_interval=3600)):
        for count in (1, 2):
            await fleet.create(count, position=False)
            messages = await settle(
                lambda: stream_messages(nats_url, names.stream),
                lambda m: len(m) >= fleet.serials,
            )
            assert _ids(messages) == [e.event_id for e in await feed(store)]


async def test_batches_keep_feed_order(store: Store, nats_url: str, names: Names) -> None:
    """More events than one batch holds, published batch after batch."""
    fleet = await Fleet.bootstrap(store)
    await fleet.create(45)
    assert await _publisher(store, nats_url, names, batch=10).drain() == 45
    messages = await stream_messages(nats_url, names.stream)
    assert _ids(messages) == [e.event_id for e in await feed(store)]
