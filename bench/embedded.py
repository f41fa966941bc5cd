"""Commit → webhook latency through real provisio processes: one embedded `provisio serve`
(API, relay and dispatcher in one process), or the scale-out layout on PostgreSQL (API
processes with `--no-background` and `provisio worker` processes on one database).

The bench talks to the server over HTTP only, as a customer's CMS would: it bootstraps a
tenant with `provisio admin bootstrap`, creates recipes and an exporter through the API, and
then either keeps an open-loop stream of recipe PUTs going (each PUT is sent at its scheduled
moment whether or not earlier ones have been answered, so a slow server cannot slow the load
down and hide its own latency) or posts one large bulk import.
"""

import asyncio
import json
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.delivery import IN_FLIGHT, SECRET, Signed, drained, post_all
from bench.engines import Database
from bench.report import LatencyComparison, Sample
from bench.scenarios import CREATED, UPDATED, bulk_fields
from bench.sink import Arrival, Sink

RECIPES = 1000
"""Recipes the PUTs are spread over: at 200/s each one changes every 5 s, so PUTs seldom wait
for another PUT's row lock and the webhooks of one recipe seldom wait for the previous one."""
UPDATE_TARGET_MS = 50.0
BURST_TARGET_MS = 250.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def provisio_command(*args: str) -> list[str]:
    """The `provisio` console script of the interpreter running the bench."""
    return [str(Path(sys.executable).with_name("provisio")), *args]


@dataclass(frozen=True)
class Layout:
    """Which provisio processes serve the bench: one embedded `provisio serve` (API, relay and
    dispatcher in one process), or scale-out API processes (`serve --no-background`) and
    `provisio worker` processes on one PostgreSQL database."""

    apis: int = 1
    workers: int = 0
    """0: embedded (the API process runs the relay and the dispatcher itself)."""

    @property
    def suffix(self) -> str:
        """What the rows of this layout add to their benchmark name."""
        return f" (scale-out {self.apis}+{self.workers})" if self.workers else ""


EMBEDDED = Layout()


@dataclass
class _Running:
    """A provisio subprocess and the file its output goes to (shown if it dies)."""

    name: str
    process: asyncio.subprocess.Process
    log: Any

    def check(self) -> None:
        if self.process.returncode is not None:
            self.log.seek(0)
            output = self.log.read().decode()[-3000:]
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{output}")


@dataclass
class Server:
    """The running provisio processes and a client holding the tenant's token."""

    bases: Sequence[str]
    """Each API process's URL; `call(..., via=n)` picks `bases[n % len(bases)]`."""
    session: aiohttp.ClientSession
    tenant: dict[str, Any]
    """What `provisio admin bootstrap --json` printed: companyUid, organizationUid, accountId,
    token."""
    processes: Sequence[_Running] = ()
    cursor: int = 0
    """The feed position up to which the relay is known to have caught up."""

    async def caught_up(self, count: int) -> None:
        """Until the relay has given `count` more events feed positions (read from the feed).

        The relay decides which exporters get an event when it positions it, not when it is
        committed: an exporter enabled before the relay reaches an event committed while it
        was off or absent receives it. So every exporter change waits for this first.
        """
        while count > 0:
            for running in self.processes:  # a dead worker would leave this waiting forever
                running.check()
            page = await self.call(
                "GET", f"/v1/event-stream/events?after={self.cursor}&limit=1000&wait=5"
            )
            count -= len(page)
            self.cursor = page[-1]["position"] if page else self.cursor

    async def call(
        self, method: str, path: str, body: Any = None, expect: int = 200, via: int = 0
    ) -> Any:
        base = self.bases[via % len(self.bases)]
        async with self.session.request(method, base + path, json=body) as response:
            if response.status != expect:
                raise RuntimeError(f"{method} {path}: {response.status} {await response.text()}")
            return await response.json() if response.status != 204 else None


async def _provisio(*args: str) -> bytes:
    """Run a `provisio` command to completion; its standard output."""
    command = await asyncio.create_subprocess_exec(
        *provisio_command(*args), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await command.communicate()
    if command.returncode != 0:
        raise RuntimeError(f"provisio {' '.join(args[:2])} failed")
    return out


@asynccontextmanager
async def started(name: str, command: Sequence[str]) -> AsyncIterator[_Running]:
    """A long-running command (`provisio_command(...)` for provisio's) with webhooks allowed to
    loopback over plain HTTP and no rate limit, its output in a log file; stopped with SIGTERM
    afterwards (graceful for `serve` and `worker` alike)."""
    env = os.environ | {
        "PROVISIO_WEBHOOK_ALLOW_HTTP": "true",
        "PROVISIO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROVISIO_RATE_LIMIT": "0",
    }
    with tempfile.TemporaryFile() as log:
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            yield _Running(name, process, log)
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), timeout=30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


@asynccontextmanager
async def serving(database: Database, layout: Layout = EMBEDDED) -> AsyncIterator[Server]:
    """`layout`'s processes over `database`, API processes on free loopback ports.

    `provisio migrate` runs first and `provisio admin bootstrap` makes the tenant; then every
    process starts with `--no-migrate` (workers never migrate). Embedded: one `provisio serve`.
    Scale-out: `provisio serve --no-background` per API process and `provisio worker` per
    worker.
    """
    await _provisio("migrate", "--database-url", database.url)
    made = json.loads(
        await _provisio(
            "admin",
            "bootstrap",
            "--company",
            "Bench Co",
            "--org",
            "Bench Lobby",
            "--json",
            "--database-url",
            database.url,
        )
    )
    api_only = ["--no-background"] if layout.workers else []
    async with AsyncExitStack() as stack:
        apis: list[tuple[str, _Running]] = []
        for number in range(layout.apis):
            port = free_port()
            args = ["serve", "--port", str(port), "--database-url", database.url, "--no-migrate"]
            running = await stack.enter_async_context(
                started(f"provisio serve #{number + 1}", provisio_command(*args, *api_only))
            )
            apis.append((f"http://127.0.0.1:{port}", running))
        workers = [
            await stack.enter_async_context(
                started(
                    f"provisio worker #{number + 1}",
                    provisio_command("worker", "--database-url", database.url),
                )
            )
            for number in range(layout.workers)
        ]
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, or a request can
        # race the server's close and be reset.
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=2)
        headers = {"X-Auth": made["token"]}
        session = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, headers=headers)
        )
        for base, running in apis:
            await until_up(session, base, running)
        for running in workers:
            running.check()
        yield Server([base for base, _ in apis], session, made, [r for _, r in apis] + workers)


async def until_up(session: aiohttp.ClientSession, base: str, running: _Running) -> None:
    for _ in range(600):
        running.check()
        try:
            async with session.get(base + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{running.name} did not answer /healthz within 30 s")


Send = Callable[[int, float], Coroutine[Any, Any, None]]
"""One request of an open-loop load: its number and the moment it was due."""


async def open_loop(rate: float, seconds: float, send: Send) -> float:
    """Start `send` at `rate` per second for `seconds`, each at its due moment without waiting
    for earlier ones; waits for all of them. Returns the first due moment (`loop.time()`)."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05
    tasks: list[asyncio.Task[None]] = []
    for number in range(round(rate * seconds)):
        due = start + number / rate
        if (pause := due - loop.time()) > 0:
            await asyncio.sleep(pause)
        tasks.append(asyncio.create_task(send(number, due)))
    await asyncio.gather(*tasks)
    return start


class UpdateLoad:
    """Recipe PUTs changing `deviceName` (unique per PUT, so each webhook names its PUT),
    taking turns over the API processes."""

    def __init__(self, server: Server, uids: list[str]) -> None:
        self._server = server
        self._uids = uids
        self._batch = 0

    async def run(self, rate: float, seconds: float) -> tuple[float, dict[str, float], list[float]]:
        """The first due moment, each PUT's due moment by the name it set, and each PUT's
        round trip (due → response read)."""
        self._batch += 1
        due_by_name: dict[str, float] = {}
        round_trips: list[float] = []
        loop = asyncio.get_running_loop()

        async def put(number: int, due: float) -> None:
            name = f"bench {self._batch}-{number}"
            due_by_name[name] = due
            uid = self._uids[number % len(self._uids)]
            path = f"/v1/provisioning-recipe/{uid}"
            await self._server.call("PUT", path, {"deviceName": name}, via=number)
            round_trips.append(loop.time() - due)

        start = await open_loop(rate, seconds, put)
        return start, due_by_name, round_trips


def _matched(arrivals: list[Arrival], due_by_name: dict[str, float]) -> list[float]:
    """Each PUT's webhook arrival after its due moment (one per PUT, or the run is void)."""
    latencies = [
        a.at - due_by_name[a.device_name]
        for a in arrivals
        if a.event_type == UPDATED and a.device_name in due_by_name
    ]
    if len(latencies) != len(due_by_name):
        raise RuntimeError(f"{len(latencies)} webhooks for {len(due_by_name)} PUTs")
    return latencies


@dataclass(frozen=True)
class EmbeddedPlan:
    """PUT rates (each for `seconds` per side, split over `rounds`), then one burst."""

    rates: Sequence[int]
    seconds: float
    rounds: int
    burst_rows: int


async def _exporter(server: Server, sink: Sink) -> str:
    body = {
        "name": "bench",
        "subscribedEventTypes": [CREATED, UPDATED],
        "enabled": True,
        "config": {
            "configType": "webhook",
            "url": sink.url,
            "auth": {
                "authType": "httpSignedBody",
                "signing": {"algorithm": "HS256", "secret": SECRET},
            },
        },
    }
    made = await server.call("POST", "/v1/event-stream/exporter", body, expect=201)
    return str(made["uid"])


async def _enable(server: Server, exporter_uid: str, enabled: bool) -> None:
    await server.call("PUT", f"/v1/event-stream/exporter/{exporter_uid}", {"enabled": enabled})


async def compare_updates_to_webhooks(
    server: Server,
    sink: Sink,
    engine: str,
    exporter_uid: str,
    uids: list[str],
    rate: int,
    plan: EmbeddedPlan,
    layout: Layout = EMBEDDED,
) -> LatencyComparison:
    """PUT → webhook at `rate` against PUT → response with the exporter disabled (no
    deliveries queued, everything else the same), rounds alternating which goes first."""
    load = UpdateLoad(server, uids)
    seconds = plan.seconds / plan.rounds
    await _enable(server, exporter_uid, True)
    await sink.mark()
    _, warm, _ = await load.run(rate, 1.0)
    await sink.wait_for(len(warm), timeout=30)
    await server.caught_up(len(warm))

    async def reference() -> Sample:
        await _enable(server, exporter_uid, False)
        start, _, round_trips = await load.run(rate, seconds)
        wall = asyncio.get_running_loop().time() - start  # the load waits for every answer
        await server.caught_up(len(round_trips))
        return Sample(len(round_trips), wall, round_trips)

    async def provisio() -> Sample:
        await _enable(server, exporter_uid, True)
        await sink.mark()
        start, due_by_name, _ = await load.run(rate, seconds)
        await sink.wait_for(len(due_by_name), timeout=60)
        arrivals = await sink.arrivals()
        latencies = _matched(arrivals, due_by_name)
        await server.caught_up(len(latencies))
        return Sample(len(latencies), max(a.at for a in arrivals) - start, latencies)

    measured: dict[str, list[Sample]] = {"reference": [], "provisio": []}
    sides = [("reference", reference), ("provisio", provisio)]
    for round_number in range(plan.rounds):
        for side, run in sides if round_number % 2 == 0 else sides[::-1]:
            measured[side].append(await run())
    return LatencyComparison(
        "recipe PUT → webhook" + layout.suffix,
        engine,
        f"{rate:g} PUTs/s x {plan.seconds:g} s",
        "PUT → response, exporter off",
        Sample.merge(measured["reference"]),
        Sample.merge(measured["provisio"]),
        UPDATE_TARGET_MS,
    )


async def compare_burst(
    server: Server,
    sink: Sink,
    engine: str,
    exporter_uid: str,
    rows: int,
    layout: Layout = EMBEDDED,
) -> LatencyComparison:
    """A bulk import of `rows`: each Created webhook's arrival after the import's response,
    against the same bodies POSTed by the bare aiohttp loop from a standing start."""
    await _enable(server, exporter_uid, True)
    await sink.mark()
    loop = asyncio.get_running_loop()
    result = await server.call("POST", "/v1/provisioning-recipe/bulk", bulk_fields(rows))
    answered = loop.time()
    if result["created"] != rows:
        raise RuntimeError(f"bulk import refused rows: {result['failed'][:3]}")
    await sink.wait_for(rows, timeout=120)
    await server.caught_up(rows)
    arrivals = [a for a in await sink.arrivals() if a.event_type == CREATED]
    latencies = [a.at - answered for a in arrivals]
    provisio = Sample(rows, max(latencies), latencies)
    events = [Signed(a.event_id, a.body.encode()) for a in arrivals]

    async def bare() -> None:
        await post_all(sink.url, exporter_uid, events)

    reference = await drained(sink, rows, bare)
    return LatencyComparison(
        f"bulk import {rows:,} → webhooks" + layout.suffix,
        engine,
        f"{IN_FLIGHT} in flight",
        f"bare aiohttp POST loop, {IN_FLIGHT} in flight",
        reference,
        provisio,
        BURST_TARGET_MS,
    )


async def compare_embedded(
    database: Database, sink: Sink, plan: EmbeddedPlan, layout: Layout = EMBEDDED
) -> list[LatencyComparison]:
    """The latency rows on one set of `layout`'s processes: the PUT loads first, then the
    burst (posted to the first API process)."""
    async with serving(database, layout) as server:
        created = await server.call("POST", "/v1/provisioning-recipe/bulk", bulk_fields(RECIPES))
        await server.caught_up(RECIPES)  # positioned before the exporter exists: not delivered
        exporter_uid = await _exporter(server, sink)
        uids = list(created["uids"])
        engine = database.engine
        rows = [
            await compare_updates_to_webhooks(
                server, sink, engine, exporter_uid, uids, rate, plan, layout
            )
            for rate in plan.rates
        ]
        rows.append(
            await compare_burst(server, sink, engine, exporter_uid, plan.burst_rows, layout)
        )
    return rows
