"""Statements run at the driver level: INSERTs of many rows as one executemany of tuples.

For thousands of rows, SQLAlchemy's per-row work (building and processing a parameter dict per
row, per column) costs more than the database does. Here the statement text is built once per
dialect and each value goes through its column's bind processing once per distinct value
(timestamps and flags repeat across a batch), so what the database stores is exactly what
`conn.execute(insert(table), rows)` would have stored.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Processor = Callable[[Any], Any]


def placeholders(dialect: Dialect, rows: int, width: int) -> str:
    """`(?, ?), (?, ?)` (SQLite) or `($1, $2), ($3, $4)` (asyncpg): `rows` groups of `width`."""
    if dialect.paramstyle == "qmark":
        group = f"({', '.join(['?'] * width)})"
        return ", ".join(group for _ in range(rows))
    if dialect.paramstyle == "numeric_dollar":
        numbers = iter(range(1, rows * width + 1))
        return ", ".join(
            f"({', '.join(f'${next(numbers)}' for _ in range(width))})" for _ in range(rows)
        )
    raise NotImplementedError(f"parameter style {dialect.paramstyle}")  # aiosqlite, asyncpg only


class RowInsert:
    """`INSERT INTO table (columns) VALUES (…)` for rows given as mappings by column name."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        if len(columns) < 2:
            raise ValueError("a RowInsert writes at least two columns")  # itemgetter's tuples
        self._table = table
        self._columns = tuple(columns)
        self._dialects: dict[str, tuple[str, tuple[Processor | None, ...]]] = {}

    @cached_property
    def _names(self) -> str:
        return ", ".join(self._columns)

    def _prepared(self, dialect: Dialect) -> tuple[str, tuple[Processor | None, ...]]:
        prepared = self._dialects.get(dialect.name)
        if prepared is None:
            marks = placeholders(dialect, 1, len(self._columns))
            sql = f"INSERT INTO {self._table.name} ({self._names}) VALUES {marks}"
            processors = tuple(
                self._table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in self._columns
            )
            prepared = self._dialects[dialect.name] = (sql, processors)
        return prepared

    async def run(self, conn: AsyncConnection, rows: Iterable[Mapping[str, Any]]) -> None:
        sql, processors = self._prepared(conn.dialect)
        processed: list[tuple[int, Processor, dict[Any, Any]]] = [
            (index, p, {}) for index, p in enumerate(processors) if p is not None
        ]
        values = itemgetter(*self._columns)
        tuples: list[tuple[Any, ...]] = []
        for row in rows:
            cells = list(values(row))
            for index, processor, memo in processed:
                raw = cells[index]
                if raw is not None:
                    if raw not in memo:
                        memo[raw] = processor(raw)
                    cells[index] = memo[raw]
            tuples.append(tuple(cells))
        if tuples:
            await conn.exec_driver_sql(sql, tuples)
