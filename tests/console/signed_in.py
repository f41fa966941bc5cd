"""The console without a browser: a TestClient signed in as a tenant, for the fast tests of
what a page answers to odd, forged or foreign requests."""

import re
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient

from tests.conftest import Tenant
from tests.console.sign_in import sign_in


@dataclass
class SignedIn:
    """A browser's worth of cookies, signed in, and the CSRF token its pages carry."""

    client: TestClient
    csrf_token: str

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, params=params or None, follow_redirects=False)

    def post(self, path: str, data: dict[str, Any], *, csrf: str | None = "") -> httpx.Response:
        """A form POST; `csrf` "" sends the page's token, None none at all, anything else as is."""
        token = self.csrf_token if csrf == "" else csrf
        sent = data if token is None else {**data, "csrf_token": token}
        return self.client.post(path, data=sent, follow_redirects=False)


def signed_in(client: TestClient, tenant: Tenant) -> SignedIn:
    return SignedIn(client, sign_in(client, tenant))


def errors_of(html: str) -> dict[str, list[str]]:
    """The messages a page shows next to its fields (by the field's id; "" above the form)."""
    shown: dict[str, list[str]] = {}
    for field, message in re.findall(
        r'<p class="error"(?: id="([^"]*)-error")?[^>]*>([^<]*)</p>', html
    ):
        shown.setdefault(field, []).append(message)
    return shown
