"""`provisio events tail --nats` keeps following the stream across a NATS restart: every event
once, in stream order, before and after the restart."""

import asyncio
import json
from pathlib import Path

from provisio.nats.publisher import Publisher
from provisio.store.unit_of_work import Store
from tests.nats.fleet import Fleet, feed
from tests.nats.support import PrivateNats, running
from tests.processes import start, until


async def test_tail_follows_the_stream_across_a_nats_restart(
    store: Store, private_nats: PrivateNats, tmp_path: Path
) -> None:
    fleet = await Fleet.bootstrap(store)
    publisher = Publisher(store, private_nats.url, poll_interval=0.1, max_retry=0.2)
    await fleet.create(2)
    await publisher.drain()
    tail = start(
        "tail", ["events", "tail", "--nats", private_nats.url, "--count", "4"], {}, tmp_path
    )
    try:

        def printed() -> list[str]:
            return [line for line in tail.output().splitlines() if line.startswith("{")]

        await asyncio.to_thread(until, lambda: len(printed()) == 2, "the first two events")
        private_nats.stop()
        private_nats.start()
        await fleet.create(2)
        # The publisher's connection may still be reconnecting: let it retry, as it does in
        # production, until the tail has printed everything and exited.
        async with running(store, publisher):
            code = await asyncio.to_thread(tail.popen.wait, 60)
        assert code == 0, tail.output()
        lines = [json.loads(line) for line in printed()]
    finally:
        tail.kill()
    assert [line["sequence"] for line in lines] == [1, 2, 3, 4]
    assert [line["event"]["id"] for line in lines] == [
        json.loads(event.body)["id"] for event in await feed(store)
    ]
