"""Devices without a browser: pairing refusals and their limit, forged posts, another
organization's devices; nothing answers 500 and a refusal changes nothing."""

import re

import pytest
from fastapi.testclient import TestClient

from provisio.console.pages.devices import PAGE_SIZE
from tests.api.helpers import DEVICES, LOCATIONS, TAGS, entry
from tests.conftest import Tenant, make_tenant
from tests.console.devices_support import (
    devices_of,
    field_error,
    field_value,
    paired_device,
    register_device,
)
from tests.console.sign_in import sign_in

PAIR = "/console/devices/pair"


def _pair(client: TestClient, csrf: str, code: str) -> tuple[int, str]:
    answer = client.post(
        PAIR, data={"csrf_token": csrf, "verificationHash": code}, follow_redirects=False
    )
    return answer.status_code, answer.text


def test_pairing_by_code_lists_the_device_with_a_notice(client: TestClient, tenant: Tenant) -> None:
    registration = register_device(client, "SN-1")
    csrf = sign_in(client, tenant)
    status, _ = _pair(client, csrf, f"  {registration['verificationHash'].lower()} ")
    assert status == 303
    page = client.get(f"/console/devices?paired={registration['deviceUid']}").text
    assert "Paired <a" in page
    assert f'<a href="/console/devices/{registration["deviceUid"]}">samsung SN-1</a>' in page
    assert [device["uid"] for device in devices_of(client, tenant)] == [registration["deviceUid"]]


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("ZZZZZZZZ", 404, "no device shows this verification code"),
        ("", 422, "Field required"),
        ("A\x00B", 422, "U+0000"),
        ("X" * 65, 422, "at most 64 characters"),
    ],
)
def test_a_wrong_code_is_told_next_to_the_field(
    client: TestClient, tenant: Tenant, code: str, status: int, message: str
) -> None:
    register_device(client, "SN-1")
    csrf = sign_in(client, tenant)
    answered, page = _pair(client, csrf, code)
    assert answered == status
    assert message in field_error(page, "verificationHash")
    assert devices_of(client, tenant) == []


def test_a_code_already_paired_here_is_a_conflict(client: TestClient, tenant: Tenant) -> None:
    registration = register_device(client, "SN-1")
    csrf = sign_in(client, tenant)
    assert _pair(client, csrf, registration["verificationHash"])[0] == 303
    status, page = _pair(client, csrf, registration["verificationHash"])
    assert status == 409
    assert field_error(page, "verificationHash") == (
        "this device is already paired to this organization"
    )


def test_wrong_codes_are_limited_as_the_apis_are(client: TestClient, tenant: Tenant) -> None:
    registration = register_device(client, "SN-1")
    csrf = sign_in(client, tenant)
    statuses = [_pair(client, csrf, f"WRONG{n:03}")[0] for n in range(20)]
    assert statuses == [404] * 20
    answer = client.post(
        PAIR,
        data={"csrf_token": csrf, "verificationHash": registration["verificationHash"]},
        follow_redirects=False,
    )
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) >= 1
    assert "too many verification-code attempts" in field_error(answer.text, "verificationHash")
    assert field_value(answer.text, "verificationHash") == registration["verificationHash"]
    # The API shares the organization's allowance.
    api = client.post(
        f"{DEVICES}/verification",
        json={"verificationHash": registration["verificationHash"]},
        headers=tenant.headers,
    )
    assert api.status_code == 429
    assert devices_of(client, tenant) == []


def test_a_forged_post_is_refused_and_changes_nothing(client: TestClient, tenant: Tenant) -> None:
    paired = paired_device(client, tenant, "SN-1")
    unpaired = register_device(client, "SN-2")
    sign_in(client, tenant)
    for token in ({}, {"csrf_token": "forged"}):
        pair = client.post(PAIR, data={**token, "verificationHash": unpaired["verificationHash"]})
        deprovision = client.post(f"/console/devices/{paired}/deprovision", data=token)
        assert (pair.status_code, deprovision.status_code) == (403, 403)
    assert [device["uid"] for device in devices_of(client, tenant)] == [paired]


def test_deprovisioning_asks_first_then_unpairs(client: TestClient, tenant: Tenant) -> None:
    uid = paired_device(client, tenant, "SN-1")
    csrf = sign_in(client, tenant)
    device_page = client.get(f"/console/devices/{uid}").text
    assert f'href="/console/devices/{uid}/deprovision"' in device_page
    question = client.get(f"/console/devices/{uid}/deprovision")
    assert question.status_code == 200
    assert "<h1>Deprovision samsung SN-1?</h1>" in question.text
    assert len(devices_of(client, tenant)) == 1  # asking changed nothing
    answer = client.post(
        f"/console/devices/{uid}/deprovision", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/devices?deprovisioned=true",
    )
    assert devices_of(client, tenant) == []
    assert client.get(f"{DEVICES}/{uid}", headers=tenant.headers).status_code == 404
    again = client.post(f"/console/devices/{uid}/deprovision", data={"csrf_token": csrf})
    assert again.status_code == 404


def test_another_organizations_device_is_not_found_and_stays_paired(
    client: TestClient, tenant: Tenant
) -> None:
    other = make_tenant(client, "Other", "Elsewhere")
    foreign = paired_device(client, other, "SN-F")
    csrf = sign_in(client, tenant)
    for path in (f"/console/devices/{foreign}", f"/console/devices/{foreign}/deprovision"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "<h1>Not found</h1>" in answer.text
        assert "SN-F" not in answer.text
    post = client.post(f"/console/devices/{foreign}/deprovision", data={"csrf_token": csrf})
    assert post.status_code == 404
    assert [device["uid"] for device in devices_of(client, other)] == [foreign]
    listing = client.get(f"/console/devices?paired={foreign}").text
    assert "SN-F" not in listing
    # Its code does not pair it here either, and says nothing about it.
    status, page = _pair(client, csrf, register_device(client, "SN-F")["verificationHash"])
    assert status == 404
    assert field_error(page, "verificationHash") == "no device shows this verification code"
    assert [device["uid"] for device in devices_of(client, other)] == [foreign]


@pytest.mark.parametrize(
    "path",
    [
        "/console/devices/not-a-uid",
        "/console/devices/" + "A" * 32,
        "/console/devices?after=-1",
        "/console/devices?after=abc",
        "/console/devices?paired=%00",
        "/console/devices?deprovisioned=perhaps",
    ],
)
def test_malformed_addresses_are_pages_not_500s(
    client: TestClient, tenant: Tenant, path: str
) -> None:
    sign_in(client, tenant)
    answer = client.get(path)
    assert answer.status_code in (200, 400, 404)
    assert answer.headers["content-type"].startswith("text/html")


def test_the_list_is_paged_and_shows_what_each_device_is(
    client: TestClient, tenant: Tenant
) -> None:
    uids = [paired_device(client, tenant, f"SN-{n:03}") for n in range(PAGE_SIZE + 2)]
    sign_in(client, tenant)
    first = client.get("/console/devices").text
    assert first.count('<tr>\n    <td><a href="/console/devices/') == PAGE_SIZE
    after = re.search(r'href="/console/devices\?after=(\d+)">Next page</a>', first)
    assert after is not None
    second = client.get(f"/console/devices?after={after.group(1)}").text
    assert [uid in second for uid in uids[PAGE_SIZE:]] == [True, True]
    assert uids[0] not in second
    assert "Next page" not in second
    assert 'href="/console/devices">First page</a>' in second


def test_the_device_page_names_its_configuration(client: TestClient, tenant: Tenant) -> None:
    tag = entry(client, tenant, TAGS, "lobby screens")
    location = entry(client, tenant, LOCATIONS, "Prague office")
    uid = paired_device(client, tenant, "SN-1")
    for path in (f"location/{location}", f"organization-tag/{tag}"):
        answer = client.put(f"{DEVICES}/{uid}/{path}", headers=tenant.headers, json={})
        assert answer.status_code == 200, answer.text
    sign_in(client, tenant)
    page = client.get(f"/console/devices/{uid}").text
    assert "Prague office" in page
    assert "lobby screens" in page
