"""The Settings pages without a browser: each form reaches the registry use cases (checked
through the API, which must see the change), refusals come back next to the fields with what
was typed, forged and foreign requests change nothing, and odd input is a page, never a 500."""

import html
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import LOCATIONS, POLICIES, TAGS, entry, read
from tests.conftest import Tenant, make_tenant
from tests.console.signed_in import SignedIn, errors_of, signed_in

SETTINGS = "/console/settings"


@pytest.fixture
def console(client: TestClient, tenant: Tenant) -> SignedIn:
    return signed_in(client, tenant)


def _refused(answer: Any, status: int = 422) -> dict[str, list[str]]:
    assert answer.status_code == status, answer.text
    return {
        field: [html.unescape(m) for m in found] for field, found in errors_of(answer.text).items()
    }


def _saved(answer: Any, kind: str) -> None:
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{SETTINGS}/{kind}"


def _only(client: TestClient, tenant: Tenant, path: str) -> dict[str, Any]:
    [found] = read(client, tenant, path)
    result: dict[str, Any] = found
    return result


# --- tags ----------------------------------------------------------------------------------


def test_a_tag_is_created_edited_and_deleted(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    parent = entry(client, tenant, TAGS, "Screens")
    _saved(console.post(f"{SETTINGS}/tags", {"name": " Lobby ", "color": "#fff"}), "tags")
    lobby = next(t for t in read(client, tenant, TAGS) if t["name"] == "Lobby")
    assert lobby.get("color") == "#fff"
    assert "parentTagUid" not in lobby
    listed = console.get(f"{SETTINGS}/tags").text
    assert f'href="{SETTINGS}/tags/{lobby["uid"]}">Lobby</a>' in listed

    edit = f"{SETTINGS}/tags/{lobby['uid']}"
    form = console.get(edit).text
    assert 'value="#fff"' in form
    assert f'<option value="{parent}">Screens</option>' in form
    assert f'<option value="{lobby["uid"]}"' not in form  # not its own parent
    _saved(console.post(edit, {"name": "Hall", "color": "", "parentTagUid": parent}), "tags")
    changed = read(client, tenant, f"{TAGS}/{lobby['uid']}")
    assert (changed["name"], changed.get("color"), changed["parentTagUid"]) == (
        "Hall",
        None,
        parent,
    )
    assert "Screens" in console.get(f"{SETTINGS}/tags").text

    confirm = console.get(f"{edit}/delete")
    assert "Delete tag “Hall”?" in confirm.text
    assert (
        read(client, tenant, f"{TAGS}/{lobby['uid']}")["name"] == "Hall"
    )  # asking deletes nothing
    _saved(console.post(f"{edit}/delete", {}), "tags")
    assert client.get(f"{TAGS}/{lobby['uid']}", headers=tenant.headers).status_code == 404


def test_a_refused_tag_comes_back_with_the_apis_messages_and_what_was_typed(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    theirs = entry(client, make_tenant(client, "Other", "Elsewhere"), TAGS, "Theirs")
    answer = console.post(f"{SETTINGS}/tags", {"name": "", "color": "teal"})
    assert _refused(answer) == {"name": ["String should have at least 1 character"]}
    assert 'value="teal"' in answer.text
    assert 'aria-describedby="name-error"' in answer.text

    answer = console.post(f"{SETTINGS}/tags", {"name": "A", "parentTagUid": theirs})
    assert _refused(answer) == {"parentTagUid": [f"no tag {theirs} in this organization"]}
    mine = entry(client, tenant, TAGS, "Mine")
    answer = console.post(f"{SETTINGS}/tags/{mine}", {"name": "Mine", "parentTagUid": mine})
    assert _refused(answer) == {"parentTagUid": ["a tag cannot be its own parent"]}
    assert _refused(console.post(f"{SETTINGS}/tags/{mine}", {"name": "   "})) == {
        "name": ["must not be blank"]
    }
    assert [t["name"] for t in read(client, tenant, TAGS)] == ["Mine"]


# --- policies ------------------------------------------------------------------------------


def test_a_policy_is_created_edited_archived_and_deleted(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    items = [
        {"type": "volume", "value": 40},
        {"type": "app", "applicationType": "web", "value": None},
    ]
    sent = {"name": "Night", "note": "quiet hours", "items": json.dumps(items)}
    _saved(console.post(f"{SETTINGS}/policies", sent), "policies")
    policy = _only(client, tenant, POLICIES)
    assert (policy["note"], policy["items"]) == ("quiet hours", items)

    edit = f"{SETTINGS}/policies/{policy['uid']}"
    shown = html.unescape(console.get(edit).text)
    assert json.dumps(items, indent=2) in shown
    _saved(console.post(edit, {"name": "Night", "note": "", "items": ""}), "policies")
    changed = read(client, tenant, f"{POLICIES}/{policy['uid']}")
    assert ("note" in changed, changed["items"]) == (False, [])

    assert console.post(f"{edit}/archive", {}).headers["location"] == edit
    assert read(client, tenant, POLICIES) == []
    assert "Night" not in console.get(f"{SETTINGS}/policies").text
    assert "Night" in console.get(f"{SETTINGS}/policies", archived="true").text
    assert "Unarchive" in console.get(edit).text
    console.post(f"{edit}/unarchive", {})
    assert _only(client, tenant, POLICIES)["uid"] == policy["uid"]

    _saved(console.post(f"{edit}/delete", {}), "policies")
    assert read(client, tenant, POLICIES) == []


def test_policy_items_are_refused_with_the_apis_messages(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    for items, message in (
        ("[{", "this is not valid JSON"),
        ('{"type": "x", "value": 1}', "Input should be a valid list"),
        ('[{"value": 1}]', "items.0.type: Field required"),
        (
            '[{"type": "x", "value": 1, "extra": 2}]',
            "items.0.extra: Extra inputs are not permitted",
        ),
        ("[" * 64 + "]" * 64, "this is nested deeper than 64 levels"),
        ('[{"type": "x", "value": ' + "9" * 101 + "}]", "this has a number longer than 100 digits"),
        (
            '[{"type": "x", "value": "\\u0000"}]',
            "items.0.value: must not contain U+0000 or an unpaired surrogate",
        ),
    ):
        answer = console.post(f"{SETTINGS}/policies", {"name": "P", "items": items})
        assert _refused(answer) == {"items": [message]}, items
        assert html.escape(items, quote=False) in answer.text.replace("&#34;", '"').replace(
            "&#39;", "'"
        )
    assert read(client, tenant, POLICIES) == []


# --- locations -----------------------------------------------------------------------------


def test_a_location_is_created_edited_and_deleted(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    lobby, hall = entry(client, tenant, TAGS, "Lobby"), entry(client, tenant, TAGS, "Hall")
    sent = {
        "name": "Prague",
        "coordinates.lat": "50.0755",
        "coordinates.long": "14.4378",
        "customId": "PRG-1",
        "description": "HQ",
        "tagUids": [lobby, hall],
    }
    _saved(console.post(f"{SETTINGS}/locations", sent), "locations")
    location = _only(client, tenant, LOCATIONS)
    assert location["feature"]["geometry"]["coordinates"] == [14.4378, 50.0755]
    assert (location["customId"], location["description"]) == ("PRG-1", "HQ")
    assert location["tagUids"] == [lobby, hall]
    assert "Lobby, Hall" in console.get(f"{SETTINGS}/locations").text

    edit = f"{SETTINGS}/locations/{location['uid']}"
    form = console.get(edit).text
    assert 'value="50.0755"' in form
    assert f'<option value="{hall}" selected>' in form
    moved = {"name": "Prague", "address": "Václavské náměstí 1", "tagUids": [hall]}
    _saved(console.post(edit, moved), "locations")
    changed = read(client, tenant, f"{LOCATIONS}/{location['uid']}")
    assert changed["feature"]["geometry"] is None
    assert changed["feature"]["properties"]["address"] == "Václavské náměstí 1"
    assert changed["tagUids"] == [hall]
    assert "customId" not in changed  # emptied, so cleared
    assert "description" not in changed

    _saved(console.post(f"{edit}/delete", {}), "locations")
    assert read(client, tenant, LOCATIONS) == []


def test_a_refused_location_comes_back_with_the_apis_messages(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    either = ["send coordinates or an address"]
    assert _refused(console.post(f"{SETTINGS}/locations", {"name": "L"})) == {
        "address": either,
        "coordinates": either,
    }
    both = ["send either coordinates or an address, not both"]
    sent: dict[str, Any] = {
        "name": "L",
        "address": "Main St",
        "coordinates.lat": "1",
        "coordinates.long": "2",
    }
    assert _refused(console.post(f"{SETTINGS}/locations", sent)) == {
        "address": both,
        "coordinates": both,
    }
    answer = console.post(f"{SETTINGS}/locations", {"name": "L", "coordinates.lat": "north"})
    assert _refused(answer) == {
        "coordinates.lat": ["Input should be a valid number"],
        "coordinates.long": ["Field required"],
    }
    assert 'value="north"' in answer.text
    sent = {"name": "L", "coordinates.lat": "91", "coordinates.long": "nan"}
    assert _refused(console.post(f"{SETTINGS}/locations", sent)) == {
        "coordinates.lat": ["Input should be less than or equal to 90"],
        "coordinates.long": ["Input should be a finite number"],
    }
    sent = {"name": "L", "address": "x", "tagUids": ["nope"]}
    assert _refused(console.post(f"{SETTINGS}/locations", sent)) == {
        "tagUids": ["tagUids.0: must be a uid of 32 lowercase hex characters"]
    }

    place = entry(client, tenant, LOCATIONS, "Place")
    edit = f"{SETTINGS}/locations/{place}"
    assert _refused(console.post(edit, {"name": "Place"})) == {
        "address": either,
        "coordinates": either,
    }
    tag = entry(client, tenant, TAGS, "T")
    sent = {"name": "Place", "address": "x", "tagUids": [tag, tag]}
    assert _refused(console.post(edit, sent)) == {"tagUids": ["must not list a tag twice"]}
    theirs = entry(client, make_tenant(client, "Other", "Elsewhere"), TAGS, "Theirs")
    sent = {"name": "Place", "address": "x", "tagUids": [theirs]}
    assert _refused(console.post(edit, sent)) == {
        "tagUids": [f"no tag {theirs} in this organization"]
    }
    unchanged = read(client, tenant, f"{LOCATIONS}/{place}")
    assert (unchanged["feature"]["geometry"] is not None, unchanged["tagUids"]) == (True, [])
    assert len(read(client, tenant, LOCATIONS)) == 1


# --- forged, foreign and odd requests ----------------------------------------------------


def _snapshot(client: TestClient, tenant: Tenant) -> list[Any]:
    return [
        read(client, tenant, path)
        for path in (TAGS, POLICIES, f"{POLICIES}?archived=true", LOCATIONS)
    ]


def test_a_forged_post_is_refused_and_changes_nothing(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    tag = entry(client, tenant, TAGS, "Tag")
    policy = entry(client, tenant, POLICIES, "Policy")
    location = entry(client, tenant, LOCATIONS, "Location")
    before = _snapshot(client, tenant)
    posts = [
        (f"{SETTINGS}/tags", {"name": "New"}),
        (f"{SETTINGS}/tags/{tag}", {"name": "Renamed"}),
        (f"{SETTINGS}/tags/{tag}/delete", {}),
        (f"{SETTINGS}/policies", {"name": "New"}),
        (f"{SETTINGS}/policies/{policy}", {"name": "Renamed"}),
        (f"{SETTINGS}/policies/{policy}/archive", {}),
        (f"{SETTINGS}/policies/{policy}/delete", {}),
        (f"{SETTINGS}/locations", {"name": "New", "address": "x"}),
        (f"{SETTINGS}/locations/{location}", {"name": "Renamed", "address": "x"}),
        (f"{SETTINGS}/locations/{location}/delete", {}),
    ]
    for path, data in posts:
        for csrf in (None, "forged"):
            answer = console.post(path, data, csrf=csrf)
            assert answer.status_code == 403, (path, csrf)
            assert "reload the page" in answer.text
    assert _snapshot(client, tenant) == before


@pytest.mark.parametrize("kind", ["tags", "policies", "locations"])
def test_another_organizations_entry_is_not_found_and_unchanged(
    client: TestClient, tenant: Tenant, console: SignedIn, kind: str
) -> None:
    other = make_tenant(client, "Other", "Elsewhere")
    path = {"tags": TAGS, "policies": POLICIES, "locations": LOCATIONS}[kind]
    theirs = entry(client, other, path, "Theirs")
    before = read(client, other, f"{path}/{theirs}")
    page = f"{SETTINGS}/{kind}/{theirs}"
    for answer in (
        console.get(page),
        console.get(f"{page}/delete"),
        console.post(page, {"name": "Mine", "address": "x"}),
        console.post(f"{page}/delete", {}),
        console.get(f"{SETTINGS}/{kind}/{'0' * 32}"),
    ):
        assert answer.status_code == 404
        assert "<h1>Not found</h1>" in answer.text
    if kind == "policies":
        assert console.post(f"{page}/archive", {}).status_code == 404
    assert read(client, other, f"{path}/{theirs}") == before


def test_odd_input_is_a_page_never_a_500(
    client: TestClient, tenant: Tenant, console: SignedIn
) -> None:
    tag = entry(client, tenant, TAGS, "Tag")
    for path, data, field in (
        (f"{SETTINGS}/tags", {"name": "a\x00b"}, "name"),
        (f"{SETTINGS}/tags", {"name": "x" * 100_000}, "name"),
        (f"{SETTINGS}/tags/{tag}", {"color": "red"}, "name"),
        (f"{SETTINGS}/policies", {"name": "P", "note": "n" * 1001}, "note"),
        (
            f"{SETTINGS}/locations",
            {"name": "L", "coordinates.lat": "1e999", "coordinates.long": "0"},
            "coordinates.lat",
        ),
        (f"{SETTINGS}/locations", {"name": "L", "address": "x", "customId": "\x00"}, "customId"),
    ):
        answer = console.post(path, data)
        assert answer.status_code == 422, (path, data, answer.text)
        assert field in errors_of(answer.text), (path, data)
    # A file where text belongs is no text at all.
    answer = client.post(
        f"{SETTINGS}/tags",
        data={"csrf_token": console.csrf_token},
        files={"name": ("name.txt", b"Lobby")},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    assert errors_of(answer.text) == {"name": ["Field required"]}
    for path, status in (
        (f"{SETTINGS}/policies?archived=maybe", 400),
        (f"{SETTINGS}/tags?after=-1", 400),
        (f"{SETTINGS}/tags?after=99999999999999999999999", 400),
        (f"{SETTINGS}/tags/not-a-uid", 404),
        (f"{SETTINGS}/locations/{'A' * 32}/delete", 404),
    ):
        assert console.get(path).status_code == status, path
    assert [t["name"] for t in read(client, tenant, TAGS)] == ["Tag"]
    # Bytes that are not UTF-8 arrive as U+FFFD, which any database stores.
    answer = client.post(
        f"{SETTINGS}/tags",
        content=f"csrf_token={console.csrf_token}&name=%ED%A0%80&color=%FF".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
