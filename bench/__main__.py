"""`python -m bench`: run every scenario on each engine and print the Markdown tables."""

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from time import perf_counter

import structlog

from bench.api_writes import compare_api_writes
from bench.console_page import ConsolePlan, compare_console_page
from bench.delivery import compare_delivery
from bench.embedded import EmbeddedPlan, Layout, compare_embedded
from bench.engines import DEFAULT_POSTGRES_URL, Database, postgres_database, sqlite_database
from bench.imports import compare_csv_import, steady_import
from bench.matching import compare_matching
from bench.peer import compare_peer
from bench.report import (
    Comparison,
    LatencyComparison,
    cpu_table,
    latency_table,
    machine,
    table,
)
from bench.scenarios import compare_registrations, compare_updates, open_tenant
from bench.sink import Mode, Sink
from provisio.collector import freeze_startup

ENGINES = ("sqlite", "postgresql")
SUITES = ("writes", "pipeline", "console")


@dataclass(frozen=True)
class Plan:
    """How much work each scenario does; `--quick` shrinks it to a smoke run."""

    engines: Sequence[str]
    postgres_url: str
    writers: Sequence[int]
    updates: int
    registrations: int
    rounds: int
    bulk_rows: int
    bulk_repeats: int
    api_seconds: float
    """Seconds of PUTs per side of the API-write rows, split over `rounds`."""
    matching_recipes: int
    steady_rows: int
    steady_batch: int
    suites: Sequence[str]
    delivery_events: int
    delivery_rounds: int
    embedded: EmbeddedPlan
    scale_out: Layout | None
    """The scale-out layout the pipeline's latency rows also run on (PostgreSQL only)."""
    sink: Mode
    console: ConsolePlan


def _int_list(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers separated by commas")
    return values


def _engine_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(names) - set(ENGINES))
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(ENGINES)}")
    return names


def _suite_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or set(names) - set(SUITES):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SUITES)}")
    return names


def _layout(text: str) -> Layout | None:
    """`APIS+WORKERS` (e.g. `2+1`), or `off`."""
    if text.strip() == "off":
        return None
    try:
        apis, workers = (int(part) for part in text.split("+"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected APIS+WORKERS, e.g. 2+1, or off") from None
    if apis < 1 or workers < 1:
        raise argparse.ArgumentTypeError("at least one API process and one worker")
    return Layout(apis, workers)


def parse_plan(argv: Sequence[str] | None = None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Measure provisio's write paths against the raw limit of the machine: the same "
            "transaction through the bare driver (asyncpg / aiosqlite), in the same run, on the "
            "same scratch database. 'ratio' is provisio's throughput divided by the reference's "
            "(1.00 = at the raw limit). Scenarios: single recipe update "
            "(provisio.service.recipes.update_recipe vs. SELECT [FOR UPDATE], UPDATE, INSERT "
            "event, COMMIT) and device registration that applies a Pending recipe "
            "(provisio.service.devices.register_device vs. SELECT device, SELECT recipe [FOR "
            "UPDATE], INSERT device and MACs, UPDATE recipe, INSERT 3 events, COMMIT) at each "
            "writer count, CSV import (the bulk endpoint's bulk_rows + bulk_create vs. csv + "
            "executemany of the recipe and event rows) and the import rate as one organization "
            "grows (first import vs. last, statistics never refreshed). "
            "The pipeline suite measures webhook delivery throughput (Relay + Dispatcher "
            "vs. a bare aiohttp POST loop) and, through a real `provisio serve`, recipe PUT → "
            "webhook latency under an open-loop load and bulk import → webhook latency; on "
            "PostgreSQL the latency rows run again on the scale-out layout (`provisio serve "
            "--no-background` API processes, the load taking turns over them, and `provisio "
            "worker` processes on one database). The console suite GETs the console's "
            "Recipes page, signed in, for an organization of 100,000 recipes and one of 1,000 "
            "(p99 ratio: does the page slow down as the organization grows?). SQLite "
            "runs on a temporary file; PostgreSQL on a provisio_bench_<random> database created "
            "on the server and dropped afterwards."
        ),
    )
    parser.add_argument(
        "--suites",
        type=_suite_list,
        default=list(SUITES),
        help="comma-separated suites to run (default: writes,pipeline,console)",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="a database to connect to while creating and dropping the scratch one "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--engines",
        type=_engine_list,
        default=list(ENGINES),
        help="comma-separated engines to run (default: sqlite,postgresql)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: few updates and registrations, one small bulk import",
    )
    parser.add_argument(
        "--writers",
        type=_int_list,
        default=[1, 20],
        help="concurrent writers, each on its own recipes and devices, comma-separated "
        "(default: 1,20)",
    )
    parser.add_argument(
        "--updates",
        type=int,
        default=None,
        help="updates per side per writer count (default 2000, --quick 200)",
    )
    parser.add_argument(
        "--registrations",
        type=int,
        default=None,
        help="device registrations per side per writer count (default 1000, --quick 100)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="rounds to split the updates and registrations over, alternating who goes first "
        "(default 2, --quick 1)",
    )
    parser.add_argument(
        "--bulk-rows",
        type=int,
        default=None,
        help="rows per CSV import (default 100000, --quick 100000)",
    )
    parser.add_argument(
        "--bulk-repeats",
        type=int,
        default=None,
        help="CSV imports per side, alternating (default 3, --quick 1)",
    )
    parser.add_argument(
        "--steady-rows",
        type=int,
        default=None,
        help="recipes imported into one organization to see whether the import rate holds "
        "as the table grows (default 1000000, --quick 100000)",
    )
    parser.add_argument(
        "--steady-batch",
        type=int,
        default=None,
        help="rows per import of that run (default 50000, --quick 10000)",
    )
    parser.add_argument(
        "--api-seconds",
        type=int,
        default=None,
        help="seconds of recipe PUTs over HTTP per side (default 20, --quick 4)",
    )
    parser.add_argument(
        "--matching-recipes",
        type=int,
        default=None,
        help="recipes stored before the one-writer registration row (default 1000000, "
        "--quick 100000)",
    )
    parser.add_argument(
        "--delivery-events",
        type=int,
        default=None,
        help="events queued per delivery round (default 5000, --quick 2000)",
    )
    parser.add_argument(
        "--delivery-rounds",
        type=int,
        default=None,
        help="delivery rounds, alternating which side goes first (default 2, --quick 1)",
    )
    parser.add_argument(
        "--update-rates",
        type=_int_list,
        default=None,
        help="recipe PUTs per second of the open-loop load, comma-separated "
        "(default 50,200, --quick 200)",
    )
    parser.add_argument(
        "--update-seconds",
        type=int,
        default=None,
        help="seconds of load per side per rate (default 20 in 2 rounds, --quick 5 in 1)",
    )
    parser.add_argument(
        "--burst-rows",
        type=int,
        default=None,
        help="rows of the bulk import whose webhooks are timed (default 5000, --quick 2000)",
    )
    parser.add_argument(
        "--scale-out",
        type=_layout,
        default=Layout(2, 1),
        metavar="APIS+WORKERS",
        help="API and worker processes of the scale-out latency rows on PostgreSQL, or 'off' "
        "(default: 2+1)",
    )
    parser.add_argument(
        "--console-recipes",
        type=int,
        default=None,
        help="recipes of the big organization of the console rows (default 100000; the small "
        "one has 1000)",
    )
    parser.add_argument(
        "--console-requests",
        type=int,
        default=None,
        help="GETs per console page variant per organization (default 1000, --quick 200)",
    )
    parser.add_argument(
        "--sink",
        choices=("process", "inline"),
        default="process",
        help="run the webhook endpoint in its own process (default) or in the bench's loop",
    )
    args = parser.parse_args(argv)

    def pick(given: int | None, full: int, quick: int) -> int:
        value = given if given is not None else (quick if args.quick else full)
        if value < 1:
            parser.error("counts must be positive")
        return value

    return Plan(
        engines=args.engines,
        postgres_url=args.postgres_url,
        writers=args.writers,
        updates=pick(args.updates, 2000, 200),
        registrations=pick(args.registrations, 1000, 100),
        rounds=pick(args.rounds, 2, 1),
        bulk_rows=pick(args.bulk_rows, 100_000, 100_000),
        bulk_repeats=pick(args.bulk_repeats, 3, 1),
        steady_rows=pick(args.steady_rows, 1_000_000, 100_000),
        steady_batch=pick(args.steady_batch, 50_000, 10_000),
        api_seconds=pick(args.api_seconds, 20, 4),
        matching_recipes=pick(args.matching_recipes, 1_000_000, 100_000),
        suites=args.suites,
        delivery_events=pick(args.delivery_events, 5000, 2000),
        delivery_rounds=pick(args.delivery_rounds, 2, 1),
        embedded=EmbeddedPlan(
            rates=args.update_rates or ([200] if args.quick else [50, 200]),
            seconds=pick(args.update_seconds, 20, 5),
            rounds=1 if args.quick else 2,
            burst_rows=pick(args.burst_rows, 5000, 2000),
        ),
        scale_out=args.scale_out,
        sink=args.sink,
        console=ConsolePlan(
            big=pick(args.console_recipes, 100_000, 100_000),
            requests=pick(args.console_requests, 1000, 200),
            rounds=1 if args.quick else 2,
        ),
    )


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _on_engine(plan: Plan, database: Database) -> list[Comparison]:
    tenant = await open_tenant(database)
    results: list[Comparison] = []
    try:
        for writers in plan.writers:
            _progress(f"  recipe update, {writers} writer(s)")
            results.append(
                await compare_updates(database, tenant, writers, plan.updates, plan.rounds)
            )
        for writers in plan.writers:
            _progress(f"  device registration, {writers} writer(s)")
            results.append(
                await compare_registrations(
                    database, tenant, writers, plan.registrations, plan.rounds
                )
            )
        _progress(f"  one event per command vs eventsourcing, {plan.updates} commands")
        results.append(await compare_peer(database, tenant, plan.updates, plan.rounds))
        _progress(f"  CSV import, {plan.bulk_rows} rows x {plan.bulk_repeats}")
        results.append(
            await compare_csv_import(database, tenant.store, plan.bulk_rows, plan.bulk_repeats)
        )
        _progress(f"  import rate as the table grows to {plan.steady_rows} rows")
        results.append(
            await steady_import(database, tenant.store, plan.steady_rows, plan.steady_batch)
        )
        _progress(f"  device registration among {plan.matching_recipes:,} recipes")
        results.append(
            await compare_matching(
                database, tenant, plan.matching_recipes, plan.registrations, plan.rounds
            )
        )
    finally:
        await tenant.store.close()
    return results


async def _pipeline(
    plan: Plan, database: Callable[[], AbstractAsyncContextManager[Database]], sink: Sink
) -> tuple[Comparison, list[LatencyComparison], str]:
    """Each part on its own scratch database, so neither sees the other's backlog."""
    _progress(f"  webhook delivery, {plan.delivery_events} events x {plan.delivery_rounds}")
    async with database() as scratch:
        delivery = await compare_delivery(scratch, sink, plan.delivery_events, plan.delivery_rounds)
    _progress(
        f"  provisio serve: PUTs at {plan.embedded.rates}/s, burst of {plan.embedded.burst_rows}"
    )
    async with database() as scratch:
        latencies = await compare_embedded(scratch, sink, plan.embedded)
        engine = scratch.engine
    if plan.scale_out is not None and engine == "postgresql":
        layout = plan.scale_out
        _progress(f"  {layout.apis} x provisio serve --no-background + {layout.workers} x worker")
        async with database() as scratch:
            latencies += await compare_embedded(scratch, sink, plan.embedded, plan.scale_out)
    queued = ", ".join(f"{s:.2f}" for s in delivery.queue_seconds)
    note = f"{delivery.comparison.engine}: relay queued each delivery batch in {queued} s"
    return delivery.comparison, latencies, note


async def run(plan: Plan) -> str:
    openers: dict[str, Callable[[], AbstractAsyncContextManager[Database]]] = {
        "sqlite": sqlite_database,
        "postgresql": lambda: postgres_database(plan.postgres_url),
    }
    results: list[Comparison] = []
    api_writes: list[Comparison] = []
    deliveries: list[Comparison] = []
    latencies: list[LatencyComparison] = []
    console: list[LatencyComparison] = []
    notes: list[str] = []
    versions: dict[str, str] = {}
    freeze_startup()  # as `provisio serve` does: full collections walk only what runs make
    load = os.getloadavg()  # other work on the machine moves every figure: record it
    started = perf_counter()
    async with Sink(plan.sink) as sink:
        for engine in plan.engines:
            _progress(f"{engine}:")
            async with openers[engine]() as database:
                label = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[engine]
                versions[label] = database.version
                if "writes" in plan.suites:
                    results.extend(await _on_engine(plan, database))
            if "writes" in plan.suites:
                _progress(f"  recipe PUT over HTTP, {plan.api_seconds} s per side")
                async with openers[engine]() as database:
                    api_writes.extend(
                        await compare_api_writes(database, plan.api_seconds, plan.rounds)
                    )
            if "pipeline" in plan.suites:
                delivery, rows, note = await _pipeline(plan, openers[engine], sink)
                deliveries.append(delivery)
                latencies.extend(rows)
                notes.append(note)
            if "console" in plan.suites:
                _progress(
                    f"  console Recipes page, {plan.console.big:,} vs {plan.console.small:,} "
                    "recipes"
                )
                async with openers[engine]() as database:
                    console.extend(await compare_console_page(database, plan.console))
    elapsed = perf_counter() - started
    parts = [machine(versions, load)]
    if results:
        parts.append(
            f"updates per side per writer count: {plan.updates} over {plan.rounds} round(s); "
            f"registrations per side per writer count: {plan.registrations} over {plan.rounds} "
            "round(s); "
            f"CSV import: {plan.bulk_rows:,} rows x {plan.bulk_repeats} import(s) per side; "
            f"growing table: {plan.steady_rows:,} rows in imports of {plan.steady_batch:,}, "
            "first import (raw column) against last"
        )
        parts.append(table(results))
    if api_writes:
        parts.append(
            f"recipe PUTs over HTTP: {plan.api_seconds} s per side in {plan.rounds} round(s), "
            "16 keep-alive clients, each on its own recipe"
        )
        parts.append(cpu_table(api_writes, "clients", "server"))
    if deliveries:
        parts.append(
            f"event pipeline: {plan.delivery_events:,} events x {plan.delivery_rounds} "
            f"delivery round(s) per side; PUT load {plan.embedded.seconds:g} s per side per "
            f"rate in {plan.embedded.rounds} round(s); burst {plan.embedded.burst_rows:,} rows; "
            f"webhook sink: {plan.sink}; " + "; ".join(notes)
        )
        parts.append(cpu_table(deliveries, "in flight", "bench process"))
        parts.append(latency_table(latencies))
    if console:
        parts.append(
            f"console: {plan.console.requests} GETs per page variant per organization in "
            f"{plan.console.rounds} round(s), one at a time, signed in; the small "
            "organization's page is the reference"
        )
        parts.append(latency_table(console))
    parts.append(f"total run time {elapsed:.0f} s")
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    plan = parse_plan(argv)
    # provisio configures no structlog, so the default applies (timestamp, console rendering):
    # every log line is still built and formatted, but it goes to /dev/null, or thousands of
    # "device registered" lines would bury the tables on stdout.
    with open(os.devnull, "w") as sink:
        structlog.configure(logger_factory=structlog.PrintLoggerFactory(sink))
        print(asyncio.run(run(plan)))


if __name__ == "__main__":
    main()
