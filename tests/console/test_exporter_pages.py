"""The Exporters pages without a browser: refused forms, forged posts, other tenants' uids,
odd input, and the write-only secret."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from tests.conftest import Tenant, make_tenant, settings_for
from tests.console.sign_in import sign_in
from tests.support import fetch_rows

SECRET = "console-exporter-secret-0123456789abcdef"
URL = "http://127.0.0.1:9/hook"
TYPES = ["Device.ProvisioningRecipeCreated"]
API = "/v1/event-stream/exporter"


@pytest.fixture
def app_client(database_url: str) -> Iterator[TestClient]:
    """The app with loopback webhook URLs allowed, as the console's browser tests run it."""
    settings = settings_for(
        database_url, webhook_allow_http=True, webhook_allowed_networks="127.0.0.0/8"
    )
    with TestClient(create_app(settings)) as client:
        yield client


def api_exporter(client: TestClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    body = {
        "name": "cms",
        "subscribedEventTypes": TYPES,
        "enabled": True,
        "config": {
            "configType": "webhook",
            "url": URL,
            "auth": {
                "authType": "httpSignedBody",
                "signing": {"algorithm": "HS256", "secret": SECRET},
            },
        },
        **changes,
    }
    answer = client.post(API, json=body, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def api_state(client: TestClient, tenant: Tenant) -> list[dict[str, Any]]:
    answer = client.get(API, headers=tenant.headers)
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()
    return found


def form(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "cms",
        "config.url": URL,
        "config.auth.signing.secret": SECRET,
        "subscribedEventTypes": TYPES,
        "enabled": "true",
    }
    values.update(fields)
    return {name: value for name, value in values.items() if value is not None}


def messages_of(html: str, field: str) -> list[str]:
    """The messages shown next to a field (`<p class="error" id="<field>-error">`)."""
    return re.findall(rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', html)


def test_a_refused_form_says_why_next_to_each_field_and_keeps_all_but_the_secret(
    app_client: TestClient,
) -> None:
    tenant = make_tenant(app_client)
    csrf = sign_in(app_client, tenant)
    sent = form(
        csrf_token=csrf,
        name="Lobby CMS",
        subscribedEventTypes=None,
        **{"config.url": "https://10.1.2.3/hook"},
    )
    answer = app_client.post("/console/exporters/new", data=sent)
    assert answer.status_code == 422
    html = answer.text
    assert messages_of(html, "config.url") == ["10.1.2.3 is not a public address"]
    assert messages_of(html, "subscribedEventTypes") == [
        "List should have at least 1 item after validation, not 0"
    ]
    assert 'value="Lobby CMS"' in html
    assert 'value="https://10.1.2.3/hook"' in html
    assert SECRET not in html
    assert api_state(app_client, tenant) == []

    short = "too-short-a-secret"
    answer = app_client.post(
        "/console/exporters/new",
        data=form(csrf_token=csrf, **{"config.auth.signing.secret": short}),
    )
    assert answer.status_code == 422
    assert messages_of(answer.text, "config.auth.signing.secret") == [
        "String should have at least 32 characters"
    ]
    assert short not in answer.text
    assert api_state(app_client, tenant) == []


def test_an_exporter_made_and_edited_in_the_console_keeps_its_secret_out_of_every_page(
    app_client: TestClient, database_url: str
) -> None:
    tenant = make_tenant(app_client)
    csrf = sign_in(app_client, tenant)
    created = app_client.post(
        "/console/exporters/new", data=form(csrf_token=csrf), follow_redirects=False
    )
    assert created.status_code == 303
    page = created.headers["location"]
    (exporter,) = api_state(app_client, tenant)
    assert page == f"/console/exporters/{exporter['uid']}"
    assert (exporter["name"], exporter["enabled"], exporter["subscribedEventTypes"]) == (
        "cms",
        True,
        TYPES,
    )
    for path in ("/console/exporters", page, f"{page}/edit", f"{page}/delete"):
        shown = app_client.get(path)
        assert shown.status_code == 200
        assert SECRET not in shown.text

    # An empty Secret keeps the stored one; an empty description clears it.
    edited = app_client.post(
        f"{page}/edit",
        data=form(
            csrf_token=csrf,
            name="renamed",
            description="",
            enabled=None,
            **{"config.auth.signing.secret": ""},
        ),
        follow_redirects=False,
    )
    assert edited.status_code == 303
    (exporter,) = api_state(app_client, tenant)
    assert (exporter["name"], exporter["enabled"]) == ("renamed", False)
    assert fetch_rows(database_url, "SELECT secret FROM exporters") == [(SECRET,)]

    refused = app_client.post(
        f"{page}/edit",
        data=form(csrf_token=csrf, name="", **{"config.auth.signing.secret": "x" * 600}),
    )
    assert refused.status_code == 422
    assert messages_of(refused.text, "name")
    assert messages_of(refused.text, "config.auth.signing.secret") == [
        "String should have at most 512 characters"
    ]
    assert "x" * 600 not in refused.text

    rotated = "another-secret-of-enough-length-0123456789"
    edited = app_client.post(
        f"{page}/edit",
        data=form(csrf_token=csrf, **{"config.auth.signing.secret": rotated}),
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert fetch_rows(database_url, "SELECT secret FROM exporters") == [(rotated,)]
    assert rotated not in app_client.get(page).text


ACTIONS = ("edit", "enable", "disable", "replay", "test", "delete")


def test_a_forged_post_is_refused_and_changes_nothing(app_client: TestClient) -> None:
    tenant = make_tenant(app_client)
    sign_in(app_client, tenant)
    exporter = api_exporter(app_client, tenant)
    before = api_state(app_client, tenant)
    paths = ["/console/exporters/new"]
    paths += [f"/console/exporters/{exporter['uid']}/{action}" for action in ACTIONS]
    for path in paths:
        for forged in ({}, {"csrf_token": "forged"}):
            answer = app_client.post(path, data={**form(name="forged"), **forged})
            assert answer.status_code == 403, (path, forged)
            assert "not found" not in answer.text
    assert api_state(app_client, tenant) == before


def test_another_organizations_exporter_is_a_not_found_page(app_client: TestClient) -> None:
    tenant = make_tenant(app_client)
    other = make_tenant(app_client, "Other", "Hall")
    csrf = sign_in(app_client, tenant)
    theirs = api_exporter(app_client, other)
    before = api_state(app_client, other)
    page = f"/console/exporters/{theirs['uid']}"
    for path in (page, f"{page}/edit", f"{page}/delete"):
        answer = app_client.get(path)
        assert answer.status_code == 404, path
        assert "not found" in answer.text
        assert "cms" not in answer.text
    for action in ACTIONS:
        answer = app_client.post(f"{page}/{action}", data=form(csrf_token=csrf, name="mine"))
        assert answer.status_code == 404, action
        assert "not found" in answer.text
    assert api_state(app_client, other) == before
    assert api_state(app_client, tenant) == []
    missing = "0" * 32
    assert app_client.get(f"/console/exporters/{missing}").status_code == 404
    assert app_client.get("/console/exporters/not-a-uid").status_code == 404


def test_odd_input_never_gives_a_500(app_client: TestClient) -> None:
    tenant = make_tenant(app_client)
    csrf = sign_in(app_client, tenant)
    exporter = api_exporter(app_client, tenant)
    before = api_state(app_client, tenant)
    page = f"/console/exporters/{exporter['uid']}"
    odd_forms = [
        form(name="nul\x00here"),
        form(**{"config.url": "http://127.0.0.1:9/\x00"}),
        form(**{"config.url": "http://[::1"}),
        form(**{"config.url": "x" * 5000}),
        form(**{"config.auth.signing.secret": "\x00" * 40}),
        form(subscribedEventTypes=["Device.Nope", "Device.Nope"]),
        form(subscribedEventTypes=TYPES * 2),
        form(enabled="maybe", name=" "),
        form(name="n" * 10_000),
    ]
    for sent in odd_forms:
        for path in ("/console/exporters/new", f"{page}/edit"):
            answer = app_client.post(path, data={**sent, "csrf_token": csrf})
            assert answer.status_code == 422, (path, sent, answer.text)
    for raw in (b"name=%FF%FE&description=%ED%A0%80", b"name=a&&&=&%%%", b"\xff\x00"):
        answer = app_client.post(
            "/console/exporters/new",
            content=raw + f"&csrf_token={csrf}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 422, (raw, answer.text)
    upload = app_client.post(
        "/console/exporters/new",
        data={"csrf_token": csrf},
        files={"name": ("name.txt", b"a file, not text"), "config.url": ("u", b"x")},
    )
    assert upload.status_code == 422
    for query in ("?status=bogus", "?before=-1", "?before=x", "?replayed=-2", "?status=%00"):
        answer = app_client.get(f"{page}{query}")
        assert answer.status_code == 400, query
    assert app_client.get(f"{page}?status=failed&before=99").status_code == 200
    assert app_client.get("/console/exporters?after=-1").status_code == 400
    assert api_state(app_client, tenant) == before


def test_enable_disable_replay_and_delete(app_client: TestClient) -> None:
    tenant = make_tenant(app_client)
    csrf = sign_in(app_client, tenant)
    exporter = api_exporter(app_client, tenant)
    page = f"/console/exporters/{exporter['uid']}"

    answer = app_client.post(f"{page}/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, page)
    assert api_state(app_client, tenant)[0]["enabled"] is False
    assert '<span class="status status-disabled">Disabled</span>' in app_client.get(page).text
    app_client.post(f"{page}/enable", data={"csrf_token": csrf})
    assert api_state(app_client, tenant)[0]["enabled"] is True

    answer = app_client.post(f"{page}/replay", data={"csrf_token": csrf})
    assert answer.status_code == 200
    assert "0 failed deliveries queued again." in answer.text

    assert "Delete exporter" in app_client.get(f"{page}/delete").text
    answer = app_client.post(f"{page}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/exporters")
    assert api_state(app_client, tenant) == []
    assert app_client.get(page).status_code == 404
