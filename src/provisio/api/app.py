"""The FastAPI application: routes, error handling, limits, and (embedded mode) the relay."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from provisio import __version__
from provisio.api import errors
from provisio.api.limits import BodyLimits
from provisio.api.metrics import RequestMetrics
from provisio.api.proxies import ForwardedHeaders
from provisio.api.rate_limits import RateLimits
from provisio.api.request_ids import RequestIds
from provisio.api.routes import (
    device_management,
    devices,
    events,
    exporters,
    health,
    organizations,
    recipes,
    registries,
    verifications,
)
from provisio.background import background as run_background
from provisio.console import app as console
from provisio.logs import configure_logging
from provisio.service.tenancy import Authenticator
from provisio.settings import Settings
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store

EMBEDDED_WORKER = "embedded"
"""The lease name of the one dispatcher an embedded server runs: a restarted server resumes the
deliveries it was sending when it stopped, at once."""


REQUEST_POOL_TIMEOUT = 1.0
"""Seconds a request waits for a pooled connection before it is refused (503, Retry-After): a
burst beyond the pool is told to come back instead of queueing for half a minute. Workers and
commands keep the pool's default wait."""


def create_app(
    settings: Settings | None = None,
    *,
    background: bool = True,
    run_migrations: bool = True,
) -> FastAPI:
    """`background` runs the relay and the webhook dispatcher in this process (embedded)."""
    settings = settings or Settings()
    configure_logging(settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(settings.database_url, pool_timeout=REQUEST_POOL_TIMEOUT)
        if run_migrations:
            await migrate(store.backend)
        app.state.store = store
        app.state.authenticator = Authenticator(store)
        app.state.draining = asyncio.Event()
        try:
            async with store.listening():
                if background:
                    async with run_background(store, settings, EMBEDDED_WORKER):
                        yield
                else:
                    yield
        finally:
            await store.close()

    app = FastAPI(
        title="provisio",
        version=__version__,
        description="Device provisioning for digital-signage and IoT fleets, "
        "with a signed domain-event stream.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.rate_limits = RateLimits.of(settings)
    errors.install(app)
    app.add_middleware(
        BodyLimits, max_body_bytes=settings.max_body_bytes, max_bulk_bytes=settings.max_bulk_bytes
    )
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestIds)  # every answer and log line carries the id
    if settings.forwarded_allow_ips:
        # Outermost: everything inside sees the client's address, scheme and host.
        app.add_middleware(ForwardedHeaders, trusted_hosts=settings.forwarded_allow_ips)
    app.include_router(health.router)
    for module in (
        organizations,
        recipes,
        verifications,
        devices,
        device_management,
        events,
        exporters,
    ):
        app.include_router(module.router)
    for router in registries.routers:
        app.include_router(router)
    if settings.console:
        console.install(app)
    return app
