"""Wake-ups across processes: on PostgreSQL a commit through one store wakes the background
workers and long-polls of every other store over the same database at once (LISTEN/NOTIFY),
not at their next poll."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text

from provisio.domain.brands import BrandRules
from provisio.domain.ids import new_uid
from provisio.service import tenancy
from provisio.service.recipes import create_recipe
from provisio.service.relay import Relay
from provisio.store import pg_listen
from provisio.store.signal import Signal
from provisio.store.unit_of_work import Store
from tests.conftest import POSTGRES_URL
from tests.support import plain_postgres_url

pytestmark = pytest.mark.skipif(
    POSTGRES_URL is None, reason="PROVISIO_TEST_POSTGRES_URL is not set: NOTIFY is PostgreSQL's"
)

NEVER = 600.0
"""A poll interval no test outlives: only a notification can explain a wake-up."""
DEADLINE = 20.0
"""Generous, for a busy machine; a notification normally arrives within milliseconds."""


@pytest.fixture
async def stores(postgres_database: str) -> AsyncIterator[tuple[Store, Store]]:
    """A writer and a listener over one database, as two processes would have them."""
    writer, listener = Store.open(postgres_database), Store.open(postgres_database)
    try:
        yield writer, listener
    finally:
        await writer.close()
        await listener.close()


async def _woken(signal: Signal, ticket: asyncio.Event) -> bool:
    await signal.wait(ticket, DEADLINE)
    return ticket.is_set()


@asynccontextmanager
async def _listening(store: Store) -> AsyncIterator[None]:
    """`store.listening()`, once its listener is connected: each connection first wakes every
    waiter, since notifications may have been missed while it was not listening."""
    ticket = store.positions_assigned.ticket()
    async with store.listening():
        assert await _woken(store.positions_assigned, ticket), "the listener never connected"
        yield


async def _create(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", f"Lobby {new_uid()}")
    principal = await tenancy.authenticate(store, made.token.header)
    await create_recipe(store, principal, {"brand": "lg", "serialNumber": new_uid()}, BrandRules())


async def test_a_commit_through_one_store_wakes_the_waiters_of_another(
    stores: tuple[Store, Store],
) -> None:
    """The listening store neither commits nor polls here: only the writer's notifications can
    set its signals, first for the relay (events committed), then for long-polls and the
    publisher (positions assigned, by a relay that runs with the writer)."""
    writer, listener = stores
    async with _listening(listener):
        committed = listener.events_committed.ticket()
        await _create(writer)
        assert await _woken(listener.events_committed, committed)
        positioned = listener.positions_assigned.ticket()
        assert await Relay(writer, NEVER).drain()
        assert await _woken(listener.positions_assigned, positioned)


async def test_the_listener_reconnects_when_its_connection_is_killed(
    stores: tuple[Store, Store],
) -> None:
    writer, listener = stores
    async with _listening(listener):
        reconnected = listener.positions_assigned.ticket()
        async with writer.backend.write() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": pg_listen.APPLICATION_NAME},
            )
        assert killed == 1, "not exactly one listening connection to kill"
        assert await _woken(listener.positions_assigned, reconnected), "it did not come back"
        committed = listener.events_committed.ticket()
        await _create(writer)
        assert await _woken(listener.events_committed, committed)


async def test_a_store_is_not_woken_twice_by_its_own_commit(stores: tuple[Store, Store]) -> None:
    """Its signals fire right after its own commit; the notification is for the others."""
    writer, listener = stores
    async with _listening(writer), _listening(listener):
        await _create(writer)
        again = writer.events_committed.ticket()
        # A later commit elsewhere, heard after the writer's own notification (PostgreSQL
        # delivers them in commit order), proves that one has been heard and ignored.
        positioned = writer.positions_assigned.ticket()
        assert await Relay(listener, NEVER).run_once()
        assert await _woken(writer.positions_assigned, positioned)
        assert not again.is_set()


async def test_inserted_events_announce_themselves_signed_by_the_writer(
    stores: tuple[Store, Store], postgres_database: str
) -> None:
    """The events trigger sends the wake in the INSERT's own round trip, signed with the
    writing process's origin (so that process does not wake itself a second time)."""
    writer, _ = stores
    heard: asyncio.Queue[str] = asyncio.Queue()
    raw = await asyncpg.connect(plain_postgres_url(postgres_database))
    try:
        await raw.add_listener(pg_listen.CHANNEL, lambda *args: heard.put_nowait(args[-1]))
        await _create(writer)
        message = await asyncio.wait_for(heard.get(), DEADLINE)
    finally:
        await raw.close()
    assert message == f"{writer.backend.origin} events_committed"
