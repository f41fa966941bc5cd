"""Every failure answers with the documented error body and changes nothing."""

import asyncio
import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

import provisio
from provisio.api.app import create_app
from provisio.api.errors import status_of
from provisio.domain.errors import DomainError
from provisio.store.contention import Contended
from provisio.store.devices import IdentityTaken
from tests.api.helpers import RECIPES, create
from tests.conftest import POSTGRES_URL, Tenant, make_tenant, settings_for
from tests.processes import eventually
from tests.support import pg_execute, private_postgres_database

ERROR_KEYS = ["errorCode", "errorName", "message", "details"]


def _assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert list(body) == ERROR_KEYS
    assert body["errorCode"] == status
    return body


@pytest.mark.parametrize("header", [None, "", "nocolon", "abc:def", "0" * 32 + ":wrong"])
def test_missing_or_bad_tokens_are_401(
    client: TestClient, tenant: Tenant, header: str | None
) -> None:
    headers = {"X-Auth": header} if header is not None else {}
    _assert_error(client.get(RECIPES, headers=headers), 401)
    _assert_error(
        client.post(RECIPES, json={"brand": "lg", "serialNumber": "1"}, headers=headers), 401
    )
    assert client.get(RECIPES, headers=tenant.headers).json() == []


def test_a_right_token_id_with_a_wrong_secret_is_401(client: TestClient, tenant: Tenant) -> None:
    token_id = tenant.token.split(":")[0]
    _assert_error(client.get(RECIPES, headers={"X-Auth": f"{token_id}:not-the-secret"}), 401)


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"brand": "lg",', "application/json", 400),
        (b"brand=lg", "application/x-www-form-urlencoded", 415),
        (b'{"brand": "lg", "serialNumber": "1"}', "text/plain", 415),
    ],
)
def test_unreadable_bodies_are_refused_and_store_nothing(
    client: TestClient, tenant: Tenant, content: bytes, content_type: str, status: int
) -> None:
    headers = {**tenant.headers, "Content-Type": content_type}
    _assert_error(client.post(RECIPES, content=content, headers=headers), status)
    assert client.get(RECIPES, headers=tenant.headers).json() == []


def test_unknown_fields_are_422_never_dropped(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        RECIPES,
        json={"brand": "lg", "serialNumber": "1", "status": "Applied"},
        headers=tenant.headers,
    )
    body = _assert_error(response, 422)
    assert body["details"] == [{"field": "status", "message": "Extra inputs are not permitted"}]


def test_strict_types_refuse_coercion(client: TestClient, tenant: Tenant) -> None:
    response = client.post(
        RECIPES,
        json={"brand": "lg", "serialNumber": 12345, "confirmedOwnership": "yes"},
        headers=tenant.headers,
    )
    body = _assert_error(response, 422)
    assert {d["field"] for d in body["details"]} == {"serialNumber", "confirmedOwnership"}


def test_validation_errors_do_not_echo_the_input(client: TestClient, tenant: Tenant) -> None:
    secret = "s3cr3t-value-that-must-not-echo"
    response = client.post(
        RECIPES, json={"brand": "lg", "nonsense": secret}, headers=tenant.headers
    )
    _assert_error(response, 422)
    assert secret not in response.text


@pytest.fixture
def small_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(database_url, max_body_bytes=200))) as test_client:
        yield test_client


def test_an_oversized_body_is_413_whether_declared_or_streamed(small_client: TestClient) -> None:
    tenant = make_tenant(small_client)
    big = b'{"brand": "lg", "serialNumber": "' + b"x" * 400 + b'"}'
    headers = {**tenant.headers, "Content-Type": "application/json"}
    _assert_error(small_client.post(RECIPES, content=big, headers=headers), 413)

    def chunks() -> Iterator[bytes]:
        yield from (big[i : i + 50] for i in range(0, len(big), 50))

    _assert_error(small_client.post(RECIPES, content=chunks(), headers=headers), 413)
    assert small_client.get(RECIPES, headers=tenant.headers).json() == []
    create(small_client, tenant, serialNumber="fits")


def test_unknown_routes_use_the_error_body(client: TestClient, tenant: Tenant) -> None:
    _assert_error(client.get("/v1/nothing-here", headers=tenant.headers), 404)
    _assert_error(client.patch(RECIPES, json={}, headers=tenant.headers), 405)


async def test_a_non_numeric_content_length_is_400(client: TestClient, tenant: Tenant) -> None:
    """httpx always sends a correct Content-Length, so speak ASGI to the app directly."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": RECIPES,
        "raw_path": RECIPES.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"False"),
            (b"x-auth", tenant.token.encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await client.app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert b'"errorCode":400' in b"".join(m.get("body", b"") for m in sent)


def _every_domain_error() -> list[type[DomainError]]:
    """Every subclass anywhere in provisio (each module imported, migrations aside)."""
    for module in pkgutil.walk_packages(provisio.__path__, "provisio."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[DomainError]] = []
    pending = [DomainError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def test_every_domain_error_answers_a_4xx_by_its_family() -> None:
    kinds = _every_domain_error()
    assert {Contended, IdentityTaken} <= set(kinds)
    for kind in kinds:
        assert 400 <= status_of(kind) < 500, kind
    assert status_of(IdentityTaken) == status_of(Contended) == 409


def test_a_contended_request_answers_409_with_the_error_body(database_url: str) -> None:
    app = create_app(settings_for(database_url))

    @app.get("/contended")
    async def contended() -> None:
        raise IdentityTaken("another device holds this identity")

    with TestClient(app) as test_client:
        body = _assert_error(test_client.get("/contended"), 409)
    assert body["message"] == "another device holds this identity"


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only: SQLite writers never deadlock")
def test_a_request_losing_a_deadlock_answers_409() -> None:
    """The request locks its recipe, then waits for the events table, which this test holds
    while it waits for that recipe: PostgreSQL ends the request's transaction (its deadlock
    check comes first), which the client sees as a 409 it may retry."""
    assert POSTGRES_URL is not None
    with private_postgres_database(POSTGRES_URL, "provisio_deadlock") as url:
        # The request's deadlock check runs this long after it starts waiting: time enough for
        # this test to close the cycle even on a busy machine. The test's own check never runs.
        database = url.rsplit("/", 1)[1]
        pg_execute(url, f"ALTER DATABASE {database} SET deadlock_timeout = '3s'")
        with TestClient(create_app(settings_for(url), background=False)) as test_client:
            tenant = make_tenant(test_client)
            uid = create(test_client, tenant, serialNumber="SN-DEADLOCK")["uid"]
            answer = asyncio.run(_deadlock(url, test_client, tenant, uid))
            body = _assert_error(answer, 409)
            assert body["message"] == "a concurrent change got in the way; try again"
            recipe = test_client.get(f"{RECIPES}/{uid}", headers=tenant.headers).json()
            assert "deviceName" not in recipe


async def _deadlock(url: str, client: TestClient, tenant: Tenant, uid: str) -> httpx.Response:
    """Hold the events table, let the PUT lock its recipe and block on it, then wait for that
    recipe: a cycle. Answers what the PUT got."""
    holder = await asyncpg.connect(url)
    try:
        await holder.execute("SET deadlock_timeout = '60s'")
        async with holder.transaction():
            await holder.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            put = asyncio.create_task(
                asyncio.to_thread(
                    client.put,
                    f"{RECIPES}/{uid}",
                    json={"deviceName": "renamed"},
                    headers=tenant.headers,
                )
            )
            await eventually(lambda: _waiting_on_a_lock(holder), "the request blocked")
            await holder.execute("SELECT 1 FROM recipes WHERE uid = $1 FOR UPDATE", uid)
            return await put
    finally:
        await holder.close()


async def _waiting_on_a_lock(conn: asyncpg.Connection) -> bool:
    waiting = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return bool(waiting)
