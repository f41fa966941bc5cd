"""`provisio worker` stops on SIGTERM (systemd's stop) as gracefully as on Ctrl-C: requests in
flight are cancelled and their leases released, so the next worker sends them at once."""

import asyncio
import signal
from pathlib import Path

from sqlalchemy import select

from provisio.domain.brands import BrandRules
from provisio.domain.exporter import ExporterSpec
from provisio.service import tenancy
from provisio.service.exporters import create_exporter
from provisio.service.recipes import create_recipe
from provisio.store.migrate import migrate
from provisio.store.tables import deliveries
from provisio.store.unit_of_work import Store
from tests.processes import start
from tests.webhooks.conftest import POLICY, SECRET, TYPES
from tests.webhooks.receiver import WebhookReceiver

PROMPT_EXIT = 15.0


async def test_sigterm_releases_the_leases_of_requests_in_flight(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/worker.db"
    store = Store.open(url)
    await migrate(store.backend)
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    env = {
        "PROVISIO_DATABASE_URL": url,
        "PROVISIO_WEBHOOK_ALLOW_HTTP": "true",
        "PROVISIO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROVISIO_RELAY_POLL_INTERVAL": "0.1",
    }
    try:
        async with WebhookReceiver(secret=SECRET) as receiver:
            receiver.hold(times=None)  # the request stays open until the worker gives it up
            spec = ExporterSpec("cms", TYPES, receiver.url, SECRET, enabled=True)
            await create_exporter(store, principal, spec, POLICY)
            await create_recipe(
                store, principal, {"brand": "lg", "serialNumber": "S1"}, BrandRules()
            )
            worker = start("worker", ["worker"], env, tmp_path)
            try:
                await receiver.wait_for(1, timeout=60)
                worker.signal(signal.SIGTERM)
                code = await asyncio.to_thread(worker.popen.wait, PROMPT_EXIT)
            finally:
                worker.kill()
        assert code == 0, worker.output()
        async with store.reader() as uow:
            query = select(deliveries.c.status, deliveries.c.lease_owner)
            assert list(await uow.conn.execute(query)) == [("pending", None)], worker.output()
    finally:
        await store.close()
