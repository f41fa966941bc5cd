"""An import's refused rows: every one counted, the first 1,000 by row number kept."""

import random

import pytest

from provisio.domain.brands import BrandRules
from provisio.domain.errors import FieldProblem
from provisio.service import tenancy
from provisio.service.bulk_import import (
    MAX_LISTED_ROWS,
    BulkRow,
    ImportRefused,
    Refusals,
    bulk_create,
)
from provisio.service.recipes import RecipeQuery, list_recipes
from provisio.store.unit_of_work import Store


def test_refusals_keep_the_first_rows_by_number_whatever_order_they_come_in() -> None:
    rows = list(range(1, 50_001))
    random.Random(7).shuffle(rows)
    refusals = Refusals()
    for row in rows:
        refusals.add(row, [FieldProblem("brand", "is required"), FieldProblem("model", "bad")])
    assert refusals.count == 50_000
    listed = refusals.listed
    assert len(listed) == 2 * MAX_LISTED_ROWS
    assert [problem.row for problem in listed[::2]] == list(range(1, MAX_LISTED_ROWS + 1))
    assert [problem.field for problem in listed[:2]] == ["brand", "model"]


async def test_a_refused_atomic_import_counts_every_bad_row_and_lists_the_first(
    store: Store,
) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    rows = [BulkRow(1, {"brand": "lg", "serialNumber": "SN-1"})] + [
        BulkRow(number, {"brand": "lg"}) for number in range(2, MAX_LISTED_ROWS + 7)
    ]
    with pytest.raises(ImportRefused) as refused:
        await bulk_create(store, principal, rows, BrandRules(), atomic=True)
    assert refused.value.failed_count == MAX_LISTED_ROWS + 5
    assert [problem.row for problem in refused.value.details] == list(range(2, MAX_LISTED_ROWS + 2))
    assert await list_recipes(store, principal, RecipeQuery(), 0, 10) == []
