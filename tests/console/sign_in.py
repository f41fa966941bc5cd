"""Signing a TestClient in to the console, as a browser's form would."""

import re

from fastapi.testclient import TestClient

from tests.conftest import Tenant

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, who: Tenant | str) -> str:
    """Sign in with the tenant's token (or a token); answers the session's CSRF token, for
    the forms that follow."""
    token = who.token if isinstance(who, Tenant) else who
    form = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"token": token, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/recipes").text)
