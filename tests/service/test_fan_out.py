"""An exporter receives the events committed while it is enabled, however late the relay
positions them (DESIGN §8), on both engines."""

from sqlalchemy import select

from provisio.domain.brands import BrandRules
from provisio.domain.exporter import ExporterSpec
from provisio.service import tenancy
from provisio.service.exporters import create_exporter, update_exporter
from provisio.service.recipes import create_recipe
from provisio.service.relay import Relay
from provisio.store.tables import deliveries, events
from provisio.store.unit_of_work import Store
from tests.webhooks.conftest import POLICY, SECRET, TYPES

RULES = BrandRules()


async def _queued_subjects(store: Store) -> list[str]:
    query = (
        select(events.c.subject_uid)
        .join(deliveries, deliveries.c.event_row_id == events.c.id)
        .order_by(deliveries.c.id)
    )
    async with store.reader() as uow:
        return list((await uow.conn.execute(query)).scalars())


async def test_events_committed_before_an_exporter_was_enabled_are_not_queued_for_it(
    store: Store,
) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    relay = Relay(store, 60)  # drained by hand: it positions late, after the exporter changes

    async def recipe(serial: str) -> str:
        return (
            await create_recipe(store, principal, {"brand": "lg", "serialNumber": serial}, RULES)
        ).uid

    before = await recipe("SN-BEFORE")
    spec = ExporterSpec("cms", TYPES, "http://127.0.0.1:9/hook", SECRET, enabled=True)
    exporter = await create_exporter(store, principal, spec, POLICY)
    after = await recipe("SN-AFTER")
    assert await relay.drain() == 2
    assert await _queued_subjects(store) == [after]

    await update_exporter(store, principal, exporter.uid, {"enabled": False}, POLICY)
    await recipe("SN-WHILE-DISABLED")
    await update_exporter(store, principal, exporter.uid, {"enabled": True}, POLICY)
    enabled_again = await recipe("SN-ENABLED-AGAIN")
    assert await relay.drain() == 2
    assert await _queued_subjects(store) == [after, enabled_again]
    assert before != after
