"""Statements run at the driver level: many rows in one multi-row INSERT, VALUES lists.

For thousands of rows, SQLAlchemy's per-row work (building and processing a parameter dict per
row, per column) costs more than the database does, and an executemany takes the GIL back in
SQLite's driver thread for every row. Here one statement carries up to a few hundred rows,
its text is built once per size, and each value goes through its column's bind processing (once
per distinct value where values repeat, as timestamps do), so what the database stores is
exactly what `conn.execute(insert(table), rows)` would have stored.
"""

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from provisio.store.backend import Connection

Processor = Callable[[Any], Any]

MAX_PARAMETERS = 32_766
"""Bound values one statement may carry: SQLite's limit (PostgreSQL allows 65,535)."""


@lru_cache(maxsize=64)
def placeholders(paramstyle: str, rows: int, width: int) -> str:
    """`(?, ?), (?, ?)` (SQLite) or `($1, $2), ($3, $4)` (asyncpg): `rows` groups of `width`."""
    if paramstyle == "qmark":
        group = f"({', '.join(['?'] * width)})"
        return ", ".join(group for _ in range(rows))
    if paramstyle == "numeric_dollar":
        numbers = iter(range(1, rows * width + 1))
        return ", ".join(
            f"({', '.join(f'${next(numbers)}' for _ in range(width))})" for _ in range(rows)
        )
    raise NotImplementedError(f"parameter style {paramstyle}")  # pysqlite and asyncpg only


class RowInsert:
    """`INSERT INTO table (columns) VALUES (…), (…), …` for rows given as mappings by column."""

    def __init__(
        self, table: Table, columns: Sequence[str], repeated: Collection[str] = ()
    ) -> None:
        """`repeated`: columns whose few distinct values recur across rows (timestamps of one
        transaction): each is converted once."""
        if len(columns) < 2:
            raise ValueError("a RowInsert writes at least two columns")  # itemgetter's tuples
        self._table = table
        self._columns = tuple(columns)
        self._repeated = frozenset(repeated)
        self._head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        self._values = itemgetter(*columns)
        self._rows_per_statement = MAX_PARAMETERS // len(columns)
        self._by_dialect: dict[str, list[tuple[int, Processor]]] = {}

    def _processors(self, dialect: Dialect) -> list[tuple[int, Processor]]:
        """The columns whose values the dialect converts before binding them (looked up once
        per dialect: the lookup cost more than a one-row insert)."""
        known = self._by_dialect.get(dialect.name)
        if known is None:
            found = [
                (index, self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                for index, name in enumerate(self._columns)
            ]
            known = [(index, processor) for index, processor in found if processor is not None]
            self._by_dialect[dialect.name] = known
        return known

    async def run(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        processors = [
            (index, _memoized(processor) if self._columns[index] in self._repeated else processor)
            for index, processor in self._processors(conn.dialect)
        ]
        values: list[Any] = []
        count = 0
        for row in rows:
            cells = list(self._values(row))
            for index, processor in processors:
                if cells[index] is not None:
                    cells[index] = processor(cells[index])
            values += cells
            count += 1
            if count == self._rows_per_statement:
                await self._execute(conn, count, values)
                values, count = [], 0
        if count:
            await self._execute(conn, count, values)

    async def _execute(self, conn: Connection, count: int, values: list[Any]) -> None:
        marks = placeholders(conn.dialect.paramstyle, count, len(self._columns))
        await conn.exec_driver_sql(self._head + marks, tuple(values))


def _memoized(processor: Processor) -> Processor:
    converted: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if value not in converted:
            converted[value] = processor(value)
        return converted[value]

    return convert
