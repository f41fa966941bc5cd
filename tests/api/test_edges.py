"""Inputs at the edge of what a request may carry, sent to every operation the API has.

The operations are read from the app's OpenAPI schema, so a new route is tested (or the test
names it as missing an example) without anyone remembering to add it.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from tests.api.helpers import outbox
from tests.conftest import DEVICE_KEY, Tenant, settings_for

UID = "0" * 32
RECIPE = {
    "brand": "samsung",
    "model": "QM55",
    "serialNumber": "SN-1",
    "macAddress": "aa:bb:cc:dd:ee:ff",
    "deviceName": "Lobby",
    "tagUids": [UID],
    "policyUid": UID,
    "locationUid": UID,
}
EXPORTER = {
    "name": "hook",
    "description": "a receiver",
    "subscribedEventTypes": ["DeviceProvisioningRecipeCreated"],
    "config": {
        "configType": "webhook",
        "url": "https://receiver.example/hook",
        "auth": {
            "authType": "httpSignedBody",
            "signing": {"algorithm": "HS256", "secret": "s" * 40},
        },
    },
}
BULK = "POST /v1/provisioning-recipe/bulk"
ITEM = {"type": "VOLUME", "applicationType": "tizen", "value": "loud"}
BODIES: dict[str, Any] = {
    "POST /v1/organization": {"name": "Branch", "title": "Branch office"},
    "PUT /v1/organization/{uid}": {"title": "Branch office"},
    "POST /v1/organization/{uid}/security-token": {"name": "ci"},
    "POST /v1/provisioning-recipe": {**RECIPE, "organizationUid": UID},
    "PUT /v1/provisioning-recipe/{uid}": RECIPE,
    BULK: [RECIPE],
    "POST /v1/device/register": {
        "brand": "samsung",
        "model": "QM55",
        "serialNumber": "SN-1",
        "macAddresses": ["aa:bb:cc:dd:ee:ff"],
        "firmwareVersion": "1.0",
    },
    "POST /v1/device/verification": {"verificationHash": "abc123", "organizationUid": UID},
    "PUT /v1/device/{uid}": {"name": "Lobby"},
    "PUT /v1/device/{uid}/location/{locationUid}": {},
    "PUT /v1/device/{uid}/organization-tag/{tagUid}": {},
    "POST /v1/device/{uid}/policy": {"uid": UID, "priority": 1},
    "POST /v1/event-stream/exporter": {**EXPORTER, "organizationUid": UID},
    "PUT /v1/event-stream/exporter/{uid}": EXPORTER,
    "POST /v1/event-stream/exporter/{uid}/replay": {"eventIds": ["an-event-id"]},
    "POST /v1/organization-tag": {
        "name": "north",
        "organizationUid": UID,
        "color": "red",
        "parentTagUid": UID,
    },
    "PUT /v1/organization-tag/{uid}": {"name": "north", "color": "red", "parentTagUid": UID},
    "POST /v1/policy": {"name": "night", "organizationUid": UID, "note": "n", "items": [ITEM]},
    "PUT /v1/policy/{uid}": {"name": "night", "note": "n", "items": [ITEM]},
    "PUT /v1/policy/{uid}/archive": {"archived": True},
    "POST /v1/location": {
        "name": "hall",
        "organizationUid": UID,
        "address": "Main street 1",
        "customId": "H-1",
        "description": "d",
        "tagUids": [UID],
    },
    "PUT /v1/location/{uid}": {
        "name": "hall",
        "address": "Main street 1",
        "customId": "H-1",
        "description": "d",
    },
    "PUT /v1/location/{uid}/organization-tag/{tagUid}": {},
}
"""A valid body for each operation that takes JSON (its resources need not exist)."""

UNSTORABLE = {"nul": "a\x00b", "surrogate": "a\ud800b"}


def _operations() -> dict[str, dict[str, Any]]:
    schema = create_app(settings_for("sqlite://")).openapi()
    return {
        f"{method.upper()} {path}": operation
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }


OPERATIONS = _operations()
JSON_BODIES = sorted(
    name
    for name, operation in OPERATIONS.items()
    if "application/json" in operation.get("requestBody", {}).get("content", {})
)
WITH_INPUTS = sorted(
    name for name, operation in OPERATIONS.items() if name in BODIES or "parameters" in operation
)


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The path of every string in a JSON value."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index))


def _replaced(value: Any, path: tuple[str | int, ...], new: str) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def _filled(template: str, value: str) -> str:
    """The template with `value` for each of its path parameters, whatever they are named."""
    return re.sub(r"\{[^}]+\}", value, template)


def _send(
    client: TestClient,
    tenant: Tenant,
    name: str,
    body: Any = None,
    *,
    uid: str = UID,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    method, template = name.split(" ")
    headers = {**tenant.headers, "X-Device-Key": DEVICE_KEY}
    content = None
    if body is not None:
        content = json.dumps(body).encode()  # escapes U+0000 and surrogates as \\u sequences
        headers["Content-Type"] = "application/json"
    return client.request(
        method, _filled(template, uid), content=content, headers=headers, params=params
    )


def _fields(response: httpx.Response, status: int) -> set[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errorCode", "errorName", "message", "details"]
    return {detail["field"] for detail in body["details"]}


def test_every_operation_with_a_json_body_has_an_example() -> None:
    assert set(JSON_BODIES) == set(BODIES)


@pytest.mark.parametrize("name", WITH_INPUTS)
@pytest.mark.parametrize("character", list(UNSTORABLE))
def test_characters_a_database_cannot_store_are_refused_at_the_edge(
    client: TestClient, tenant: Tenant, database_url: str, name: str, character: str
) -> None:
    """422 naming the field in a body or query, 404 for a path uid; nothing stored."""
    bad = UNSTORABLE[character]
    body = BODIES.get(name)
    for leaf in _leaves(body):
        response = _send(client, tenant, name, _replaced(body, leaf, bad))
        field = leaf[1:] if isinstance(body, list) else leaf  # bulk details give the row apart
        assert ".".join(map(str, field)) in _fields(response, 422), (leaf, response.text)
    if character == "nul":  # a URL cannot carry a surrogate: it is UTF-8 decoded with replacement
        for parameter in OPERATIONS[name].get("parameters", []):
            where, parameter_name = parameter["in"], parameter["name"]
            if where == "query":
                response = _send(client, tenant, name, body, params={parameter_name: bad})
                named = {field.split(".")[0] for field in _fields(response, 422)}
                assert parameter_name in named, response.text
            elif where == "path":
                _fields(_send(client, tenant, name, body, uid="a%00b"), 404)
    assert outbox(database_url, tenant.organization_uid) == []


def _nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)


LIMITS = {
    "nested 65 deep": (_nested(65), "nested deeper than 64 levels"),
    "nested 10,000 deep": (_nested(10_000), "nested deeper than 64 levels"),
    "a 101-digit integer": (b'{"name": ' + b"9" * 101 + b"}", "longer than 100 digits"),
    "a 5,000-digit integer": (b'{"name": -' + b"9" * 5000 + b"}", "longer than 100 digits"),
    "a 101-digit float": (b'{"name": 0.' + b"1" * 100 + b"}", "longer than 100 digits"),
    "NaN": (b'{"name": NaN}', "not valid JSON"),
    "malformed": (b'{"name": "x",', "not valid JSON"),
    "not UTF-8": (b'{"name": "\xff"}', "not valid JSON"),
}
WITHIN = {"nested 64 deep": _nested(64), "a 100-digit integer": b'{"name": ' + b"9" * 100 + b"}"}


@pytest.mark.parametrize("name", JSON_BODIES)
def test_json_beyond_the_limits_is_400_on_every_json_operation(
    client: TestClient, tenant: Tenant, database_url: str, name: str
) -> None:
    method, template = name.split(" ")
    headers = {**tenant.headers, "X-Device-Key": DEVICE_KEY, "Content-Type": "application/json"}
    url = _filled(template, UID)
    for raw, message in LIMITS.values():
        response = client.request(method, url, content=raw, headers=headers)
        _fields(response, 400)
        assert message in response.json()["message"]
    for raw in WITHIN.values():  # parsed, then refused for its shape, not for its size
        _fields(client.request(method, url, content=raw, headers=headers), 422)
    assert outbox(database_url, tenant.organization_uid) == []
