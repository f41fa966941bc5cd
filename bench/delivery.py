"""Delivery throughput: provisio's relay and dispatcher against a bare aiohttp POST loop.

Both sides send the same signed event bodies to the same sink with at most `IN_FLIGHT`
requests in flight (the dispatcher's limit per host). provisio's side is the real `Relay` and
`Dispatcher`, built with their public constructors only, so the benchmark survives rewrites of
their insides; its work ends when the sink has every webhook *and* the database shows every
delivery delivered (what a second dispatcher, or a restart, would rely on).
"""

import asyncio
import gc
import json
import resource
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import aiohttp

from bench.engines import Database
from bench.report import Comparison, Sample
from bench.scenarios import CREATED, Tenant, bulk_fields, import_recipes
from bench.sink import Sink
from provisio.domain.exporter import Exporter, ExporterSpec
from provisio.sdk.signatures import webhook_headers
from provisio.service.exporters import create_exporter, observe
from provisio.service.feed import read_feed
from provisio.service.relay import Relay
from provisio.settings import Settings
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store
from provisio.webhooks.dispatcher import Dispatcher
from provisio.webhooks.url_policy import UrlPolicy, parse_networks

SECRET = "bench-webhook-secret-0123456789abcdef"
POLICY = UrlPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8"))
"""Lets the dispatcher reach the loopback sink, as PROVISIO_WEBHOOK_ALLOW_HTTP and
PROVISIO_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 do for `provisio serve`."""
IN_FLIGHT = 20
"""Requests in flight to one endpoint: the dispatcher's per-host limit, the reference's too."""
DEFAULTS = Settings.model_construct()
"""`provisio serve`'s defaults (retry schedule, timeout, poll interval), environment ignored."""
FEED_PAGE = 1000


def cpu_seconds() -> float:
    """CPU this process has used, every thread (aiosqlite's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Signed:
    """One event as a webhook carries it: its id and the exact bytes provisio stored."""

    event_id: str
    body: bytes


async def post_all(
    url: str, exporter_uid: str, events: Sequence[Signed], in_flight: int = IN_FLIGHT
) -> None:
    """The floor: `in_flight` workers POST every event, each signed as provisio signs it (both
    signatures, the timestamp of the moment it is sent), over one keep-alive pool."""
    numbered: Iterator[tuple[int, Signed]] = iter(enumerate(events, start=1))
    connector = aiohttp.TCPConnector(limit=in_flight)
    timeout = aiohttp.ClientTimeout(total=DEFAULTS.delivery_timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for sequence, event in numbered:
                headers = webhook_headers(
                    SECRET,
                    url,
                    event.event_id,
                    int(time.time()),
                    event.body,
                    sequence_number=sequence,
                    exporter_uid=exporter_uid,
                )
                async with session.post(
                    url, data=event.body, headers=headers, allow_redirects=False
                ) as response:
                    if not 200 <= response.status < 300:
                        raise RuntimeError(f"the sink answered {response.status}")

        await asyncio.gather(*(worker() for _ in range(in_flight)))


async def drained(sink: Sink, count: int, work: Callable[[], Awaitable[None]]) -> Sample:
    """Time `work` until it returns and `count` webhooks reached the sink; each latency is one
    webhook's arrival after the start (so p50 is when half had arrived)."""
    await sink.mark()
    gc.collect()
    loop = asyncio.get_running_loop()
    cpu, started = cpu_seconds(), loop.time()
    await work()
    await sink.wait_for(count, timeout=60)
    wall, cpu = loop.time() - started, cpu_seconds() - cpu
    arrivals = await sink.arrivals()
    return Sample(count, wall, [a.at - started for a in arrivals], cpu)


async def _delivered(store: Store, exporter: Exporter) -> int:
    return (await observe(store, [exporter]))[exporter.uid].delivered


async def _provisio_delivers(store: Store, exporter: Exporter, sink: Sink, count: int) -> None:
    """Relay and dispatcher running, until the sink has `count` more webhooks and then the
    database counts `count` more deliveries (asked only then: polling it all along would
    compete with the dispatcher for the database)."""
    target = await _delivered(store, exporter) + count
    stop = asyncio.Event()
    dispatcher = Dispatcher(
        store,
        POLICY,
        DEFAULTS.schedule,
        timeout=DEFAULTS.delivery_timeout,
        poll_interval=DEFAULTS.relay_poll_interval,
    )
    tasks = [
        asyncio.create_task(Relay(store, DEFAULTS.relay_poll_interval).run(stop)),
        asyncio.create_task(dispatcher.run(stop)),
    ]
    try:
        await sink.wait_for(count, timeout=120)
        deadline = asyncio.get_running_loop().time() + 120
        while await _delivered(store, exporter) < target:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the dispatcher did not record every delivery in 120 s")
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def _queued_events(tenant: Tenant, after: int) -> tuple[list[Signed], int]:
    """The tenant's Created events after feed position `after`, as the feed serves them."""
    events: list[Signed] = []
    while page := await read_feed(
        tenant.store,
        tenant.principal,
        organization_uid=None,
        after=after,
        limit=FEED_PAGE,
        types=[CREATED],
        wait=0,
        poll_interval=1,
    ):
        events.extend(Signed(json.loads(body)["id"], body) for _, body in page)
        after = page[-1][0]
    return events, after


@dataclass(frozen=True)
class DeliveryRun:
    """The comparison, plus how long the relay took to queue each batch (off the clock)."""

    comparison: Comparison
    queue_seconds: Sequence[float]


async def compare_delivery(database: Database, sink: Sink, count: int, rounds: int) -> DeliveryRun:
    """Per round: `bulk_create` `count` recipes, let the relay queue their Created events for
    one exporter, then deliver them both ways, alternating which side goes first."""
    store = Store.open(database.url)
    try:
        await migrate(store.backend)
        tenant = await Tenant.create(store)
        spec = ExporterSpec("bench", (CREATED,), sink.url, SECRET, enabled=True)
        exporter = await create_exporter(store, tenant.principal, spec, POLICY)
        relay, cursor = Relay(store, DEFAULTS.relay_poll_interval), 0
        measured: dict[str, list[Sample]] = {"reference": [], "provisio": []}
        queue_seconds: list[float] = []
        for round_number in range(rounds):
            await import_recipes(tenant, bulk_fields(count))
            started = time.perf_counter()
            await relay.drain()
            queue_seconds.append(time.perf_counter() - started)
            events, cursor = await _queued_events(tenant, cursor)
            if len(events) != count:
                raise RuntimeError(f"expected {count} queued events, found {len(events)}")

            async def reference(events: Sequence[Signed] = events) -> None:
                await post_all(sink.url, exporter.uid, events)

            async def provisio() -> None:
                await _provisio_delivers(store, exporter, sink, count)

            sides = [("reference", reference), ("provisio", provisio)]
            for side, work in sides if round_number % 2 == 0 else sides[::-1]:
                measured[side].append(await drained(sink, count, work))
    finally:
        await store.close()
    comparison = Comparison(
        f"webhook delivery {count:,} events",
        database.engine,
        IN_FLIGHT,
        "webhooks/s",
        Sample.merge(measured["reference"]),
        Sample.merge(measured["provisio"]),
    )
    return DeliveryRun(comparison, queue_seconds)
