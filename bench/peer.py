"""provisio's update use case against a peer library recording one event per command.

The peer is `eventsourcing` (pyeventsourcing), the best-known Python event-sourcing library,
with its own SQLite and PostgreSQL persistence modules and their default settings, its
repository's aggregate cache on (so a command does not replay the aggregate's history: it
checks the version and records one event, as provisio records one event with the new state).
Each command renames one of `WRITERS` aggregates; provisio's renames one of as many recipes
(`update_recipe` in-process: load and lock, change, store state and event, commit). One
writer, commands back to back, rounds alternating who goes first, same engine, same run.
"""

import itertools
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from bench.engines import Database
from bench.report import Comparison
from bench.scenarios import RULES, Tenant, _alternate, _run, _seed
from provisio.service.recipes import update_recipe

WRITERS = 16
"""Aggregates (recipes) the commands rotate over."""


class Screen(Aggregate):
    """The peer's aggregate: a named screen, renamed by each command."""

    @event("Registered")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Renamed")
    def rename(self, name: str) -> None:
        self.name = name


class Screens(Application[UUID]):
    """The peer's application: the repository and the event store over one engine."""


def _environment(database: Database, scratch: Path) -> dict[str, str]:
    """The peer's persistence settings for the engine `database` is on."""
    if database.engine == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(scratch / "peer.db"),
        }
    parts = urlsplit(database.url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
    }


def _same_durability(peer: Screens) -> None:
    """provisio runs SQLite with `synchronous=NORMAL` (WAL: no fsync per commit); the peer's
    default is FULL (an fsync per commit), which on this kind of disk costs more than all the
    rest. Give the peer's connections (one writer, one reader: it is used from one thread) the
    same setting, so the row compares the software, not the durability level."""
    datastore = peer.recorder.datastore  # type: ignore[attr-defined]
    for writer in (True, False):
        with datastore.get_connection(commit=writer) as connection:
            raw = connection._sqlite_conn  # the library offers no hook for pragmas
            raw.execute("PRAGMA synchronous=NORMAL")
            if raw.execute("PRAGMA synchronous").fetchone()[0] != 1:
                raise RuntimeError("could not set the peer's synchronous=NORMAL")


async def compare_peer(
    database: Database, tenant: Tenant, commands: int, rounds: int
) -> Comparison:
    """`commands` renames per side, one writer."""
    uids = await _seed(tenant, WRITERS, "PEER")
    names = itertools.count()
    with tempfile.TemporaryDirectory(prefix="provisio-peer-") as scratch:
        environment: dict[str, Any] = {
            **_environment(database, Path(scratch)),
            "AGGREGATE_CACHE_MAXSIZE": str(WRITERS),
            "CREATE_TABLE": "y",
        }
        peer = Screens(env=environment)
        try:
            if database.engine == "sqlite":
                _same_durability(peer)
            ids = []
            for _ in range(WRITERS):
                screen = Screen(name="seed")
                peer.save(screen)
                ids.append(screen.id)

            async def peer_rename(_: int) -> None:
                number = next(names)
                renamed: Screen = peer.repository.get(ids[number % WRITERS])
                renamed.rename(f"screen {number}")
                peer.save(renamed)

            async def provisio_rename(_: int) -> None:
                number = next(names)
                body = {"deviceName": f"screen {number}"}
                await update_recipe(
                    tenant.store, tenant.principal, uids[number % WRITERS], body, RULES
                )

            await _run(peer_rename, 1, 50)  # warm-up
            await _run(provisio_rename, 1, 50)
            per_round = max(1, commands // rounds)
            reference, subject = await _alternate(
                lambda: _run(peer_rename, 1, per_round),
                lambda: _run(provisio_rename, 1, per_round),
                rounds,
            )
        finally:
            peer.close()
    return Comparison(
        "one event per command vs eventsourcing", database.engine, 1, "cmd/s", reference, subject
    )
