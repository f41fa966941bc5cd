"""A database error never carries the statement's parameters (exporter secrets among them)
into its message, a log line or a traceback."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from provisio.domain.exporter import Exporter, ExporterSpec
from provisio.service import tenancy
from provisio.store.unit_of_work import Store

SECRET = "a-secret-that-must-not-leak-0123456789"


async def test_a_failed_statement_does_not_show_its_parameters(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    spec = ExporterSpec("cms", ("Device.ProvisioningRecipeCreated",), "https://x.test/", SECRET)
    exporter = Exporter.new("0" * 32, made.organization_uid, spec, datetime.now(UTC))
    async with store.unit_of_work() as uow:
        await uow.exporters.add(exporter)
    with pytest.raises(IntegrityError) as raised:
        async with store.unit_of_work() as uow:
            await uow.exporters.add(exporter)  # the same uid again
    assert SECRET not in str(raised.value)
    assert "hidden due to hide_parameters" in str(raised.value)
