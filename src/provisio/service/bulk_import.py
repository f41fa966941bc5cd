"""Bulk import: many create bodies stored in one transaction, each good row with its event.

Rows are read, checked and stored in batches, so memory stays flat whatever the size of the
upload and however many of its rows are bad.
"""

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from provisio import collector
from provisio.domain.brands import BrandRules
from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.domain.recipe import Recipe
from provisio.service.recipes import Drafter
from provisio.service.tenancy import Principal
from provisio.store.unit_of_work import Store

BULK_BATCH_ROWS = 500
"""Bulk imports store recipes and their events this many rows at a time."""

MAX_LISTED_ROWS = 1000
"""A bulk answer lists the problems of this many refused rows, the first ones by row number."""


@dataclass(frozen=True)
class BulkRow:
    """One data row of a bulk request: its fields, or why they could not even be read."""

    row: int
    fields: Mapping[str, Any]
    problems: tuple[FieldProblem, ...] = ()


class Refusals:
    """The refused rows of an import: all counted, only the first `MAX_LISTED_ROWS` kept."""

    def __init__(self) -> None:
        self.count = 0
        self._kept: dict[int, list[FieldProblem]] = {}
        self._rows: list[int] = []
        """A max-heap (negated row numbers) of the kept rows: the one to drop is on top."""

    def add(self, row: int, problems: Sequence[FieldProblem]) -> None:
        self.count += 1
        if len(self._rows) == MAX_LISTED_ROWS:
            if row > -self._rows[0]:
                return
            del self._kept[-heapq.heappop(self._rows)]
        heapq.heappush(self._rows, -row)
        self._kept[row] = [FieldProblem(p.field, p.message, row=row) for p in problems]

    @property
    def listed(self) -> list[FieldProblem]:
        """The kept rows' problems, in row order."""
        return [problem for row in sorted(self._kept) for problem in self._kept[row]]


class ImportRefused(InvalidInput):
    """An atomic import with bad rows: nothing was stored. `details` lists the problems of the
    first `MAX_LISTED_ROWS` refused rows; `failed_count` counts them all."""

    def __init__(self, failed: list[FieldProblem], failed_count: int) -> None:
        super().__init__(_refused_message(failed_count), failed)
        self.failed_count = failed_count


@dataclass
class BulkResult:
    uids: list[str] = field(default_factory=list)
    failed: list[FieldProblem] = field(default_factory=list)
    """The problems of the first `MAX_LISTED_ROWS` refused rows."""
    failed_count: int = 0
    """How many rows were refused in all."""

    @property
    def created(self) -> int:
        return len(self.uids)


async def bulk_create(
    store: Store,
    principal: Principal,
    rows: Iterable[BulkRow],
    rules: BrandRules,
    *,
    atomic: bool,
) -> BulkResult:
    """Create every good row in one transaction; in atomic mode any bad row stores nothing."""
    result = BulkResult()
    refusals = Refusals()
    with collector.paused():
        async with store.unit_of_work() as uow:
            drafter = Drafter(uow, principal, rules)
            for batch in _batches(rows):
                drafted = await _drafted(batch, drafter, refusals)
                refused = await uow.recipes.add_many([recipe for _, recipe in drafted])
                for row, recipe in drafted:
                    if recipe.uid in refused:
                        refusals.add(row, refused[recipe.uid].details)
                    else:
                        result.uids.append(recipe.uid)
                await uow.collect_events()
            result.failed, result.failed_count = refusals.listed, refusals.count
            if atomic and refusals.count:
                raise ImportRefused(result.failed, refusals.count)
    return result


def _batches(rows: Iterable[BulkRow]) -> Iterator[list[BulkRow]]:
    source = iter(rows)
    while batch := list(islice(source, BULK_BATCH_ROWS)):
        yield batch


async def _drafted(
    batch: Sequence[BulkRow], drafter: Drafter, refusals: Refusals
) -> list[tuple[int, Recipe]]:
    drafted: list[tuple[int, Recipe]] = []
    for item in batch:
        try:
            if item.problems:
                raise InvalidInput("unreadable row", list(item.problems))
            drafted.append((item.row, await drafter.draft(item.fields)))
        except InvalidInput as error:
            refusals.add(item.row, error.details)
    return drafted


def _refused_message(count: int) -> str:
    listed = f"; the first {MAX_LISTED_ROWS} are listed" if count > MAX_LISTED_ROWS else ""
    return f"{count} bad row(s); nothing was stored{listed}"
