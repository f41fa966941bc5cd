"""Authentication from the in-process cache: the secret is checked every time, a revocation
drops the cache at once in this process and, on PostgreSQL, in every other process."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from provisio.domain.errors import Unauthenticated
from provisio.domain.ids import new_uid
from provisio.service import tenancy
from provisio.service.tenancy import Authenticator
from provisio.store.backend import open_backend
from provisio.store.migrate import migrate
from provisio.store.signal import Wake
from provisio.store.unit_of_work import Store, UnitOfWork
from tests.conftest import POSTGRES_URL

TTL = 5.0
DEADLINE = 20.0
"""Generous, for a busy machine; a notification normally arrives within milliseconds."""


class FrozenClock:
    """Time moves only when a test says so: no entry expires behind the test's back."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _bootstrap(store: Store) -> tenancy.Bootstrap:
    return await tenancy.bootstrap(store, "Acme", f"Lobby {new_uid()}")


async def _delete_quietly(store: Store, made: tenancy.Bootstrap) -> None:
    """Delete the token as a process that notifies nobody would (another SQLite process)."""
    async with store.unit_of_work() as uow:
        assert await uow.tenancy.delete_token(made.token.id, made.organization_uid)


async def test_a_cached_token_still_needs_its_secret(store: Store) -> None:
    made = await _bootstrap(store)
    authenticator = Authenticator(store, ttl=TTL, clock=FrozenClock())
    principal = await authenticator.authenticate(made.token.header)
    assert principal.organization_uid == made.organization_uid
    for wrong in (f"{made.token.id}:x", f"{made.token.id}:", f"{made.token.id}:{'a' * 43}"):
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(wrong)
    assert await authenticator.authenticate(made.token.header) == principal


async def test_a_lookup_is_reused_only_until_it_expires(store: Store) -> None:
    """A token deleted without a notification stays valid in this process for the TTL at
    most: the bound on what a missed notification can keep alive."""
    made = await _bootstrap(store)
    clock = FrozenClock()
    authenticator = Authenticator(store, ttl=TTL, clock=clock)
    await authenticator.authenticate(made.token.header)
    await _delete_quietly(store, made)
    clock.now += TTL - 0.1
    await authenticator.authenticate(made.token.header)  # served from the cache: no read
    clock.now += 0.2
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(made.token.header)


async def test_a_revocation_in_this_process_drops_the_cache_at_once(store: Store) -> None:
    made = await _bootstrap(store)
    account = await tenancy.issue_account_token(store, made.account_id, "ops")
    admin = await tenancy.authenticate(store, account.header)
    authenticator = Authenticator(store, ttl=TTL, clock=FrozenClock())
    await authenticator.authenticate(made.token.header)
    await tenancy.revoke_organization_token(store, admin, made.organization_uid, made.token.id)
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(made.token.header)


class RevokedDuringARead(Store):
    """A store on which, while one read runs, a revocation commits and (`meanwhile`) another
    request is authenticated."""

    meanwhile: Callable[[], Awaitable[object]] | None = None

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[UnitOfWork]:
        async with super().reader() as uow:
            meanwhile, self.meanwhile = self.meanwhile, None
            if meanwhile is not None:
                self.signals[Wake.TOKENS_REVOKED].notify()
                await meanwhile()
            yield uow


async def test_a_lookup_read_while_a_token_was_revoked_is_not_kept(database_url: str) -> None:
    """The row read may predate the revocation: it serves its own request but is not cached,
    even when another request has emptied the cache in the meantime."""
    store = RevokedDuringARead(open_backend(database_url))
    try:
        await migrate(store.backend)
        made, other = await _bootstrap(store), await _bootstrap(store)
        authenticator = Authenticator(store, ttl=TTL, clock=FrozenClock())
        await authenticator.authenticate(other.token.header)
        store.meanwhile = lambda: authenticator.authenticate(other.token.header)
        await authenticator.authenticate(made.token.header)
        await _delete_quietly(store, made)
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(made.token.header)
    finally:
        await store.close()


@pytest.fixture
async def second_store(postgres_database: str) -> AsyncIterator[Store]:
    """Another process's store over the same database, listening for its notifications."""
    store = Store.open(postgres_database)
    connected = store.signals[Wake.TOKENS_REVOKED].ticket()
    try:
        async with store.listening():
            # Each (re)connection of the listener wakes every waiter: it is listening now.
            await asyncio.wait_for(connected.wait(), DEADLINE)
            yield store
    finally:
        await store.close()


@pytest.mark.skipif(POSTGRES_URL is None, reason="PROVISIO_TEST_POSTGRES_URL is not set")
async def test_a_revocation_in_another_process_drops_the_cache_at_once(
    postgres_database: str, second_store: Store
) -> None:
    """The frozen clock keeps the entry fresh: only the notification can drop it."""
    first = Store.open(postgres_database)
    try:
        made = await _bootstrap(first)
        account = await tenancy.issue_account_token(first, made.account_id, "ops")
        admin = await tenancy.authenticate(first, account.header)
        authenticator = Authenticator(second_store, ttl=TTL, clock=FrozenClock())
        await authenticator.authenticate(made.token.header)
        heard = second_store.signals[Wake.TOKENS_REVOKED].ticket()
        await tenancy.revoke_organization_token(first, admin, made.organization_uid, made.token.id)
        await asyncio.wait_for(heard.wait(), DEADLINE)
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(made.token.header)
    finally:
        await first.close()
