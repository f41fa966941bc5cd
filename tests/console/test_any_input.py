"""No console page answers 500, whatever a signed-in browser sends: every console route is
tried with arbitrary form fields (the console's own names and others), query parameters and
path segments."""

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisio.console.app import PAGES
from tests.conftest import Tenant
from tests.console.sign_in import sign_in

FIELDS = [
    "brand", "model", "serialNumber", "macAddress", "deviceName", "tagUids", "policyUid",
    "locationUid", "confirmedOwnership", "name", "url", "subscribedEventTypes", "secret",
    "enabled", "description", "verificationHash", "color", "parentTagUid", "note", "items",
    "address", "lat", "long", "customId", "mode", "organizationUid", "status", "type", "after",
    "before", "q", "uid", "archived", "token",
]  # fmt: skip
"""The names console forms use (and a few they do not)."""

values = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(["", "0", "-1", "true", "null", "[]", "{}", "x" * 5000, "a" * 32, "\x00"]),
)
forms = st.lists(st.tuples(st.sampled_from(FIELDS) | st.text(max_size=8), values), max_size=8)
segments = st.sampled_from(["0" * 32, "f" * 32, "x", "%00", "..", "a" * 300, "\u00e9"])


def _console_routes() -> list[tuple[str, str]]:
    found = [
        (method, route.path)
        for module in PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    assert len(found) > len(PAGES)
    return found


def _fill(path: str, segment: str) -> str:
    return re.sub(r"\{[^}]+\}", segment, path)


@pytest.fixture
def signed_in(client: TestClient, tenant: Tenant) -> tuple[TestClient, str]:
    return client, sign_in(client, tenant.token)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_console_route_answers_500(
    signed_in: tuple[TestClient, str], data: st.DataObject
) -> None:
    client, csrf = signed_in
    for method, path in _console_routes():
        if path == "/console/sign-out":
            continue  # it would end the session the other routes are tried with
        url = _fill(path, data.draw(segments))
        form: dict[str, list[str]] = {}
        for name, value in data.draw(forms):
            form.setdefault(name, []).append(value)
        if method == "GET":
            answer = client.get(url, params=form, follow_redirects=False)
        else:
            form["csrf_token"] = [csrf]
            answer = client.post(url, data=form, follow_redirects=False)
        assert answer.status_code < 500, (method, url, form, answer.text[:500])
        assert "Traceback" not in answer.text
