"""Console sessions without a browser: where they live, how they end, what they refuse."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from provisio.service.console_sessions import IDLE_LIMIT
from provisio.service.tenancy import Principal
from tests.api.helpers import account_headers
from tests.conftest import Tenant, make_tenant, settings_for
from tests.console.sign_in import csrf_of, sign_in
from tests.support import fetch_rows, pg_execute

RECIPES = "/console/recipes"


def _signed_out(client: TestClient) -> bool:
    answer = client.get(RECIPES, follow_redirects=False)
    return answer.status_code == 303 and answer.headers["location"] == "/console/sign-in"


def _sql(database_url: str, statement: str) -> None:
    if database_url.startswith("postgresql"):
        pg_execute(database_url, statement)
        return
    import sqlite3

    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute(statement)


def test_the_database_keeps_only_a_hash_of_the_cookie(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    sign_in(client, tenant.token)
    cookie = client.cookies["provisio_session"]
    (stored,) = fetch_rows(database_url, "SELECT id_hash, token_id FROM console_sessions")
    assert cookie not in stored[0]
    assert stored[1] == tenant.token.split(":")[0]
    assert tenant.token.split(":")[1] not in str(stored)


def test_a_session_idle_for_twelve_hours_is_over(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    sign_in(client, tenant.token)
    long_ago = (datetime.now(UTC) - IDLE_LIMIT - timedelta(minutes=1)).isoformat(sep=" ")
    _sql(database_url, f"UPDATE console_sessions SET last_seen_at = '{long_ago}'")
    assert _signed_out(client)
    assert fetch_rows(database_url, "SELECT id_hash FROM console_sessions") == []


def test_using_a_session_keeps_it_alive(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    sign_in(client, tenant.token)
    lately = (datetime.now(UTC) - IDLE_LIMIT + timedelta(minutes=5)).isoformat(sep=" ")
    _sql(database_url, f"UPDATE console_sessions SET last_seen_at = '{lately}'")
    assert client.get(RECIPES).status_code == 200
    ((seen,),) = fetch_rows(database_url, "SELECT last_seen_at FROM console_sessions")
    assert str(seen) > lately[:16]


def test_revoking_the_token_ends_its_console_sessions(client: TestClient, tenant: Tenant) -> None:
    sign_in(client, tenant.token)
    token_id = tenant.token.split(":")[0]
    revoked = client.delete(
        f"/v1/organization/{tenant.organization_uid}/security-token/{token_id}",
        headers=account_headers(client, tenant),
    )
    assert revoked.status_code == 204
    assert _signed_out(client)


def test_the_cookie_is_secure_when_served_over_https(database_url: str) -> None:
    app = create_app(settings_for(database_url))
    with TestClient(app, base_url="https://console.example") as client:
        form = client.get("/console/sign-in")
        assert "Secure" in form.headers["set-cookie"]  # the sign-in form's own token
        answer = client.post(
            "/console/sign-in",
            data={"token": make_tenant(client).token, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        cookie = answer.headers["set-cookie"]
        assert "provisio_session=" in cookie
        for attribute in ("HttpOnly", "Secure", "SameSite=strict"):
            assert attribute in cookie


@pytest.mark.parametrize("sent", [{}, {"csrf_token": "forged"}])
def test_a_sign_in_without_the_forms_token_is_refused(
    client: TestClient, tenant: Tenant, sent: dict[str, str], database_url: str
) -> None:
    answer = client.post("/console/sign-in", data={"token": tenant.token, **sent})
    assert answer.status_code == 403
    assert "provisio_session" not in client.cookies
    assert fetch_rows(database_url, "SELECT id_hash FROM console_sessions") == []


@pytest.mark.parametrize(
    "cookie",
    [b"", b"x", "\u00f6".encode() * 3, b"a" * 5000, b"1; provisio_session=2", b"%00", b"\xff"],
)
def test_any_cookie_is_a_signed_out_browser(client: TestClient, cookie: bytes) -> None:
    answer = client.get(
        RECIPES, headers={b"Cookie": b"provisio_session=" + cookie}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")


def test_an_account_token_chooses_its_organization(client: TestClient, tenant: Tenant) -> None:
    account = account_headers(client, tenant)
    other = client.post("/v1/organization", json={"name": "Warehouse"}, headers=account).json()
    csrf = sign_in(client, account["X-Auth"])
    page = client.get(RECIPES).text
    assert 'id="organization"' in page
    assert "Warehouse" in page

    client.post(
        "/v1/provisioning-recipe",
        json={"brand": "lg", "serialNumber": "W-1", "organizationUid": other["uid"]},
        headers=account,
    )
    assert "W-1" not in client.get(RECIPES).text
    chosen = client.post(
        "/console/organization",
        data={"organizationUid": other["uid"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert "W-1" in client.get(RECIPES).text

    foreign = make_tenant(client, "Elsewhere", "Theirs")
    refused = client.post(
        "/console/organization",
        data={"organizationUid": foreign.organization_uid, "csrf_token": csrf},
    )
    assert refused.status_code == 404
    assert "W-1" in client.get(RECIPES).text


def test_an_organization_token_has_no_organization_selector(
    client: TestClient, tenant: Tenant
) -> None:
    sign_in(client, tenant.token)
    page = client.get(RECIPES).text
    assert 'id="organization"' not in page
    assert "Lobby" in page


def test_unknown_console_pages_are_not_found_pages(client: TestClient, tenant: Tenant) -> None:
    assert _signed_out(client)
    assert client.get("/console/no/such/page", follow_redirects=False).status_code == 303
    sign_in(client, tenant.token)
    answer = client.get("/console/no/such/page")
    assert answer.status_code == 404
    assert "text/html" in answer.headers["content-type"]
    assert "not found" in answer.text.lower()


def test_the_console_can_be_turned_off(database_url: str) -> None:
    with TestClient(create_app(settings_for(database_url, console=False))) as client:
        assert client.get("/console/sign-in").status_code == 404
        assert client.get("/console/static/htmx.min.js").status_code == 404


def test_a_narrowed_account_token_acts_on_one_organization_as_itself() -> None:
    account = Principal("t" * 32, 7, "c" * 32, None)
    narrowed = account.narrowed_to("o" * 32)
    assert narrowed.organization_uid == "o" * 32  # scope: that organization only
    originator = narrowed.actor("o" * 32).originator
    assert originator is not None
    assert (originator.account_id, originator.organization_uid) == (7, None)
    narrowed.require_account_token()  # still an account token
    own = Principal("t" * 32, 7, "c" * 32, "o" * 32)
    assert own.narrowed_to("x" * 32) is own
