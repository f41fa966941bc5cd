"""Scale-out under failure, with real processes: two `provisio serve --no-background` and two
`provisio worker` over one private PostgreSQL database, a private NATS JetStream server, and
thousands of concurrent recipe writes through both APIs while one worker is killed with SIGKILL
and the NATS server is restarted.

What must hold afterwards: every event of the feed reached the webhook receiver (at least once,
every request signed correctly); per recipe, first arrivals came in feed order with increasing
sequence numbers; readers paging the feed during the run saw every event exactly once, in
order; and JetStream holds every event exactly once, in feed order.
"""

import asyncio
import itertools
import json
import shutil
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from nats.js.errors import NotFoundError

from provisio.domain.events import EVENT_TYPES
from tests.cli.live import LiveServer, free_port
from tests.conftest import POSTGRES_URL, Tenant
from tests.processes import (
    Running,
    eventually,
    provisio_json,
    run_provisio,
    start,
    until,
    wait_serving,
)
from tests.support import assert_valid_event, private_postgres_database
from tests.webhooks.receiver import Delivery, WebhookReceiver

pytestmark = pytest.mark.skipif(
    POSTGRES_URL is None, reason="PROVISIO_TEST_POSTGRES_URL is not set: scale-out needs it"
)

NATS_SERVER = "/usr/sbin/nats-server"
STREAM = "PROVISIO_EVENTS"
SECRET = "scaleout-test-secret-0123456789abcdef"
RECIPES = 500
UPDATES = 3
"""Each recipe is created, then renamed this many times."""
EVENTS = RECIPES * (1 + UPDATES)
CONCURRENCY = 32
"""Recipes being written at once, across both API processes."""
SETTLE = 90.0
"""Seconds a stage gets to finish after the last write, on a busy 2-core machine."""

Feed = list[dict[str, Any]]
"""Feed items as the API answers them: `{"position": n, "event": {...}}`, in order."""


@dataclass
class Nats:
    """A private nats-server with JetStream, restartable on the same port and store."""

    logs: Path
    port: int = field(default_factory=free_port)
    process: Running | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        store = self.logs / "jetstream"
        args = ["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(store)]
        self.process = start("nats", args, {}, self.logs, program=NATS_SERVER)
        until(self._accepting, f"nats-server on port {self.port}")

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def _accepting(self) -> bool:
        assert self.process is not None
        assert self.process.alive, f"nats-server exited:\n{self.process.output()}"
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(4) == b"INFO"
        except OSError:
            return False


@dataclass
class Cluster:
    apis: list[LiveServer]
    workers: list[Running]
    nats: Nats
    receiver: WebhookReceiver


@pytest.fixture
def database() -> Iterator[str]:
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_scaleout") as url:
        yield url


@pytest.fixture
async def cluster(database: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Every process started and the exporter created; all stopped at the end, their output
    shown when the test fails."""
    assert shutil.which(NATS_SERVER), f"{NATS_SERVER} is missing: scale-out needs it"
    with ExitStack() as running:
        running.callback(_show_logs, tmp_path)
        nats_server = Nats(tmp_path)
        running.callback(nats_server.stop)
        await asyncio.to_thread(nats_server.start)
        env = {
            "PROVISIO_DATABASE_URL": database,
            "PROVISIO_NATS_URL": nats_server.url,
            "PROVISIO_WEBHOOK_ALLOW_HTTP": "true",
            "PROVISIO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PROVISIO_DELIVERY_LEASE": "3",
            "PROVISIO_DELIVERY_TIMEOUT": "2",
            "PROVISIO_RETRY_SCHEDULE": "0,0.2,0.5,1,1,1,1,1,1,1",
            "PROVISIO_RATE_LIMIT": "0",
        }
        run_provisio(["migrate"], env)  # once, so that the processes do not race to do it
        made = provisio_json(["admin", "bootstrap", "--company", "A", "--org", "B", "--json"], env)
        tenant = Tenant(
            made["companyUid"], made["organizationUid"], made["accountId"], made["token"]
        )
        servers: list[tuple[Running, LiveServer]] = []
        for n in range(2):
            port = free_port()
            args = ["serve", "--no-background", "--no-migrate", "--port", str(port)]
            process = start(f"serve-{n}", args, env, tmp_path)
            running.callback(process.stop)
            servers.append((process, LiveServer(f"http://127.0.0.1:{port}", database, tenant)))
        workers = []
        for n in range(2):
            worker_env = {**env, "PROVISIO_WORKER_ID": f"worker-{n}"}
            workers.append(start(f"worker-{n}", ["worker"], worker_env, tmp_path))
            running.callback(workers[-1].stop)
        for process, api in servers:
            await asyncio.to_thread(wait_serving, process, api.url)
        apis = [api for _, api in servers]
        async with WebhookReceiver(secret=SECRET) as receiver:
            await asyncio.to_thread(_create_exporter, apis[0], receiver.url)
            yield Cluster(apis, workers, nats_server, receiver)


def _create_exporter(api: LiveServer, url: str) -> None:
    config = {
        "configType": "webhook",
        "url": url,
        "auth": {"authType": "httpSignedBody", "signing": {"algorithm": "HS256", "secret": SECRET}},
    }
    body = {"name": "cms", "subscribedEventTypes": list(EVENT_TYPES), "enabled": True}
    api.ok("POST", "/v1/event-stream/exporter", {**body, "config": config})


def _show_logs(logs: Path) -> None:
    """Printed at teardown: pytest shows it when the test failed."""
    for log in sorted(logs.glob("*.log")):
        print(f"----- {log.name} (last 40 lines)")
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


async def test_nothing_is_lost_reordered_or_duplicated(cluster: Cluster) -> None:
    urls = [api.url for api in cluster.apis]
    # The killed worker stays dead: the other one must take over the deliveries it had leased
    # once their lease (PROVISIO_DELIVERY_LEASE) runs out.
    faults = {
        EVENTS // 3: _kill(cluster.workers[0]),
        2 * EVENTS // 3: _restart(cluster.nats),
    }
    async with aiohttp.ClientSession(headers=cluster.apis[0].tenant.headers) as session:
        readers = [asyncio.create_task(_follow(session, url)) for url in urls]
        await _write(session, urls, faults)
        feed = await asyncio.to_thread(cluster.apis[1].events, EVENTS, SETTLE)
        assert len(feed) == EVENTS
        async with asyncio.timeout(SETTLE):
            seen = await asyncio.gather(*readers)
    assert cluster.workers[0].popen.returncode == -9, "the fault never fired"

    _assert_gapless(feed, seen)
    await _assert_delivered(cluster.receiver, feed)
    await _assert_published(cluster.nats.url, feed, cluster.apis[0].tenant.organization_uid)


def _kill(worker: Running) -> Callable[[], Coroutine[Any, Any, None]]:
    async def fault() -> None:
        worker.kill()

    return fault


def _restart(server: Nats) -> Callable[[], Coroutine[Any, Any, None]]:
    async def fault() -> None:
        await asyncio.to_thread(server.restart)

    return fault


async def _write(
    session: aiohttp.ClientSession,
    urls: list[str],
    faults: dict[int, Callable[[], Coroutine[Any, Any, None]]],
) -> None:
    """Create RECIPES recipes and rename each UPDATES times, through both APIs in turn,
    CONCURRENCY recipes at a time; each fault starts once that many writes have been answered."""
    answered = itertools.count(1)
    fired: list[asyncio.Task[None]] = []

    async def write(method: str, url: str, body: dict[str, Any]) -> Any:
        async with session.request(method, url, json=body) as response:
            answer = await response.json()
            assert response.status in (200, 201), (method, url, response.status, answer)
        fault = faults.get(next(answered))
        if fault is not None:
            fired.append(asyncio.create_task(fault()))
        return answer

    async def recipe(n: int) -> None:
        created = await write(
            "POST",
            f"{urls[n % 2]}/v1/provisioning-recipe",
            {"brand": "lg", "serialNumber": f"SN-{n}"},
        )
        for update in range(UPDATES):
            url = f"{urls[(n + update + 1) % 2]}/v1/provisioning-recipe/{created['uid']}"
            await write("PUT", url, {"deviceName": f"screen {n}.{update}"})

    slots = asyncio.Semaphore(CONCURRENCY)

    async def bounded(n: int) -> None:
        async with slots:
            await recipe(n)

    await asyncio.gather(*(bounded(n) for n in range(RECIPES)))
    await asyncio.gather(*fired)


async def _follow(session: aiohttp.ClientSession, url: str) -> Feed:
    """Page through the feed with long-polls while it is being written, until it holds EVENTS."""
    seen: Feed = []
    while len(seen) < EVENTS:
        after = seen[-1]["position"] if seen else 0
        params = {"after": after, "limit": 500, "wait": 2}
        async with session.get(f"{url}/v1/event-stream/events", params=params) as response:
            assert response.status == 200, await response.text()
            seen += await response.json()
    return seen


def _assert_gapless(feed: Feed, seen: list[Feed]) -> None:
    positions = [item["position"] for item in feed]
    assert all(a < b for a, b in itertools.pairwise(positions)), "positions not increasing"
    assert len({item["event"]["id"] for item in feed}) == EVENTS, "an event appears twice"
    for item in feed:
        assert_valid_event(item["event"])
    for reader in seen:
        assert reader == feed, "a reader paging during the writes saw another sequence"


async def _assert_delivered(receiver: WebhookReceiver, feed: Feed) -> None:
    ids = [item["event"]["id"] for item in feed]

    async def all_arrived() -> bool:
        return set(ids) <= {d.event_id for d in receiver.deliveries() if d.ok}

    await eventually(all_arrived, f"all {EVENTS} events delivered", SETTLE)
    deliveries = receiver.deliveries()
    unverified = [d.verification_error for d in deliveries if not d.verified]
    assert not unverified, unverified[:5]
    first: dict[str | None, Delivery] = {}
    for delivery in deliveries:
        first.setdefault(delivery.event_id, delivery)
        assert delivery.sequence == first[delivery.event_id].sequence, "a retry changed it"
    assert set(first) == set(ids), "deliveries of events the feed does not have"

    in_feed_order: dict[str, list[str]] = defaultdict(list)
    for item in feed:
        in_feed_order[item["event"]["payload"]["uid"]].append(item["event"]["id"])
    arrivals: dict[str | None, list[Delivery]] = defaultdict(list)
    for delivery in first.values():  # in order of first arrival
        arrivals[delivery.uid].append(delivery)
    for uid, expected in in_feed_order.items():
        arrived = arrivals[uid]
        assert [d.event_id for d in arrived] == expected, f"recipe {uid} out of order"
        sequences = [d.sequence or 0 for d in arrived]
        assert all(a < b for a, b in itertools.pairwise(sequences)), (uid, sequences)


async def _assert_published(url: str, feed: Feed, organization_uid: str) -> None:
    """The stream holds every event exactly once, in feed order, with its envelope bytes."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()

        async def complete() -> bool:
            try:
                info = await js.stream_info(STREAM)
            except NotFoundError:
                return False
            return (info.state.messages or 0) >= EVENTS

        await eventually(complete, f"stream {STREAM} holding {EVENTS} messages", SETTLE)
        info = await js.stream_info(STREAM)
        first, last = info.state.first_seq or 1, info.state.last_seq or 0
        messages = [await js.get_msg(STREAM, seq) for seq in range(first, last + 1)]
    finally:
        await client.close()
    assert [(m.headers or {}).get("Nats-Msg-Id") for m in messages] == [
        item["event"]["id"] for item in feed
    ]
    assert [m.subject for m in messages] == [
        f"provisio.events.{organization_uid}.{item['event']['type']}" for item in feed
    ]
    assert [json.loads(m.data or b"") for m in messages] == [item["event"] for item in feed]
