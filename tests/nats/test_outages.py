"""The publisher across NATS outages, against a private nats-server the tests stop and restart,
on both engines: every event reaches the stream exactly once, in feed order."""

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from provisio.background import background
from provisio.nats.publisher import Publisher
from provisio.nats.stream import MSG_ID, STREAM
from provisio.store.unit_of_work import Store
from tests.conftest import settings_for
from tests.nats.fleet import Fleet, feed
from tests.nats.support import PrivateNats, running, settle, stream_messages

WINDOW = 1.0


async def _published(url: str, count: int, stream: str = STREAM) -> list[str]:
    """The stream's event ids once it holds `count` messages (or the deadline passed)."""
    messages = await settle(lambda: stream_messages(url, stream), lambda m: len(m) >= count)
    return [(m.headers or {})[MSG_ID] for m in messages]


@pytest.mark.parametrize("outage", ["short", "longer than the duplicate window"])
async def test_events_committed_while_nats_is_down_are_published_once_in_order(
    store: Store, private_nats: PrivateNats, outage: str
) -> None:
    fleet = await Fleet.bootstrap(store)
    publisher = Publisher(
        store, private_nats.url, duplicate_window=WINDOW, poll_interval=0.1, max_retry=0.2
    )
    async with running(store, publisher) as publishing:
        await fleet.create(3, position=False)
        assert await _published(private_nats.url, fleet.serials) == [
            e.event_id for e in await feed(store)
        ]

        private_nats.stop()
        stopped = time.monotonic()
        await fleet.create(4, position=False)
        if outage != "short":  # JetStream forgets the ids it saw before the outage
            await asyncio.sleep(max(0.0, stopped + WINDOW + 0.5 - time.monotonic()))
        private_nats.start()

        await _published(private_nats.url, fleet.serials)
        assert not publishing.done()
    # Read once everything stopped, so that a late duplicate would show too.
    assert await _published(private_nats.url, 0) == [e.event_id for e in await feed(store)]


async def test_nats_unreachable_at_start_is_retried_and_logged_without_secrets(
    store: Store, private_nats: PrivateNats
) -> None:
    private_nats.stop()
    fleet = await Fleet.bootstrap(store)
    await fleet.create(2)
    url = private_nats.url.replace("nats://", "nats://provisio:s3cret-password@")
    publisher = Publisher(store, url, poll_interval=0.1, max_retry=0.2)

    async def logged() -> int:
        return len(logs)

    with capture_logs() as logs:
        async with running(store, publisher) as publishing:
            await settle(logged, lambda count: count >= 3)  # a few failed attempts
            private_nats.start()
            published = await _published(private_nats.url, fleet.serials)
            assert not publishing.done()
    assert published == [e.event_id for e in await feed(store)]
    assert any(entry["event"] == "jetstream.unavailable" for entry in logs)
    assert "s3cret" not in repr(logs)
    assert any(entry["event"] == "jetstream.resumed" for entry in logs)


async def test_the_background_workers_publish_when_a_nats_url_is_set(
    store: Store, database_url: str, private_nats: PrivateNats
) -> None:
    fleet = await Fleet.bootstrap(store)
    settings = settings_for(database_url, nats_url=private_nats.url)
    async with background(store, settings) as tasks:
        assert len(tasks) == 3
        await fleet.create(2, position=False)
        published = await _published(private_nats.url, fleet.serials)
    assert published == [e.event_id for e in await feed(store)]
