"""The signageOS conventions every resource shares: absolute `Link` targets (behind a trusted
proxy, as the client reached it) and dates with three fraction digits and `Z`."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from provisio.api.app import create_app
from tests.api.helpers import RECIPES, create
from tests.api.test_exporters import _create as create_exporter
from tests.conftest import Tenant, make_tenant, settings_for

SIGNAGEOS_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
"""The only form signageOS's SDK turns into a `Date`."""
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "provisio.example.com"}


def next_link(client: TestClient, tenant: Tenant, headers: dict[str, str]) -> str:
    for serial in ("SN-1", "SN-2"):
        create(client, tenant, serialNumber=serial)
    page = client.get(RECIPES, params={"limit": 1}, headers={**tenant.headers, **headers})
    assert page.status_code == 200, page.text
    match = re.fullmatch(r'<([^>]*)>; rel="next"', page.headers["Link"])
    assert match is not None, page.headers["Link"]
    return match.group(1)


def test_the_next_link_is_absolute_and_leads_to_the_next_page(
    client: TestClient, tenant: Tenant
) -> None:
    target = next_link(client, tenant, {})
    assert target.startswith("http://testserver/v1/provisioning-recipe?")
    following = client.get(target, headers=tenant.headers)
    assert [recipe["serialNumber"] for recipe in following.json()] == ["SN-2"]


def test_proxy_headers_are_ignored_unless_the_proxy_is_trusted(
    client: TestClient, tenant: Tenant
) -> None:
    assert next_link(client, tenant, PROXY).startswith("http://testserver/")


@pytest.fixture
def behind_proxy(database_url: str, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    settings = settings_for(database_url, forwarded_allow_ips=request.param)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("behind_proxy", ["*"], indirect=True)
def test_a_trusted_proxy_gives_the_scheme_and_host_the_client_reached(
    behind_proxy: TestClient,
) -> None:
    tenant = make_tenant(behind_proxy)
    target = next_link(behind_proxy, tenant, PROXY)
    assert target.startswith("https://provisio.example.com/v1/provisioning-recipe?")


@pytest.mark.parametrize("behind_proxy", ["10.0.0.0/8"], indirect=True)
def test_a_proxy_outside_the_trusted_networks_is_not_believed(
    behind_proxy: TestClient,
) -> None:
    tenant = make_tenant(behind_proxy)
    assert next_link(behind_proxy, tenant, PROXY).startswith("http://testserver/")


def dates(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every field named like a date (`…At`), wherever it is nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("At") and not isinstance(item, (dict, list)):
                yield f"{path}.{key}", item
            yield from dates(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from dates(item, f"{path}[{index}]")


def test_every_date_the_api_answers_is_in_signageos_form(
    client: TestClient, tenant: Tenant
) -> None:
    recipe = create(client, tenant, serialNumber="SN-1")
    answers = [
        recipe,
        client.get(RECIPES, headers=tenant.headers).json(),
        create_exporter(client, tenant),
        client.get("/v1/organization", headers=tenant.headers).json(),
        client.get(
            f"/v1/organization/{tenant.organization_uid}/security-token", headers=tenant.headers
        ).json(),
    ]
    found = [pair for answer in answers for pair in dates(answer)]
    assert {path.rsplit(".", 1)[1] for path, _ in found} >= {"createdAt", "updatedAt"}
    assert [(path, date) for path, date in found if not SIGNAGEOS_DATE.match(date)] == []
