"""Shared fixtures for delivery tests: a tenant, an enabled exporter pointing at a loopback
receiver, the relay running, and dispatchers the tests start and stop themselves."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from provisio.domain.brands import BrandRules
from provisio.domain.exporter import ExporterSpec
from provisio.service import tenancy
from provisio.service.exporters import create_exporter
from provisio.service.recipes import create_recipe, update_recipe
from provisio.service.relay import Relay
from provisio.store.tables import deliveries, delivery_attempts, events
from provisio.store.unit_of_work import Store
from provisio.webhooks.dispatcher import Dispatcher
from provisio.webhooks.schedule import RetrySchedule
from provisio.webhooks.url_policy import UrlPolicy, parse_networks
from tests.webhooks.receiver import WebhookReceiver

SECRET = "dispatch-test-secret-0123456789abcdef"
RULES = BrandRules()
POLICY = UrlPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8"))
"""Lets the dispatcher reach the loopback receiver."""
TYPES = ("Device.ProvisioningRecipeCreated", "Device.ProvisioningRecipeUpdated")
FAST = RetrySchedule((0, 0.1, 0.1, 0.1), jitter=0)
"""Four attempts, 0.1 s apart: retries without slowing the suite."""

T = TypeVar("T")


async def eventually(
    read: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 5.0,  # noqa: ASYNC109 - a bounded poll, not a cancellation scope
) -> T:
    """Poll `read` until `done` accepts its value (the dispatcher records an attempt just after
    the receiver answers it); returns the last value either way, for the assertion to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await read()
        if done(value) or loop.time() >= deadline:
            return value
        await asyncio.sleep(0.025)


async def stop(task: "asyncio.Task[Any]") -> None:
    """Cancel a background task and wait until it is gone."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: str
    subject_uid: str
    sequence_number: int
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_expires_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class AttemptRow:
    delivery_id: int
    http_status: int | None
    error: str | None


@dataclass
class World:
    store: Store
    principal: tenancy.Principal
    receiver: WebhookReceiver
    exporter_uid: str
    tasks: list["asyncio.Task[None]"] = field(default_factory=list)

    async def recipe(self, serial: str) -> str:
        body = {"brand": "lg", "serialNumber": serial}
        return (await create_recipe(self.store, self.principal, body, RULES)).uid

    async def rename(self, uid: str, name: str) -> None:
        await update_recipe(self.store, self.principal, uid, {"deviceName": name}, RULES)

    def dispatcher(
        self,
        schedule: RetrySchedule = FAST,
        *,
        policy: UrlPolicy = POLICY,
        timeout: float = 2,
        lease: float | None = None,
        owner: str | None = None,
    ) -> Dispatcher:
        return Dispatcher(
            self.store,
            policy,
            schedule,
            timeout=timeout,
            poll_interval=0.05,
            lease=lease,
            owner=owner,
        )

    def start(self, dispatcher: Dispatcher) -> "asyncio.Task[None]":
        """Run a dispatcher in the background until `stop`ped (or the test ends)."""
        task = asyncio.create_task(dispatcher.run())
        self.tasks.append(task)
        return task

    async def deliveries(self) -> list[DeliveryRow]:
        d = deliveries.c
        query = (
            select(
                d.id,
                events.c.event_id,
                d.subject_uid,
                d.sequence_number,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.lease_expires_at,
                d.last_error,
            )
            .join(events, events.c.id == d.event_row_id)
            .order_by(d.id)
        )
        async with self.store.reader() as uow:
            return [DeliveryRow(*row) for row in await uow.conn.execute(query)]

    async def attempts(self) -> list[AttemptRow]:
        a = delivery_attempts.c
        query = select(a.delivery_id, a.http_status, a.error).order_by(a.id)
        async with self.store.reader() as uow:
            return [AttemptRow(*row) for row in await uow.conn.execute(query)]


@pytest.fixture
async def idle_world(store: Store) -> AsyncIterator[World]:
    """An enabled exporter subscribed to TYPES at the receiver, the relay running, and no
    dispatcher yet: each test starts (and may stop) its own."""
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    async with WebhookReceiver(secret=SECRET) as receiver:
        spec = ExporterSpec("cms", TYPES, receiver.url, SECRET, enabled=True)
        exporter = await create_exporter(store, principal, spec, POLICY)
        world = World(store, principal, receiver, exporter.uid)
        world.tasks.append(asyncio.create_task(Relay(store, 0.05).run()))
        try:
            yield world
        finally:
            for task in reversed(world.tasks):
                await stop(task)


@pytest.fixture
async def world(idle_world: World) -> World:
    """`idle_world` with a dispatcher on the FAST schedule running."""
    idle_world.start(idle_world.dispatcher())
    return idle_world
