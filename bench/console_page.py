"""The console's Recipes page with a small and a big organization: does it stay fast as the
organization grows?

One embedded `provisio serve` over one scratch database with two organizations: a small one
(1,000 recipes) and a big one (100,000). Their recipes go in through the bare driver (as
`bench.matching` stores them: `COPY` on PostgreSQL, `executemany` on SQLite; a third of them
then Applied), the per-status counters are set from them as migration 0015 sets them, and
nothing runs `ANALYZE`. A signed-in browser-like client (the session cookie of each
organization's token) then GETs each page variant one request at a time, alternating the two
organizations round by round, so each side sees the same machine. The reference is the small
organization's page: the ratio is its p99 over the big one's (1.00 = the page does not slow
down with the organization's size).
"""

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from time import perf_counter

import aiohttp

from bench.embedded import provisio_command, serving
from bench.engines import Database
from bench.matching import seed_recipes
from bench.report import LatencyComparison, Sample

SMALL = 1_000
TARGET_P99_MS = 100.0
VARIANTS = {
    "Recipes page": "/console/recipes",
    "Recipes page, Failed only": "/console/recipes?status=Failed",
    "Recipes page, search by MAC": "/console/recipes?q=0a00.0000.0101",
    "Recipes live part": "/console/recipes/live",
}
"""What an operator opens, filters, searches and (every second) polls. The search's MAC is
the 257th filler recipe's (`bench.matching.filler`), in another spelling."""

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

_RECOUNT = (
    "INSERT INTO recipe_counts (organization_uid, status, stripe, count)"
    " SELECT organization_uid, status, 0, COUNT(*) FROM recipes"
    " WHERE organization_uid = $1 GROUP BY organization_uid, status"
)


@dataclass(frozen=True)
class ConsolePlan:
    small: int = SMALL
    big: int = 100_000
    requests: int = 1000
    """GETs per variant per organization, split over `rounds`."""
    rounds: int = 2


async def _bootstrap(database: Database, company: str) -> dict[str, str]:
    command = await asyncio.create_subprocess_exec(
        *provisio_command(
            "admin", "bootstrap", "--company", company, "--org", company, "--json",
            "--database-url", database.url,
        ),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await command.communicate()
    if command.returncode != 0:
        raise RuntimeError("provisio admin bootstrap failed")
    made: dict[str, str] = json.loads(out)
    return made


async def _fill(database: Database, organization_uid: str, count: int) -> None:
    """`count` recipes, every third Applied, and the counters that say so."""
    await seed_recipes(database, organization_uid, count)
    raw = await database.connect()
    try:
        await raw.begin()
        await raw.execute(
            "UPDATE recipes SET status = 'Applied' WHERE organization_uid = $1 AND id % 3 = 0",
            organization_uid,
        )
        await raw.execute("DELETE FROM recipe_counts WHERE organization_uid = $1", organization_uid)
        await raw.execute(_RECOUNT, organization_uid)
        await raw.commit()
    finally:
        await raw.close()


async def _signed_in(base: str, token: str) -> aiohttp.ClientSession:
    """A client holding a console session of `token` (cookies of a loopback address kept)."""
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with client.get(f"{base}/console/sign-in") as page:
        found = _CSRF.search(await page.text())
    if found is None:
        raise RuntimeError("the sign-in page has no CSRF token")
    form = {"token": token, "csrf_token": found.group(1)}
    async with client.post(f"{base}/console/sign-in", data=form) as answer:
        text = await answer.text()
        if answer.status != 200 or "Sign out" not in text:
            raise RuntimeError(f"console sign-in failed: {answer.status}")
    return client


async def _gets(client: aiohttp.ClientSession, url: str, count: int) -> Sample:
    latencies: list[float] = []
    began = perf_counter()
    for _ in range(count):
        start = perf_counter()
        async with client.get(url) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status}")
        latencies.append(perf_counter() - start)
    return Sample(count, perf_counter() - began, latencies)


async def compare_console_page(database: Database, plan: ConsolePlan) -> list[LatencyComparison]:
    async with serving(database) as server:
        small = server.tenant
        big = await _bootstrap(database, "Bench Big Co")
        await _fill(database, small["organizationUid"], plan.small)
        await _fill(database, big["organizationUid"], plan.big)
        base = server.bases[0]
        clients = {
            "small": await _signed_in(base, small["token"]),
            "big": await _signed_in(base, big["token"]),
        }
        try:
            measured: dict[tuple[str, str], list[Sample]] = {}
            for name, path in VARIANTS.items():
                for client in clients.values():  # warm-up: connections, caches
                    await _gets(client, base + path, 20)
                for round_number in range(plan.rounds):
                    order: Sequence[str] = ("big", "small")
                    for side in order if round_number % 2 == 0 else order[::-1]:
                        sample = await _gets(
                            clients[side], base + path, plan.requests // plan.rounds
                        )
                        measured.setdefault((name, side), []).append(sample)
        finally:
            for client in clients.values():
                await client.close()
    return [
        LatencyComparison(
            f"{name}, {plan.big:,} vs {plan.small:,} recipes",
            database.engine,
            f"1 client x {plan.requests} GETs",
            f"the same page, {plan.small:,} recipes",
            Sample.merge(measured[name, "small"]),
            Sample.merge(measured[name, "big"]),
            TARGET_P99_MS,
        )
        for name in VARIANTS
    ]
