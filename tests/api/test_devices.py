"""Device registration and every provisioning branch, checked on the recipe, the device and the
exact events committed (their shapes are validated against the schemas at teardown)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from provisio.service import tenancy
from tests.api.helpers import (
    DEVICES,
    LOCATIONS,
    POLICIES,
    RECIPES,
    TAGS,
    create,
    entry,
    metric,
    outbox,
    register,
    registered,
)
from tests.conftest import DEVICE_KEY, Tenant, make_tenant, settings_for
from tests.support import fetch_rows

UPDATED = "Device.ProvisioningRecipeUpdated"
STATUS = "Device.ProvisioningRecipeStatusUpdated"
PAIRED = "Device.Verification.DevicePaired"
UNPAIRED = "Device.Verification.DeviceUnpaired"

SAMSUNG = {"brand": "samsung", "serialNumber": "SN-1", "model": "QM55"}


def _owner(tenant: Tenant) -> dict[str, str]:
    return {
        "ownershipType": "organization",
        "organizationUid": tenant.organization_uid,
        "parentCompanyUid": tenant.company_uid,
    }


def _recipe(client: TestClient, tenant: Tenant, uid: str) -> dict[str, Any]:
    response = client.get(f"{RECIPES}/{uid}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _device(client: TestClient, tenant: Tenant, uid: str) -> dict[str, Any]:
    response = client.get(f"{DEVICES}/{uid}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _new_events(database_url: str, tenant: Tenant, before: int) -> list[dict[str, Any]]:
    return [event["payload"] for event in outbox(database_url, tenant.organization_uid)[before:]]


def _count(database_url: str, table: str) -> int:
    return int(fetch_rows(database_url, f"SELECT count(*) FROM {table}")[0][0])


@pytest.fixture
def other(client: TestClient) -> Tenant:
    return make_tenant(client, "Globex", "Branch")


def test_a_matching_recipe_is_applied_and_the_device_configured(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    tag, policy, location = (entry(client, tenant, path) for path in (TAGS, POLICIES, LOCATIONS))
    recipe = create(
        client,
        tenant,
        **SAMSUNG,
        deviceName="Lobby",
        tagUids=[tag],
        policyUid=policy,
        locationUid=location,
    )
    before = len(outbox(database_url, tenant.organization_uid))

    answer = registered(
        client, brand="Samsung", serialNumber=" sn-1 ", model="qm55", firmwareVersion="1.2"
    )

    device_uid = answer["deviceUid"]
    assert answer == {
        "deviceUid": device_uid,
        "verificationHash": answer["verificationHash"],
        "organizationUid": tenant.organization_uid,
        "provisioned": True,
        "recipeUid": recipe["uid"],
    }
    stored = _recipe(client, tenant, recipe["uid"])
    assert (stored["status"], stored["deviceUid"]) == ("Applied", device_uid)
    device = _device(client, tenant, device_uid)
    assert (device["name"], device["tagUids"], device["policies"], device["locationUid"]) == (
        "Lobby",
        [tag],
        [{"uid": policy, "priority": 1, "assignedAt": device["pairedAt"]}],
        location,
    )
    assert (device["recipeUid"], device["firmwareVersion"]) == (recipe["uid"], "1.2")
    assert _new_events(database_url, tenant, before) == [
        {
            "owner": _owner(tenant),
            "uid": recipe["uid"],
            "type": UPDATED,
            "organizationUid": tenant.organization_uid,
            "status": "Applied",
            "confirmedOwnership": False,
            "serialNumber": "SN-1",
            "model": "QM55",
            "brand": "samsung",
            "tagUids": [tag],
            "deviceName": "Lobby",
            "policyUid": policy,
            "locationUid": location,
        },
        {
            "owner": _owner(tenant),
            "uid": recipe["uid"],
            "type": STATUS,
            "deviceIdentityHash": device_uid,
            "status": "Applied",
        },
        {
            "owner": _owner(tenant),
            "type": PAIRED,
            "deviceIdentityHash": device_uid,
            "verificationHash": answer["verificationHash"],
        },
    ]
    # Registering again is idempotent: same record, nothing applied twice, no new event.
    assert registered(client, brand="samsung", serialNumber="SN-1", model="QM55") == answer
    assert len(outbox(database_url, tenant.organization_uid)) == before + 3
    assert (
        client.post(f"{RECIPES}/{recipe['uid']}/retry", headers=tenant.headers).status_code == 409
    )
    # Applied is read-only, whatever the edit (even one that would be a 422 otherwise).
    edit = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"policyUid": "f" * 32}, headers=tenant.headers
    )
    assert edit.status_code == 409


def test_a_device_matches_by_any_of_its_macs(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    recipe = create(client, tenant, brand="android", macAddress="aa:bb:cc:dd:ee:02")
    answer = registered(
        client, brand="ANDROID", macAddresses=["aabb.ccdd.ee01", "AA-BB-CC-DD-EE-02"]
    )
    assert answer["recipeUid"] == recipe["uid"]
    device = _device(client, tenant, answer["deviceUid"])
    assert device["macAddresses"] == ["AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"]
    again = registered(client, brand="android", macAddresses=["aa:bb:cc:dd:ee:01"])
    assert again["deviceUid"] == answer["deviceUid"]
    assert _count(database_url, "devices") == 1


def test_no_candidate_leaves_the_device_unpaired_and_every_recipe_untouched(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    other_brand = create(client, tenant, brand="lg", serialNumber="SN-1")
    other_serial = create(client, tenant, brand="samsung", serialNumber="SN-2")
    before = len(outbox(database_url, tenant.organization_uid))

    answer = registered(client, **SAMSUNG)

    assert answer["organizationUid"] is None
    assert answer["provisioned"] is False
    assert answer["recipeUid"] is None
    assert len(answer["verificationHash"]) == 8
    for recipe in (other_brand, other_serial):
        assert _recipe(client, tenant, recipe["uid"]) == recipe | {"updatedAt": recipe["updatedAt"]}
    assert len(outbox(database_url, tenant.organization_uid)) == before
    assert client.get(DEVICES, headers=tenant.headers).json() == []
    assert registered(client, **SAMSUNG) == answer


def test_candidates_in_two_organizations_are_ambiguous_and_none_is_applied(
    client: TestClient, tenant: Tenant, other: Tenant, database_url: str
) -> None:
    mine = create(client, tenant, **SAMSUNG)
    theirs = create(client, other, **SAMSUNG)
    counts = [len(outbox(database_url, t.organization_uid)) for t in (tenant, other)]

    answer = registered(client, **SAMSUNG)

    assert (answer["provisioned"], answer["recipeUid"]) == (False, None)
    for who, recipe, before in ((tenant, mine, counts[0]), (other, theirs, counts[1])):
        stored = _recipe(client, who, recipe["uid"])
        assert stored["status"] == "Pending"
        warning = stored["unsuccessfulRegisterAttemptStatus"]["warningMessage"]
        assert "ambiguous" in warning
        assert "2 organizations" in warning
        (event,) = _new_events(database_url, who, before)
        assert event["type"] == UPDATED
        assert "originator" not in event
        assert event["unsuccessfulRegisterAttemptStatus"] == {"warningMessage": warning}
        assert event["status"] == "Pending"
    # The same attempt again changes nothing, so it records nothing.
    registered(client, **SAMSUNG)
    assert len(outbox(database_url, tenant.organization_uid)) == counts[0] + 1


def test_two_recipes_of_one_organization_for_one_device_are_ambiguous(
    client: TestClient, tenant: Tenant
) -> None:
    by_serial = create(client, tenant, brand="acme", serialNumber="SN-1")
    by_mac = create(client, tenant, brand="acme", macAddress="aa:bb:cc:dd:ee:ff")
    answer = registered(
        client, brand="acme", serialNumber="SN-1", macAddresses=["aa:bb:cc:dd:ee:ff"]
    )
    assert answer["provisioned"] is False
    for recipe in (by_serial, by_mac):
        stored = _recipe(client, tenant, recipe["uid"])
        assert stored["status"] == "Pending"
        assert "2 recipes" in stored["unsuccessfulRegisterAttemptStatus"]["warningMessage"]


def test_a_device_of_another_organization_moves_only_with_confirmed_ownership(
    client: TestClient, tenant: Tenant, other: Tenant, database_url: str
) -> None:
    create(client, other, **SAMSUNG, deviceName="Their screen")
    first = registered(client, **SAMSUNG)
    assert first["organizationUid"] == other.organization_uid
    recipe = create(client, tenant, **SAMSUNG, deviceName="Our screen")
    before = len(outbox(database_url, tenant.organization_uid))

    refused = registered(client, **SAMSUNG)

    assert refused == first
    stored = _recipe(client, tenant, recipe["uid"])
    assert stored["status"] == "Pending"
    assert "confirm ownership" in stored["unsuccessfulRegisterAttemptStatus"]["warningMessage"]
    (warned,) = _new_events(database_url, tenant, before)
    assert (warned["type"], "originator" in warned) == (UPDATED, False)
    assert _device(client, other, first["deviceUid"])["name"] == "Their screen"

    confirm = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"confirmedOwnership": True}, headers=tenant.headers
    )
    assert confirm.status_code == 200
    theirs_before = len(outbox(database_url, other.organization_uid))
    ours_before = len(outbox(database_url, tenant.organization_uid))

    moved = registered(client, **SAMSUNG)

    assert moved["organizationUid"] == tenant.organization_uid
    assert moved["recipeUid"] == recipe["uid"]
    assert moved["verificationHash"] != first["verificationHash"]
    assert client.get(f"{DEVICES}/{first['deviceUid']}", headers=other.headers).status_code == 404
    assert _device(client, tenant, first["deviceUid"])["name"] == "Our screen"
    (unpaired,) = _new_events(database_url, other, theirs_before)
    assert unpaired == {
        "owner": _owner(other),
        "type": UNPAIRED,
        "deviceIdentityHash": first["deviceUid"],
        "verificationHash": moved["verificationHash"],
    }
    ours = _new_events(database_url, tenant, ours_before)
    assert [(e["type"], e.get("status")) for e in ours] == [
        (UPDATED, "Applied"),
        (STATUS, "Applied"),
        (PAIRED, None),
    ]
    assert ours[2]["verificationHash"] == moved["verificationHash"]
    assert "unsuccessfulRegisterAttemptStatus" not in ours[0]
    # One transaction, in causal order: the old organization's Unpaired comes first.
    order = fetch_rows(
        database_url,
        "SELECT type FROM events WHERE type <> 'Device.ProvisioningRecipeCreated' ORDER BY id",
    )
    assert [row[0] for row in order][-4:] == [UNPAIRED, UPDATED, STATUS, PAIRED]


def test_a_model_mismatch_fails_the_recipe_and_a_retry_or_fix_recovers_it(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    recipe = create(client, tenant, **SAMSUNG)
    before = len(outbox(database_url, tenant.organization_uid))

    answer = registered(client, brand="samsung", serialNumber="SN-1", model="QM65")

    assert (answer["provisioned"], answer["recipeUid"]) == (False, None)
    stored = _recipe(client, tenant, recipe["uid"])
    assert stored["status"] == "Failed"
    assert stored["errorMessage"] == (
        "the recipe expects model 'QM55' but the device reported 'QM65'"
    )
    assert "deviceUid" not in stored
    failed = _new_events(database_url, tenant, before)
    assert [(e["type"], e["status"]) for e in failed] == [(UPDATED, "Failed"), (STATUS, "Failed")]
    assert failed[0]["errorMessage"] == stored["errorMessage"]
    assert failed[1]["deviceIdentityHash"] == answer["deviceUid"]

    retried = client.post(f"{RECIPES}/{recipe['uid']}/retry", headers=tenant.headers)
    assert retried.status_code == 200
    assert "errorMessage" not in retried.json()
    recovered = _new_events(database_url, tenant, before + 2)
    assert [(e["type"], e["status"]) for e in recovered] == [
        (UPDATED, "Pending"),
        (STATUS, "Pending"),
    ]
    assert recovered[1]["deviceIdentityHash"] == answer["deviceUid"]
    assert all(e["originator"]["accountId"] == tenant.account_id for e in recovered)

    # Still the wrong model: Failed again. A Failed recipe is still a candidate, so fixing the
    # model is enough for the next registration to apply it.
    registered(client, brand="samsung", serialNumber="SN-1", model="QM65")
    assert _recipe(client, tenant, recipe["uid"])["status"] == "Failed"
    fix = client.put(f"{RECIPES}/{recipe['uid']}", json={"model": "QM65"}, headers=tenant.headers)
    assert fix.json()["status"] == "Failed"
    assert registered(client, brand="samsung", serialNumber="SN-1", model="qm65")["provisioned"]
    assert _recipe(client, tenant, recipe["uid"])["status"] == "Applied"


def test_a_device_without_a_model_fails_a_recipe_that_names_one(
    client: TestClient, tenant: Tenant
) -> None:
    recipe = create(client, tenant, **SAMSUNG)
    registered(client, brand="samsung", serialNumber="SN-1")
    stored = _recipe(client, tenant, recipe["uid"])
    assert stored["status"] == "Failed"
    assert "reported no model" in stored["errorMessage"]


def test_a_vanished_reference_makes_the_recipe_invalid_until_an_edit_fixes_it(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    kept, doomed = entry(client, tenant, TAGS, "kept"), entry(client, tenant, TAGS, "doomed")
    policy = entry(client, tenant, POLICIES)
    recipe = create(client, tenant, **SAMSUNG, tagUids=[kept, doomed], policyUid=policy)
    for gone in (f"{TAGS}/{doomed}", f"{POLICIES}/{policy}"):
        assert client.delete(gone, headers=tenant.headers).status_code == 204
    before = len(outbox(database_url, tenant.organization_uid))

    answer = registered(client, **SAMSUNG)

    assert answer["provisioned"] is False
    stored = _recipe(client, tenant, recipe["uid"])
    assert stored["status"] == "Invalid"
    assert stored["errorMessage"] == (
        f"tagUids: tag {doomed} no longer exists; policyUid: policy {policy} no longer exists"
    )
    invalid = _new_events(database_url, tenant, before)
    assert [(e["type"], e["status"]) for e in invalid] == [
        (UPDATED, "Invalid"),
        (STATUS, "Invalid"),
    ]
    assert invalid[1]["deviceIdentityHash"] == answer["deviceUid"]
    # An Invalid recipe is not a candidate: registering again changes nothing.
    registered(client, **SAMSUNG)
    assert len(outbox(database_url, tenant.organization_uid)) == before + 2

    # An edit that leaves a vanished reference keeps it Invalid…
    partial = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"policyUid": None}, headers=tenant.headers
    )
    assert partial.json()["status"] == "Invalid"
    assert partial.json()["errorMessage"] == f"tagUids: tag {doomed} no longer exists"
    # …one that fixes the last one returns it to Pending, with the status change announced.
    fixed = client.put(
        f"{RECIPES}/{recipe['uid']}", json={"tagUids": [kept]}, headers=tenant.headers
    )
    assert fixed.status_code == 200
    assert fixed.json()["status"] == "Pending"
    assert "errorMessage" not in fixed.json()
    events = _new_events(database_url, tenant, before + 2)
    assert [(e["type"], e["status"]) for e in events] == [
        (UPDATED, "Invalid"),
        (UPDATED, "Pending"),
        (STATUS, "Pending"),
    ]
    assert events[2]["deviceIdentityHash"] == answer["deviceUid"]
    assert events[2]["originator"]["accountId"] == tenant.account_id
    assert registered(client, **SAMSUNG)["recipeUid"] == recipe["uid"]


def test_a_wrong_or_missing_device_key_changes_nothing(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    recipe = create(client, tenant, **SAMSUNG)
    before = len(outbox(database_url, tenant.organization_uid))
    for key in (None, "wrong", ""):
        response = register(client, key=key, **SAMSUNG)
        assert response.status_code == 401
        assert response.json()["errorCode"] == 401
    assert _count(database_url, "devices") == 0
    assert _recipe(client, tenant, recipe["uid"])["status"] == "Pending"
    assert len(outbox(database_url, tenant.organization_uid)) == before


def test_registration_is_refused_when_no_device_key_is_configured(database_url: str) -> None:
    settings = settings_for(database_url, device_key=None)
    from provisio.api.app import create_app

    with TestClient(create_app(settings)) as client:
        response = register(client, key="anything", **SAMSUNG)
    assert response.status_code == 401
    assert "PROVISIO_DEVICE_KEY" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"brand": "samsung"}, "serialNumber"),
        ({"brand": "samsung", "macAddresses": ["nope"]}, "macAddresses.0"),
        ({"brand": " ", "serialNumber": "SN-1"}, "brand"),
        ({"brand": "samsung", "serialNumber": "   "}, "serialNumber"),
        ({"brand": "samsung", "serialNumber": "SN-1", "colour": "red"}, "colour"),
        ({"brand": "samsung", "serialNumber": 12}, "serialNumber"),
        ({"brand": "samsung", "macAddresses": ["aabbccddeeff"] * 17}, "macAddresses"),
    ],
)
def test_bad_registrations_are_422_and_store_nothing(
    client: TestClient, database_url: str, body: dict[str, Any], field: str
) -> None:
    response = register(client, **body)
    assert response.status_code == 422, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert _count(database_url, "devices") == 0


def test_pairing_by_code_then_deprovisioning(
    client: TestClient, tenant: Tenant, other: Tenant, database_url: str
) -> None:
    answer = registered(client, **SAMSUNG)
    code = answer["verificationHash"]
    before = len(outbox(database_url, tenant.organization_uid))

    unknown = client.post(
        f"{DEVICES}/verification", json={"verificationHash": "ZZZZ0000"}, headers=tenant.headers
    )
    assert unknown.status_code == 404
    paired = client.post(
        f"{DEVICES}/verification",
        json={"verificationHash": f" {code.lower()} "},
        headers=tenant.headers,
    )
    assert paired.status_code == 201, paired.text
    verification = paired.json()
    assert paired.headers["Location"] == f"{DEVICES}/verification/{verification['uid']}"
    assert (verification["deviceUid"], verification["hash"]) == (answer["deviceUid"], code)
    device = _device(client, tenant, answer["deviceUid"])
    assert device["organizationUid"] == tenant.organization_uid
    assert verification["verifiedAt"] == verification["createdAt"] == device["pairedAt"]
    assert [d["uid"] for d in client.get(DEVICES, headers=tenant.headers).json()] == [
        answer["deviceUid"]
    ]
    (event,) = _new_events(database_url, tenant, before)
    assert event == {
        "owner": _owner(tenant),
        "originator": {"accountId": tenant.account_id, "organizationUid": tenant.organization_uid},
        "type": PAIRED,
        "deviceIdentityHash": answer["deviceUid"],
        "verificationHash": code,
    }
    now = registered(client, **SAMSUNG)
    assert (now["provisioned"], now["organizationUid"], now["recipeUid"]) == (
        True,
        tenant.organization_uid,
        None,
    )

    path = f"{DEVICES}/{answer['deviceUid']}/deprovision"
    assert client.put(path, headers=other.headers).status_code == 404
    assert client.put(path, headers=tenant.headers).status_code == 204
    assert client.get(f"{DEVICES}/{answer['deviceUid']}", headers=tenant.headers).status_code == 404
    assert client.get(DEVICES, headers=tenant.headers).json() == []
    assert client.put(path, headers=tenant.headers).status_code == 404
    after = registered(client, **SAMSUNG)
    assert after["provisioned"] is False
    assert after["verificationHash"] != code
    unpaired = _new_events(database_url, tenant, before + 1)
    assert unpaired == [
        {
            "owner": _owner(tenant),
            "originator": {
                "accountId": tenant.account_id,
                "organizationUid": tenant.organization_uid,
            },
            "type": UNPAIRED,
            "deviceIdentityHash": answer["deviceUid"],
            "verificationHash": after["verificationHash"],
        }
    ]
    # The old code pairs nothing any more; the new one does.
    stale = client.post(
        f"{DEVICES}/verification", json={"verificationHash": code}, headers=tenant.headers
    )
    assert stale.status_code == 404


def test_a_code_of_a_device_paired_elsewhere_answers_as_an_unknown_code(
    client: TestClient, tenant: Tenant, other: Tenant, database_url: str
) -> None:
    """A stranger learns nothing from a code: the owner's device is 404, exactly as a code
    no device shows, and stays where it is; its owner is told it is paired already."""
    code = registered(client, **SAMSUNG)["verificationHash"]
    pair = {"verificationHash": code}
    assert client.post(f"{DEVICES}/verification", json=pair, headers=tenant.headers).is_success
    before = len(outbox(database_url, tenant.organization_uid))

    unknown = client.post(
        f"{DEVICES}/verification", json={"verificationHash": "ZZZZ0000"}, headers=other.headers
    )
    taken = client.post(f"{DEVICES}/verification", json=pair, headers=other.headers)
    again = client.post(f"{DEVICES}/verification", json=pair, headers=tenant.headers)

    assert (taken.status_code, taken.json()) == (404, unknown.json())
    assert again.status_code == 409
    assert len(client.get(DEVICES, headers=tenant.headers).json()) == 1
    assert client.get(DEVICES, headers=other.headers).json() == []
    assert len(outbox(database_url, tenant.organization_uid)) == before
    assert outbox(database_url, other.organization_uid) == []


def test_another_tenant_sees_no_device(client: TestClient, tenant: Tenant, other: Tenant) -> None:
    create(client, tenant, **SAMSUNG)
    answer = registered(client, **SAMSUNG)
    assert client.get(f"{DEVICES}/{answer['deviceUid']}", headers=other.headers).status_code == 404
    assert client.get(DEVICES, headers=other.headers).json() == []
    assert client.get(DEVICES, headers={"X-Auth": "nope:nope"}).status_code == 401


def test_devices_list_in_pages(client: TestClient, tenant: Tenant) -> None:
    for n in range(3):
        create(client, tenant, brand="samsung", serialNumber=f"SN-{n}")
        registered(client, brand="samsung", serialNumber=f"SN-{n}")
    first = client.get(DEVICES, params={"limit": 2}, headers=tenant.headers)
    assert len(first.json()) == 2
    link = first.headers["Link"].split(">")[0].lstrip("<")
    rest = client.get(link, headers=tenant.headers).json()
    assert [d["serialNumber"] for d in first.json() + rest] == ["SN-0", "SN-1", "SN-2"]


def test_metrics_count_registrations_by_outcome(client: TestClient, tenant: Tenant) -> None:
    def count(outcome: str) -> float:
        text = client.get("/metrics").text
        return metric(text, f'provisio_device_registrations_total{{outcome="{outcome}"}}')

    before = {outcome: count(outcome) for outcome in ("applied", "no_recipe", "model_mismatch")}
    registered(client, brand="lg", serialNumber="SN-9")
    create(client, tenant, **SAMSUNG)
    registered(client, brand="samsung", serialNumber="SN-1", model="other")
    registered(client, **SAMSUNG)
    assert {outcome: count(outcome) - before[outcome] for outcome in before} == {
        "applied": 1,
        "no_recipe": 1,
        "model_mismatch": 1,
    }


def test_a_device_with_another_serial_number_is_another_device_whatever_mac_it_shares(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    shared = "02:42:ac:11:00:02"  # e.g. a container bridge every unit has
    first = registered(client, brand="linux", serialNumber="AAA", macAddresses=[shared])
    recipe = create(
        client, tenant, brand="linux", serialNumber="BBB", macAddress="02:00:00:00:00:0b"
    )
    second = registered(client, brand="linux", serialNumber="BBB", macAddresses=[shared])
    assert second["deviceUid"] != first["deviceUid"]
    assert (second["provisioned"], second["recipeUid"]) == (True, recipe["uid"])
    assert _device(client, tenant, second["deviceUid"])["macAddresses"] == []
    assert _count(database_url, "devices") == 2
    # The MAC alone still finds the device that holds it.
    assert (
        registered(client, brand="linux", macAddresses=[shared])["deviceUid"] == first["deviceUid"]
    )


def test_an_account_token_pairs_and_deprovisions_in_a_named_organization(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    assert client.portal is not None
    account = client.portal.call(tenancy.issue_account_token, store, tenant.account_id, "ops")
    headers = {"X-Auth": account.header}
    code = registered(client, **SAMSUNG)["verificationHash"]
    unnamed = client.post(
        f"{DEVICES}/verification", json={"verificationHash": code}, headers=headers
    )
    assert unnamed.status_code == 422
    assert unnamed.json()["details"][0]["field"] == "organizationUid"
    outside = client.post(
        f"{DEVICES}/verification",
        json={"verificationHash": code, "organizationUid": "e" * 32},
        headers=headers,
    )
    assert outside.status_code == 422
    before = len(outbox(database_url, tenant.organization_uid))
    paired = client.post(
        f"{DEVICES}/verification",
        json={"verificationHash": code, "organizationUid": tenant.organization_uid},
        headers=headers,
    )
    assert paired.status_code == 201, paired.text
    uid = paired.json()["deviceUid"]
    assert client.get(paired.headers["Location"], headers=headers).json() == paired.json()
    assert client.put(f"{DEVICES}/{uid}/deprovision", headers=headers).status_code == 204
    events = _new_events(database_url, tenant, before)
    assert [e["type"] for e in events] == [PAIRED, UNPAIRED]
    assert all(e["originator"] == {"accountId": tenant.account_id} for e in events)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            f"{DEVICES}/register",
            {"brand": "samsung", "serialNumber": "\ufb03" * 200},
            "serialNumber",
        ),
        (f"{DEVICES}/register", {"brand": "\ufb03" * 200, "serialNumber": "SN-1"}, "brand"),
        (RECIPES, {"brand": "samsung", "serialNumber": "\ufb03" * 200}, "serialNumber"),
        (RECIPES, {"brand": "\ufb03" * 200, "serialNumber": "SN-1"}, "brand"),
    ],
)
def test_identifiers_too_long_once_case_folded_are_422(
    client: TestClient,
    tenant: Tenant,
    database_url: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    """ "\ufb03" (the "ffi" ligature) is one character that case-folds to three."""
    headers = {"X-Device-Key": DEVICE_KEY} if path.endswith("register") else tenant.headers
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert _count(database_url, "devices") + _count(database_url, "recipes") == 0
