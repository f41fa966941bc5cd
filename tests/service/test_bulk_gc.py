"""An import runs with the cyclic garbage collector paused, and gives it back as it found it:
on when it was on (also when the import fails), off when it was off."""

import gc
from collections.abc import Iterator

import pytest

from provisio.domain.brands import BrandRules
from provisio.domain.errors import InvalidInput
from provisio.service import tenancy
from provisio.service.bulk_import import BulkRow, bulk_create
from provisio.store.unit_of_work import Store


def _rows(seen: list[bool], serials: list[str]) -> Iterator[BulkRow]:
    """Rows that note whether the collector is on while the import reads them."""
    for number, serial in enumerate(serials, start=1):
        seen.append(gc.isenabled())
        yield BulkRow(number, {"brand": "lg", "serialNumber": serial})


async def _import(store: Store, serials: list[str], seen: list[bool]) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    await bulk_create(store, principal, _rows(seen, serials), BrandRules(), atomic=True)


async def test_the_collector_is_paused_during_an_import_and_resumed_after(store: Store) -> None:
    seen: list[bool] = []
    assert gc.isenabled()
    await _import(store, ["SN-1", "SN-2"], seen)
    assert seen == [False, False]
    assert gc.isenabled()
    with pytest.raises(InvalidInput):  # a failed import resumes it too
        await _import(store, ["SN-3", "SN-3"], seen)
    assert gc.isenabled()


async def test_a_collector_that_was_off_stays_off(store: Store) -> None:
    gc.disable()
    try:
        await _import(store, ["SN-1"], [])
        assert not gc.isenabled()
    finally:
        gc.enable()
