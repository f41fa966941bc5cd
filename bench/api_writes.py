"""Recipe PUTs over HTTP against the same transaction in a minimal FastAPI app.

One embedded `provisio serve` (API, relay and dispatcher, as `make run` starts it) and the
reference app of `bench.bare_app` run side by side on the same scratch database; 16 keep-alive
clients each PUT a new `deviceName` to their own recipe, back to back, for a few seconds, first
to one server, then to the other (rounds alternate who goes first). The server's CPU per PUT is
read from /proc, so the rows show where the time goes, not only how much.
"""

import asyncio
import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter

import aiohttp

from bench.embedded import Server, free_port, serving, started, until_up
from bench.engines import Database
from bench.report import Comparison, Sample

CLIENTS = 16


def _cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Load:
    """`CLIENTS` closed-loop writers, each on its own recipe."""

    def __init__(self, session: aiohttp.ClientSession, uids: Sequence[str]) -> None:
        self._session = session
        self._uids = uids
        self._names = itertools.count()

    async def run(self, url: str, pid: int, seconds: float) -> Sample:
        latencies: list[float] = []
        deadline = perf_counter() + seconds

        async def client(uid: str) -> None:
            while perf_counter() < deadline:
                began = perf_counter()
                body = {"deviceName": f"screen {next(self._names)}"}
                async with self._session.put(url.format(uid=uid), json=body) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"PUT {url}: {response.status}")
                latencies.append(perf_counter() - began)

        cpu = _cpu_seconds(pid)
        began = perf_counter()
        await asyncio.gather(*(client(uid) for uid in self._uids))
        wall = perf_counter() - began
        return Sample(len(latencies), wall, latencies, _cpu_seconds(pid) - cpu)


async def _recipes(server: Server, count: int, prefix: str) -> list[str]:
    uids = []
    for n in range(count):
        body = {"brand": "LG", "serialNumber": f"{prefix}-{n}", "deviceName": "seed"}
        made = await server.call("POST", "/v1/provisioning-recipe", body, expect=201)
        uids.append(str(made["uid"]))
    return uids


async def compare_api_writes(database: Database, seconds: float, rounds: int) -> list[Comparison]:
    """provisio's PUT against the bare-driver app's, and against the HTTP no-op floor."""
    async with serving(database) as server:
        tenant = server.tenant
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "bench.bare_app",
            str(port),
            database.url,
            tenant["organizationUid"],
            tenant["companyUid"],
            str(tenant["accountId"]),
        ]
        async with started("bench.bare_app", command) as bare:
            bare_base = f"http://127.0.0.1:{port}"
            await until_up(server.session, bare_base, bare)
            provisio_load = _Load(server.session, await _recipes(server, CLIENTS, "API-P"))
            bare_load = _Load(server.session, await _recipes(server, CLIENTS, "API-R"))
            targets = {
                "provisio": (
                    provisio_load,
                    server.bases[0] + "/v1/provisioning-recipe/{uid}",
                    server.processes[0].process.pid,
                ),
                "bare": (bare_load, bare_base + "/update/{uid}", bare.process.pid),
                "noop": (bare_load, bare_base + "/noop/{uid}", bare.process.pid),
            }
            for load, url, pid in targets.values():  # warm-up: connections, statement caches
                await load.run(url, pid, 0.5)
            measured: dict[str, list[Sample]] = {side: [] for side in targets}
            order = list(targets)
            for round_number in range(rounds):
                for side in order if round_number % 2 == 0 else order[::-1]:
                    load, url, pid = targets[side]
                    measured[side].append(await load.run(url, pid, seconds / rounds))
    merged = {side: Sample.merge(samples) for side, samples in measured.items()}
    return [
        Comparison(
            "recipe PUT over HTTP vs bare-driver app",
            database.engine,
            CLIENTS,
            "PUT/s",
            merged["bare"],
            merged["provisio"],
        ),
        Comparison(
            "recipe PUT over HTTP vs HTTP no-op",
            database.engine,
            CLIENTS,
            "PUT/s",
            merged["noop"],
            merged["provisio"],
        ),
    ]
