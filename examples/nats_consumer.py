"""A JetStream consumer of provisio events: a durable pull consumer that acknowledges each event
after handling it.

    python examples/nats_consumer.py --url nats://127.0.0.1:4222 --durable my-integration \\
        [--organization-uid UID]

The server keeps the consumer's place under its durable name: stop this program, start it again,
and it continues after the last event it acknowledged. The stream holds each event once, in feed
order; an event comes again only when its acknowledgement was lost, and `Deduplicator` drops it.
"""

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable

from nats.aio.client import Client

from provisio.nats.stream import STREAM, SUBJECT_PREFIX
from provisio.sdk import Deduplicator, Event, parse_event


async def consume(
    url: str,
    durable: str,
    handle: Callable[[Event], None],
    stop: asyncio.Event,
    *,
    stream: str = STREAM,
    subjects: str = f"{SUBJECT_PREFIX}.>",
) -> None:
    """Hand every new event of `subjects` to `handle`, in stream order, until `stop` is set."""
    nc = Client()
    await nc.connect(url)  # reconnects by itself; the durable consumer keeps the place
    try:
        subscription = await nc.jetstream().pull_subscribe(subjects, durable=durable, stream=stream)
        dedup = Deduplicator()
        while not stop.is_set():
            try:
                messages = await subscription.fetch(100, timeout=1)
            except TimeoutError:
                continue  # nothing new within a second: look at `stop`, then ask again
            for message in messages:
                event = parse_event(message.data)
                if not dedup.seen(event.id):
                    handle(event)
                await message.ack()
    finally:
        await nc.close()


def show(event: Event) -> None:
    payload = event.payload.model_dump_json(by_alias=True, exclude_none=True)
    print(f"{event.type} {event.id} {payload}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="nats://127.0.0.1:4222")
    parser.add_argument("--durable", default="provisio-example")
    parser.add_argument("--organization-uid", help="only this organization's events")
    args = parser.parse_args()
    subjects = f"{SUBJECT_PREFIX}.{args.organization_uid or '*'}.>"

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await consume(args.url, args.durable, show, stop, subjects=subjects)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
