"""An import's refused rows: every one counted, the first 1,000 by row number kept."""

import random

from provisio.domain.errors import FieldProblem
from provisio.service.bulk_import import MAX_LISTED_ROWS, Refusals


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
