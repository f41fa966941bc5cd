"""The Recipes pages without a browser: what they show, and every unhappy path — bad input
gives the form back with the API's message, a forged POST is a 403 that changes nothing,
another tenant's uid is the not-found page, and no query string gives a 500."""

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from provisio.domain.identifiers import MAC_HINT
from tests.api.helpers import FEED, RECIPES, TAGS, create, entry, read, registered
from tests.conftest import Tenant, make_tenant
from tests.console.sign_in import sign_in


@pytest.fixture
def csrf(client: TestClient, tenant: Tenant) -> str:
    return sign_in(client, tenant)


def _form(recipe: dict[str, Any], csrf: str, **changes: Any) -> dict[str, Any]:
    """The edit form as the page shows it for `recipe`, with `changes` typed in."""
    shown = {
        name: recipe.get(name) or ""
        for name in (
            "brand",
            "model",
            "serialNumber",
            "macAddress",
            "deviceName",
            "policyUid",
            "locationUid",
        )
    }
    form: dict[str, Any] = {"csrf_token": csrf}
    form.update({f"was.{name}": value for name, value in shown.items()})
    form["was.tagUids"] = ",".join(recipe.get("tagUids", []))
    form["was.confirmedOwnership"] = "true" if recipe["confirmedOwnership"] else "false"
    form.update(shown)
    form["tagUids"] = recipe.get("tagUids", [])
    if recipe["confirmedOwnership"]:
        form["confirmedOwnership"] = "true"
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    return form


def _stored(client: TestClient, tenant: Tenant, uid: str) -> dict[str, Any]:
    result: dict[str, Any] = read(client, tenant, f"{RECIPES}/{uid}")
    return result


def _history_rows(client: TestClient, tenant: Tenant, uid: str, events: int) -> str:
    """The recipe page once the feed has `events` events about the recipe (the relay
    positions them after the commit; the feed's long poll waits for it)."""
    after = 0
    seen = 0
    for _ in range(50):
        page = client.get(FEED, params={"after": after, "wait": 5}, headers=tenant.headers).json()
        seen += sum(uid in str(item["event"]["payload"].get("uid")) for item in page)
        after = page[-1]["position"] if page else after
        if seen >= events:
            break
    assert seen >= events
    return client.get(f"/console/recipes/{uid}").text


# The list ------------------------------------------------------------------------------------


def test_the_list_counts_filters_and_searches(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    android = create(client, tenant, brand="android", macAddress="aa:bb:cc:dd:ee:01")
    for n in range(3):
        create(client, tenant, brand="LG", serialNumber=f"SN-{n}")
    registered(client, brand="LG", model="X", serialNumber="SN-0")

    page = client.get("/console/recipes").text
    for name in ("Pending 3", "Applied 1", "Failed 0", "Invalid 0", "All 4"):
        assert name in page
    assert '<progress id="rollout" max="4" value="1">' in page
    assert "1 of 4 Applied (25%)" in page
    assert page.count('class="row-link"') == 4

    applied = client.get("/console/recipes", params={"status": "Applied"}).text
    assert applied.count('class="row-link"') == 1
    assert "SN-0" in applied
    assert "1 of 4 Applied" in applied  # the progress is the organization's, whatever the filter

    for spelling in ("AABB.CCDD.EE01", "aa-bb-cc-dd-ee-01", "aabbccddee01"):
        found = client.get("/console/recipes", params={"q": spelling}).text
        assert found.count('class="row-link"') == 1
        assert f"/console/recipes/{android['uid']}" in found
    serial = client.get("/console/recipes", params={"q": "  sn-2 "}).text
    assert serial.count('class="row-link"') == 1
    assert "SN-2" in serial
    none = client.get("/console/recipes", params={"q": "nothing", "status": "Failed"}).text
    assert "No recipes match." in none


def test_the_list_pages_newest_first(client: TestClient, tenant: Tenant, csrf: str) -> None:
    uids = [create(client, tenant, serialNumber=f"P-{n:02}")["uid"] for n in range(53)]
    first = client.get("/console/recipes").text
    assert first.count('class="row-link"') == 50
    assert first.index(uids[-1]) < first.index(uids[-2])
    assert "Previous page" not in first
    older = re.search(r'id="page-older" href="([^"]+)"', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert second.count('class="row-link"') == 3
    assert all(uid in second for uid in uids[:3])
    newer = re.search(r'id="page-newer" href="([^"]+)"', second)
    assert newer is not None
    back = client.get(newer.group(1).replace("&amp;", "&")).text
    assert back.count('class="row-link"') == 50
    assert uids[-1] in back


def test_the_live_part_is_sent_only_when_it_changed(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    create(client, tenant, serialNumber="LIVE-1")
    page = client.get("/console/recipes", params={"status": "Pending"}).text
    poll = re.search(r'hx-get="([^"]+)" hx-vals=\'\{"seen": "([0-9a-f]+)"\}\'', page)
    assert poll is not None
    url, version = poll.group(1).replace("&amp;", "&"), poll.group(2)
    assert url == "/console/recipes/live?status=Pending"
    assert client.get(f"{url}&seen={version}").status_code == 204
    create(client, tenant, serialNumber="LIVE-2")
    changed = client.get(f"{url}&seen={version}")
    assert changed.status_code == 200
    assert "Pending 2" in changed.text
    assert 'id="recipes-live"' in changed.text


@pytest.mark.parametrize(
    "query",
    [
        "status=Deleted",
        "status=%00",
        "q=SN%00",
        "q=" + "x" * 300,
        "q=%ED%A0%80",
        "q=%FF%FE",
        "before=-1",
        "before=99999999999999999999999",
        "after=abc",
        f"before={2**63}",
        "done=" + "x" * 100,
        "seen=" + "y" * 100,
        "status=Pending&status=%00",
        "q[]=1&before[]=2",
    ],
)
def test_weird_list_queries_are_refused_never_a_500(
    client: TestClient, tenant: Tenant, csrf: str, query: str
) -> None:
    for path in ("/console/recipes", "/console/recipes/live"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code in (200, 400), (path, query, answer.status_code)
        assert "Traceback" not in answer.text


def test_harmless_odd_queries_show_the_list(client: TestClient, tenant: Tenant, csrf: str) -> None:
    for query in ({"before": str(2**63 - 1)}, {"after": "0"}, {"done": "nonsense"}, {"q": " "}):
        answer = client.get("/console/recipes", params=query)
        assert answer.status_code == 200, query


# One recipe ----------------------------------------------------------------------------------


def test_the_recipe_page_shows_every_field(client: TestClient, tenant: Tenant, csrf: str) -> None:
    tag = entry(client, tenant, TAGS, name="Lobby screens")
    recipe = create(
        client,
        tenant,
        brand="LG",
        model="UH5F",
        serialNumber="SN-1",
        macAddress="aa:bb:cc:dd:ee:ff",
        deviceName="Reception",
        tagUids=[tag],
        confirmedOwnership=True,
    )
    page = client.get(f"/console/recipes/{recipe['uid']}").text
    for shown in ("UH5F", "SN-1", "AA:BB:CC:DD:EE:FF", "Reception", "Lobby screens", recipe["uid"]):
        assert shown in page
    for field, label in (
        ("brand", "Brand"),
        ("model", "Model"),
        ("serialNumber", "Serial number"),
        ("macAddress", "MAC address"),
        ("deviceName", "Device name"),
        ("tagUids", "Tags"),
        ("policyUid", "Policy"),
        ("locationUid", "Location"),
        ("confirmedOwnership", "Confirmed ownership"),
    ):
        assert f'<label for="{field}">{label}' in page
    assert ">Save</button>" in page
    assert ">Retry</button>" not in page  # only a Failed recipe is retried


def test_a_bad_edit_gives_the_form_back_with_the_apis_message(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    recipe = create(client, tenant, brand="android", macAddress="aa:bb:cc:dd:ee:ff")
    form = _form(recipe, csrf, macAddress="not a mac", deviceName="Typed")
    answer = client.post(f"/console/recipes/{recipe['uid']}", data=form)
    assert answer.status_code == 422
    assert f'<p class="error" id="macAddress-error">{MAC_HINT}</p>' in answer.text
    assert 'value="not a mac"' in answer.text  # what the operator typed is kept
    assert 'value="Typed"' in answer.text
    assert _stored(client, tenant, recipe["uid"]) == recipe


def test_an_edit_sends_only_what_changed(client: TestClient, tenant: Tenant, csrf: str) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1", model="UH5F")
    form = _form(recipe, csrf, deviceName="Reception", model="")  # model emptied: cleared
    # Meanwhile someone else changes the serial number: the form still shows the old one.
    client.put(f"{RECIPES}/{recipe['uid']}", json={"serialNumber": "SN-2"}, headers=tenant.headers)
    answer = client.post(f"/console/recipes/{recipe['uid']}", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/recipes/{recipe['uid']}?done=saved"
    stored = _stored(client, tenant, recipe["uid"])
    assert stored["deviceName"] == "Reception"
    assert "model" not in stored
    assert stored["serialNumber"] == "SN-2"  # not sent, so not reverted

    unchanged = client.post(f"/console/recipes/{recipe['uid']}", data=_form(stored, csrf))
    assert "Nothing was changed." in unchanged.text
    assert _stored(client, tenant, recipe["uid"]) == stored


def test_a_clash_with_another_recipe_is_told_next_to_the_field(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    create(client, tenant, brand="LG", serialNumber="TAKEN")
    recipe = create(client, tenant, brand="LG", serialNumber="FREE")
    answer = client.post(
        f"/console/recipes/{recipe['uid']}", data=_form(recipe, csrf, serialNumber="taken")
    )
    assert answer.status_code == 409
    assert 'id="serialNumber-error">live recipe' in answer.text
    assert _stored(client, tenant, recipe["uid"]) == recipe


def test_an_applied_recipe_has_no_form_and_refuses_edits(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1")
    registered(client, brand="LG", serialNumber="SN-1")
    page = client.get(f"/console/recipes/{recipe['uid']}").text
    assert "read-only" in page
    assert ">Save</button>" not in page
    applied = _stored(client, tenant, recipe["uid"])
    answer = client.post(
        f"/console/recipes/{recipe['uid']}", data=_form(applied, csrf, deviceName="Late")
    )
    assert answer.status_code == 409
    assert "an Applied recipe is read-only" in answer.text
    assert _stored(client, tenant, recipe["uid"]) == applied


def test_retry_and_delete(client: TestClient, tenant: Tenant, csrf: str) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1", model="QM55")
    registered(client, brand="LG", model="UH5F", serialNumber="SN-1")
    uid = recipe["uid"]
    assert ">Retry</button>" in client.get(f"/console/recipes/{uid}").text
    retried = client.post(f"/console/recipes/{uid}/retry", data={"csrf_token": csrf})
    assert "Pending again" in retried.text
    assert _stored(client, tenant, uid)["status"] == "Pending"
    again = client.post(f"/console/recipes/{uid}/retry", data={"csrf_token": csrf})
    assert again.status_code == 409  # only a Failed recipe can be retried
    assert "only a Failed recipe can be retried" in again.text

    confirm = client.get(f"/console/recipes/{uid}/delete")
    assert confirm.status_code == 200
    assert f'action="/console/recipes/{uid}/delete"' in confirm.text
    assert _stored(client, tenant, uid)["uid"] == uid  # asking changes nothing
    deleted = client.post(f"/console/recipes/{uid}/delete", data={"csrf_token": csrf})
    assert "The recipe was deleted." in deleted.text
    assert client.get(f"{RECIPES}/{uid}", headers=tenant.headers).status_code == 404
    assert client.get(f"/console/recipes/{uid}").status_code == 404


def test_history_lists_the_feeds_events_newest_first(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1", deviceName="Old")
    uid = recipe["uid"]
    client.post(f"/console/recipes/{uid}", data=_form(recipe, csrf, deviceName="New"))
    registered(client, brand="LG", serialNumber="SN-1")
    page = _history_rows(client, tenant, uid, events=4)  # Created, Updated, Updated, Status
    history = page[page.index(">History</h2>") :]
    kinds = re.findall(r"<td>(Device\.\S+)</td>", history)
    assert kinds == [
        "Device.ProvisioningRecipeStatusUpdated",
        "Device.ProvisioningRecipeUpdated",
        "Device.ProvisioningRecipeUpdated",
        "Device.ProvisioningRecipeCreated",
    ]
    assert history.count(f"<td>account {tenant.account_id}</td>") == 2  # created, edited
    assert history.count("<td>system</td>") == 2  # the registration
    assert "<li>Device name: Old → New</li>" in history
    assert "<li>Status: Pending → Applied</li>" in history
    assert "<li>Status: Applied</li>" in history
    assert "<li>Serial number: SN-1</li>" in history  # what it was created with


# Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_forged_post_is_refused_and_changes_nothing(
    client: TestClient, tenant: Tenant, csrf: str, token: str | None
) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1", model="QM55")
    registered(client, brand="LG", model="UH5F", serialNumber="SN-1")
    uid = recipe["uid"]
    before = _stored(client, tenant, uid)
    form = _form(before, csrf, deviceName="Forged")
    if token is None:
        del form["csrf_token"]
    else:
        form["csrf_token"] = token
    for path in (f"/console/recipes/{uid}", f"/console/recipes/{uid}/retry"):
        assert client.post(path, data=form).status_code == 403
    assert client.post(f"/console/recipes/{uid}/delete", data=form).status_code == 403
    assert _stored(client, tenant, uid) == before


def test_another_organizations_recipe_is_not_found(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    other = make_tenant(client, "Globex", "Hall")
    theirs = create(client, other, brand="LG", serialNumber="SN-1", model="QM55")
    registered(client, brand="LG", model="UH5F", serialNumber="SN-1")
    uid = theirs["uid"]
    before = _stored(client, other, uid)
    for path in (f"/console/recipes/{uid}", f"/console/recipes/{uid}/delete"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "not found" in answer.text
    form = _form(before, csrf, deviceName="Mine now")
    for path in (f"/console/recipes/{uid}", f"/console/recipes/{uid}/retry"):
        assert client.post(path, data=form).status_code == 404
    assert client.post(f"/console/recipes/{uid}/delete", data=form).status_code == 404
    assert _stored(client, other, uid) == before
    assert 'class="row-link"' not in client.get("/console/recipes", params={"q": "SN-1"}).text


@pytest.mark.parametrize(
    "path",
    [
        "/console/recipes/0123456789abcdef0123456789abcdef",
        "/console/recipes/not-a-uid",
        "/console/recipes/0123456789ABCDEF0123456789ABCDEF",
        "/console/recipes/%00",
        "/console/recipes/0123456789abcdef0123456789abcdef/delete",
    ],
)
def test_a_missing_or_malformed_uid_is_not_found(
    client: TestClient, tenant: Tenant, csrf: str, path: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert "not found" in answer.text
    assert client.post(path, data={"csrf_token": csrf}).status_code == 404


def test_odd_form_values_are_refused_with_the_apis_messages(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1")
    uid = recipe["uid"]
    for changes, field in (
        ({"tagUids": ["not-a-uid"]}, "tagUids"),
        ({"policyUid": "0" * 32}, "policyUid"),
        ({"deviceName": "a\x00b"}, "deviceName"),
        ({"model": "m" * 300}, "model"),
        ({"brand": ""}, "brand"),
        ({"serialNumber": "   "}, "serialNumber"),
    ):
        answer = client.post(f"/console/recipes/{uid}", data=_form(recipe, csrf, **changes))
        assert answer.status_code == 422, (changes, answer.text[-500:])
        assert f'id="{field}-error"' in answer.text, changes
    assert _stored(client, tenant, uid) == recipe


def test_signed_out_the_pages_send_to_sign_in(client: TestClient, tenant: Tenant) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1")
    for path in ("/console/recipes", f"/console/recipes/{recipe['uid']}", "/console/recipes/live"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")
    live = client.get("/console/recipes/live", headers={"HX-Request": "true"})
    assert (live.status_code, live.headers["HX-Redirect"]) == (204, "/console/sign-in")


def test_the_recipe_pages_live_part_follows_the_recipe(
    client: TestClient, tenant: Tenant, csrf: str
) -> None:
    recipe = create(client, tenant, brand="LG", serialNumber="SN-1")
    uid = recipe["uid"]
    page = _history_rows(client, tenant, uid, events=1)
    poll = re.search(
        r'hx-get="(/console/recipes/[0-9a-f]+/live)" hx-vals=\'\{"seen": "(\w+)"', page
    )
    assert poll is not None
    url, version = poll.groups()
    assert client.get(f"{url}?seen={version}").status_code == 204
    registered(client, brand="LG", serialNumber="SN-1")
    _history_rows(client, tenant, uid, events=3)
    changed = client.get(f"{url}?seen={version}")
    assert changed.status_code == 200
    assert "Device.ProvisioningRecipeStatusUpdated" in changed.text
    fields = changed.text[changed.text.index('<section id="recipe-fields"') :]
    assert 'hx-swap-oob="true"' in fields
    assert '<span class="status status-Applied">Applied</span>' in fields

    client.delete(f"{RECIPES}/{uid}", headers=tenant.headers)
    assert client.get(f"{url}?seen={version}").status_code == 286  # htmx stops polling
