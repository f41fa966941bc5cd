"""Test helpers shared across the suite: event-schema checks and database housekeeping."""

import asyncio
import json
import os
import sqlite3
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import ClauseElement
from sqlalchemy import Connection as SyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from provisio.store.backend import Connection

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas" / "events"
SEED = ROOT / "tests" / "fixtures" / "DeviceProvisioningRecipeUpdated.json"


T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, from a thread of its own: the caller's thread may already run a loop
    (Playwright's sync API keeps one running while a browser is open)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@cache
def _validators() -> dict[str, Draft202012Validator]:
    validators = {}
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        validators[schema["title"]] = Draft202012Validator(schema)
    return validators


def assert_valid_event(envelope: Any) -> None:
    """The envelope validates against the committed schema of its type."""
    if isinstance(envelope, bytes | str):
        envelope = json.loads(envelope)
    validator = _validators().get(envelope.get("type"))
    assert validator is not None, f"no committed schema for event type {envelope.get('type')!r}"
    errors = [e.message for e in validator.iter_errors(envelope)]
    assert not errors, f"{envelope['type']} breaks its schema: {errors}"


def plain_postgres_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_fetch(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(plain_postgres_url(url))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def pg_execute(url: str, sql: str) -> list[Any]:
    return run_coroutine(_pg_fetch(url, sql))


@contextmanager
def private_postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`, dropped on exit; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    pg_execute(server_url, f"CREATE DATABASE {name}")
    try:
        yield plain_postgres_url(server_url).rsplit("/", 1)[0] + f"/{name}"
    finally:
        pg_execute(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fetch_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a plain SQL query, read behind the application's back (either engine)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql))
    return [tuple(row) for row in pg_execute(url, sql)]


def stored_event_bodies(url: str) -> list[bytes]:
    """Every event in the database, whatever its state (positioned or not)."""
    return [bytes(row[0]) for row in fetch_rows(url, "SELECT body FROM events ORDER BY id")]


def _literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def query_plan(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> str:
    """The plan the engine runs `statement` with; on PostgreSQL the generic plan of a prepared
    statement (the one asyncpg's statement cache ends up with), which cannot lean on the values."""

    def explain(sync: SyncConnection) -> str:
        compiled = statement.compile(dialect=sync.dialect)
        assert isinstance(compiled, SQLCompiler)
        expanded = compiled.construct_expanded_state(params)
        sql, ordered = expanded.statement, expanded.positional_parameters
        if sync.dialect.name == "postgresql":
            name = f"provisio_plan_{uuid.uuid4().hex}"
            sync.exec_driver_sql(f"PREPARE {name} AS {sql}")
            sync.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            arguments = ", ".join(_literal(value) for value in ordered)
            rows = sync.exec_driver_sql(f"EXPLAIN EXECUTE {name}({arguments})")
        else:
            rows = sync.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", tuple(ordered))
        return "\n".join(str(row[-1]) for row in rows)

    return await conn.run_sync(explain)


def missing_tool(message: str) -> None:
    """A test needs a program the machine lacks: under `CI=true` (CI installs it, `.ci/run`)
    that is a failure, on a developer's machine a skip that says why."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
