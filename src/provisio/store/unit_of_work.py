"""The unit of work: one transaction that commits a change together with the events it caused."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from provisio.domain.device import Device
from provisio.domain.recipe import Recipe
from provisio.store.backend import POOL_TIMEOUT, Backend, Connection, open_backend
from provisio.store.console_sessions import ConsoleSessions
from provisio.store.contention import TRANSIENT_SQLSTATES, Contended
from provisio.store.deliveries import DeliveryRepository
from provisio.store.devices import DeviceRepository
from provisio.store.events import EventLog
from provisio.store.exporters import ExporterRepository
from provisio.store.publish_cursors import PublishCursors
from provisio.store.recipe_counts import RecipeCounts
from provisio.store.recipes import RecipeRepository
from provisio.store.registries import Registries
from provisio.store.signal import Signal, Wake
from provisio.store.tenancy import TenancyRepository
from provisio.store.verifications import VerificationRepository


class UnitOfWork:
    """Repositories bound to one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.recipe_counts = RecipeCounts(conn)
        self.recipes = RecipeRepository(conn, self.recipe_counts)
        self.tenancy = TenancyRepository(conn)
        self.events = EventLog(conn)
        self.exporters = ExporterRepository(conn)
        self.devices = DeviceRepository(conn)
        self.verifications = VerificationRepository(conn)
        self.registries = Registries(conn)
        self.publish_cursors = PublishCursors(conn)
        self.deliveries = DeliveryRepository(conn)
        self.console_sessions = ConsoleSessions(conn)
        self.wakes: set[Wake] = set()
        """What this transaction gives the background workers to do, once it commits."""

    async def collect_events(self) -> None:
        """Move the events recorded by the aggregates touched so far into the outbox, in the
        order they were caused (across aggregates)."""
        seen: list[Recipe | Device] = [*self.recipes.seen, *self.devices.seen]
        recorded = sorted(
            (item.order, aggregate.uid, item.event)
            for aggregate in seen
            for item in aggregate.recorded
        )
        batch = [
            (event.payload.owner.organization_uid, subject_uid, event)
            for _, subject_uid, event in recorded
        ]
        await self.events.append(batch, datetime.now(UTC))
        for aggregate in seen:
            aggregate.recorded.clear()
        self.recipes.seen.clear()
        self.devices.seen.clear()
        if batch:
            self.wakes.add(Wake.EVENTS_COMMITTED)


class Store:
    """The database, its backend, and the in-process signals raised after commits."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.signals = {wake: Signal() for wake in Wake}

    @property
    def events_committed(self) -> Signal:
        return self.signals[Wake.EVENTS_COMMITTED]

    @property
    def positions_assigned(self) -> Signal:
        return self.signals[Wake.POSITIONS_ASSIGNED]

    @property
    def deliveries_queued(self) -> Signal:
        return self.signals[Wake.DELIVERIES_QUEUED]

    @classmethod
    def open(cls, url: str, pool_timeout: float = POOL_TIMEOUT) -> "Store":
        return cls(open_backend(url, pool_timeout))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """Commits state and outbox events together on a clean exit, nothing on an error."""
        try:
            async with self.backend.write() as conn:
                uow = UnitOfWork(conn)
                yield uow
                await uow.collect_events()
                if uow.wakes:
                    await self.backend.notify(conn, uow.wakes)
                await uow.recipe_counts.flush()  # last: its row locks are held only to commit
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
                raise Contended("a concurrent change got in the way; try again") from error
            raise
        for wake in uow.wakes:
            self.signals[wake].notify()

    def listening(self) -> AbstractAsyncContextManager[None]:
        """While entered, other processes' commits wake this store's waiters as its own do
        (PostgreSQL LISTEN/NOTIFY; elsewhere, and while the database is unreachable, waiters
        rely on their polling)."""
        return self.backend.listen(self._hear)

    def _hear(self, message: str | None) -> None:
        if message is None:  # notifications may have been missed: every waiter looks again
            for signal in self.signals.values():
                signal.notify()
            return
        origin, _, names = message.partition(" ")
        if origin == self.backend.origin:
            return
        for name in names.split(","):
            try:
                wake = Wake(name)
            except ValueError:  # a newer version's wake-up, during a rolling upgrade
                continue
            self.signals[wake].notify()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        async with self.backend.read() as conn:
            yield UnitOfWork(conn)

    async def close(self) -> None:
        await self.backend.dispose()
