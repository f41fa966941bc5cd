"""`X-Request-Id`: accepted or made, echoed on every answer, in every log line of the request."""

import json
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from tests.api.helpers import RECIPES
from tests.conftest import Tenant, make_tenant, settings_for

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app(database_url: str) -> FastAPI:
    app = create_app(settings_for(database_url, log_format="json", max_body_bytes=100))

    @app.get("/failing")
    async def failing() -> None:
        raise RuntimeError("an unexpected failure")

    return app


@pytest.fixture
def json_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _log_lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_sane_id_is_echoed_and_an_absent_one_is_made(json_client: TestClient) -> None:
    tenant = make_tenant(json_client)
    sent = "edge-7f3a:trace/1=+"
    answer = json_client.get(RECIPES, headers={**tenant.headers, "X-Request-Id": sent})
    assert answer.headers["X-Request-Id"] == sent
    made = [json_client.get(RECIPES, headers=tenant.headers).headers["X-Request-Id"] for _ in "ab"]
    assert all(GENERATED.fullmatch(rid) for rid in made)
    assert made[0] != made[1]


@pytest.mark.parametrize("sent", [b"", b"x" * 129, b"two words", b"tab\tbed", "é".encode()])
def test_an_unusable_id_is_replaced(json_client: TestClient, sent: bytes) -> None:
    answer = json_client.get("/healthz", headers={b"X-Request-Id": sent})
    assert GENERATED.fullmatch(answer.headers["X-Request-Id"])


def test_every_answer_carries_the_id_errors_included(json_client: TestClient) -> None:
    tenant = make_tenant(json_client)
    headers = {"X-Request-Id": "rid-1"}
    answers = [
        json_client.get(RECIPES, headers=headers),  # 401
        json_client.get("/v1/nothing-here", headers=headers),  # 404
        json_client.post(RECIPES, content=b"x" * 200, headers={**headers, **tenant.headers}),
        json_client.post(RECIPES, content=b"brand=x", headers={**headers, "Content-Type": "a/b"}),
        json_client.post(RECIPES, json={"brand": 1}, headers={**headers, **tenant.headers}),
        json_client.get("/failing", headers=headers),
    ]
    assert [a.status_code for a in answers] == [401, 404, 413, 415, 422, 500]
    assert all(a.headers["X-Request-Id"] == "rid-1" for a in answers)
    assert list(answers[-1].json()) == ["errorCode", "errorName", "message", "details"]


def test_every_log_line_of_a_request_carries_its_id(
    json_client: TestClient, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    json_client.get("/failing", headers={"X-Request-Id": "rid-failing"})
    json_client.get(RECIPES, headers={**tenant.headers, "X-Request-Id": "rid-listing"})
    lines = _log_lines(capsys.readouterr().err)
    by_id = {
        rid: [line for line in lines if line.get("request_id") == rid]
        for rid in ("rid-failing", "rid-listing")
    }
    failed = {line["event"] for line in by_id["rid-failing"]}
    assert {"http.request_failed", "http.request"} <= failed, lines
    crash = next(line for line in by_id["rid-failing"] if line["event"] == "http.request_failed")
    assert "an unexpected failure" in json.dumps(crash["exception"])
    assert [line["status"] for line in by_id["rid-listing"] if line["event"] == "http.request"] == [
        200
    ]
    assert all("request_id" in line for line in lines if str(line["event"]).startswith("http."))


@pytest.fixture
def tenant(json_client: TestClient) -> Tenant:
    return make_tenant(json_client)
