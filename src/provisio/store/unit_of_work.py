"""The unit of work: one transaction that commits a change together with the events it caused."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from provisio.store.backend import Backend, open_backend
from provisio.store.events import EventLog
from provisio.store.exporters import ExporterRepository
from provisio.store.recipes import RecipeRepository
from provisio.store.signal import Signal
from provisio.store.tenancy import TenancyRepository


class UnitOfWork:
    """Repositories bound to one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.recipes = RecipeRepository(conn)
        self.tenancy = TenancyRepository(conn)
        self.events = EventLog(conn)
        self.exporters = ExporterRepository(conn)
        self.wrote_events = False

    async def collect_events(self) -> None:
        """Move the events recorded by the aggregates touched so far into the outbox."""
        batch = [
            (recipe.organization_uid, recipe.uid, event)
            for recipe in self.recipes.seen
            for event in recipe.events
        ]
        await self.events.append(batch, datetime.now(UTC))
        for recipe in self.recipes.seen:
            recipe.events.clear()
        self.recipes.seen.clear()
        self.wrote_events = self.wrote_events or bool(batch)


class Store:
    """The database, its backend, and the in-process signals raised after commits."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.events_committed = Signal()
        self.positions_assigned = Signal()
        self.deliveries_queued = Signal()

    @classmethod
    def open(cls, url: str) -> "Store":
        return cls(open_backend(url))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Commits state and outbox events together on a clean exit, nothing on an error."""
        async with self.backend.write() as conn:
            uow = UnitOfWork(conn)
            yield uow
            await uow.collect_events()
        if uow.wrote_events:
            self.events_committed.notify()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        async with self.backend.read() as conn:
            yield UnitOfWork(conn)

    async def close(self) -> None:
        await self.backend.dispose()
