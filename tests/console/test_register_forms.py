"""Register devices without a browser: the API's messages next to the fields, forged posts,
garbage uploads; nothing answers 500 and a refusal stores nothing."""

import csv
import io
import json
import re
from html import escape, unescape

import pytest
from fastapi.testclient import TestClient

from provisio.api.bulk_input import CSV_COLUMNS
from provisio.domain.events import RECIPE_CREATED
from provisio.domain.identifiers import MAC_HINT
from provisio.service.bulk_import import MAX_LISTED_ROWS
from tests.api.helpers import POLICIES, TAGS, account_headers, create, entry
from tests.conftest import Tenant, make_tenant
from tests.console.devices_support import (
    field_error,
    field_value,
    recipes_of,
)
from tests.console.sign_in import csrf_of, sign_in
from tests.support import stored_event_bodies

REGISTER = "/console/register"
BULK = "/console/register/bulk"


def _save(client: TestClient, csrf: str, **fields: str | list[str]) -> tuple[int, str]:
    answer = client.post(REGISTER, data={"csrf_token": csrf, **fields}, follow_redirects=False)
    return answer.status_code, answer.text


def _upload(
    client: TestClient,
    csrf: str,
    content: bytes,
    mode: str = "atomic",
    name: str = "recipes.csv",
) -> tuple[int, str]:
    answer = client.post(
        BULK,
        data={"csrf_token": csrf, "mode": mode},
        files={"file": (name, content, "text/csv")},
    )
    return answer.status_code, answer.text


def _csv(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode()


def _refused_rows(html: str) -> list[tuple[str, str, str]]:
    """The (Row, Field, Message) cells of the refused-rows table."""
    body = html.split("<caption>Refused rows</caption>", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td class=\"wrap\">(.*?)</td></tr>", body)
    return [(row, field, message) for row, field, message in cells]


def test_a_missing_identifier_is_told_next_to_its_field_and_the_values_stay(
    client: TestClient, tenant: Tenant
) -> None:
    csrf = sign_in(client, tenant)
    status, page = _save(client, csrf, brand="samsung", deviceName="Lobby", model="QM55R")
    assert status == 422
    assert field_error(page, "serialNumber") == "is required for brand 'samsung'"
    assert field_error(page, "macAddress") == ""
    assert (field_value(page, "brand"), field_value(page, "deviceName")) == ("samsung", "Lobby")
    assert field_value(page, "model") == "QM55R"
    # Without JavaScript the answer marks what the brand needs.
    assert re.search(r'<input id="serialNumber"[^>]* required', page)
    assert recipes_of(client, tenant) == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"brand": "android", "macAddress": "not-a-mac"}, "macAddress", "MAC address"),
        ({"brand": "lg\x00", "serialNumber": "SN-1"}, "brand", "U+0000"),
        ({"serialNumber": "SN-1"}, "brand", "Field required"),
        ({"brand": "lg", "serialNumber": "SN-1", "tagUids": "nope"}, "tagUids", "uid"),
        ({"brand": "lg", "serialNumber": "SN-1", "policyUid": "0" * 32}, "policyUid", ""),
        ({"brand": "lg", "serialNumber": "x" * 300}, "serialNumber", "at most"),
    ],
)
def test_bad_input_gives_the_form_back_with_the_apis_message(
    client: TestClient,
    tenant: Tenant,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    csrf = sign_in(client, tenant)
    status, page = _save(client, csrf, **fields)
    api = client.post(
        "/v1/provisioning-recipe",
        json={**fields, **({"tagUids": [fields["tagUids"]]} if "tagUids" in fields else {})},
        headers=tenant.headers,
    )
    assert (status, api.status_code) == (422, 422)
    shown = field_error(page, field)
    assert message in shown
    assert shown in [detail["message"] for detail in api.json()["details"]]
    assert recipes_of(client, tenant) == []


def test_a_clashing_recipe_is_a_409_with_the_apis_message(
    client: TestClient, tenant: Tenant
) -> None:
    first = create(client, tenant, serialNumber="SN-1")
    csrf = sign_in(client, tenant)
    status, page = _save(client, csrf, brand="Samsung", serialNumber=" sn-1 ")
    assert status == 409
    assert field_error(page, "serialNumber") == (
        f"live recipe {first['uid']} already claims this brand and serialNumber"
    )
    assert field_value(page, "serialNumber") == " sn-1 "
    assert len(recipes_of(client, tenant)) == 1


def test_a_saved_recipe_is_shown_with_its_link_and_its_event_names_the_account(
    client: TestClient, tenant: Tenant, database_url: str
) -> None:
    tag = entry(client, tenant, TAGS, "floor 1")
    policy = entry(client, tenant, POLICIES, "night", items=[])
    csrf = sign_in(client, tenant)
    answer = client.post(
        REGISTER,
        data={
            "csrf_token": csrf,
            "brand": "lg",
            "serialNumber": "SN-9",
            "deviceName": "Entrance",
            "tagUids": [tag],
            "policyUid": policy,
            "confirmedOwnership": "true",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    (recipe,) = recipes_of(client, tenant)
    assert answer.headers["location"] == f"{REGISTER}?created={recipe['uid']}"
    assert (recipe["brand"], recipe["serialNumber"], recipe["deviceName"]) == (
        "lg",
        "SN-9",
        "Entrance",
    )
    assert (recipe["tagUids"], recipe["policyUid"], recipe["confirmedOwnership"]) == (
        [tag],
        policy,
        True,
    )
    page = client.get(answer.headers["location"]).text
    assert f'href="/console/recipes/{recipe["uid"]}"' in page
    assert field_value(page, "serialNumber") in ("", None)  # an empty form again
    events = [json.loads(body) for body in stored_event_bodies(database_url)]
    created = [event["payload"] for event in events if event["type"] == RECIPE_CREATED]
    assert [event["originator"] for event in created] == [
        {"accountId": tenant.account_id, "organizationUid": tenant.organization_uid}
    ]


def test_the_identifier_fields_follow_the_brand(client: TestClient, tenant: Tenant) -> None:
    sign_in(client, tenant)

    def fields(brand: str) -> str:
        params = {"brand": brand, "serialNumber": "SN-1", "macAddress": "aa:bb"}
        answer = client.get(f"{REGISTER}/identifiers", params=params)
        assert answer.status_code == 200
        return answer.text

    samsung, android, unknown = fields(" Samsung"), fields("android"), fields("acme")
    assert re.search(r'<input id="serialNumber"[^>]* required', samsung)
    assert not re.search(r'<input id="macAddress"[^>]* required', samsung)
    assert re.search(r'<input id="macAddress"[^>]* required', android)
    assert not re.search(r'<input id="serialNumber"[^>]* required', android)
    assert "serial number, a MAC address or both" in unknown
    assert (field_value(samsung, "serialNumber"), field_value(samsung, "macAddress")) == (
        "SN-1",
        "aa:bb",
    )
    page = client.get(REGISTER).text
    for brand in ("samsung", "raspberrypi"):
        assert f'<option value="{brand}">' in page


def test_a_forged_post_is_refused_and_stores_nothing(client: TestClient, tenant: Tenant) -> None:
    sign_in(client, tenant)
    for csrf in (None, "forged"):
        token = {} if csrf is None else {"csrf_token": csrf}
        saved = client.post(REGISTER, data={**token, "brand": "lg", "serialNumber": "SN-1"})
        uploaded = client.post(
            BULK,
            data={**token, "mode": "partial"},
            files={"file": ("r.csv", _csv("brand,serialNumber", "lg,SN-2"), "text/csv")},
        )
        assert (saved.status_code, uploaded.status_code) == (403, 403)
    assert recipes_of(client, tenant) == []


def test_signed_out_the_forms_lead_to_sign_in(client: TestClient) -> None:
    for answer in (
        client.get(REGISTER, follow_redirects=False),
        client.get(f"{REGISTER}/template.csv", follow_redirects=False),
        client.post(
            BULK, files={"file": ("r.csv", b"brand\n", "text/csv")}, follow_redirects=False
        ),
    ):
        assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")


def test_a_bad_row_in_atomic_mode_stores_nothing_and_is_listed(
    client: TestClient, tenant: Tenant
) -> None:
    csrf = sign_in(client, tenant)
    content = _csv("brand,serialNumber,macAddress", "lg,SN-1,", "lg,,", "android,,zz", "lg,SN-3,")
    status, page = _upload(client, csrf, content)
    assert status == 422
    assert "<strong>0 created</strong>" in page
    assert _refused_rows(page) == [
        ("2", "serialNumber", "is required for brand &#39;lg&#39;"),
        ("3", "macAddress", escape(MAC_HINT)),
    ]
    assert recipes_of(client, tenant) == []


def test_partial_mode_stores_the_good_rows(client: TestClient, tenant: Tenant) -> None:
    csrf = sign_in(client, tenant)
    content = _csv("brand,serialNumber", "lg,SN-1", "lg,", "lg,SN-3")
    status, page = _upload(client, csrf, content, mode="partial")
    assert status == 200
    assert "<strong>2 created</strong>; 1 refused" in page
    assert [row for row, _, _ in _refused_rows(page)] == ["2"]
    assert sorted(recipe["serialNumber"] for recipe in recipes_of(client, tenant)) == [
        "SN-1",
        "SN-3",
    ]
    assert 'value="partial" aria-describedby="mode-partial-hint" checked' in page


def test_more_refused_rows_than_listed_gives_the_total(client: TestClient, tenant: Tenant) -> None:
    csrf = sign_in(client, tenant)
    bad = MAX_LISTED_ROWS + 5
    content = _csv("brand,serialNumber", *(["lg,"] * bad), "lg,SN-1")
    status, page = _upload(client, csrf, content)
    assert status == 422
    assert f"{bad:,} refused" in page
    assert f"The first {MAX_LISTED_ROWS:,} refused rows are listed." in page
    assert len(_refused_rows(page)) == MAX_LISTED_ROWS
    assert recipes_of(client, tenant) == []


@pytest.mark.parametrize(
    ("content", "told"),
    [
        (b"", "the CSV has no header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        (json.dumps([{"brand": "lg", "serialNumber": "SN-1"}]).encode(), "is not a recipe column"),
        (b"serialNumber\nSN-1\n", "the CSV needs a brand column"),
        (b"brand\nlg\n" + b"x" * 200_000, "row 2: not valid CSV: field larger than field limit"),
        (b"brand,brand\nlg,lg\n", "a column is named twice"),
    ],
)
def test_a_file_that_is_not_a_csv_of_recipes_is_told_so(
    client: TestClient, tenant: Tenant, content: bytes, told: str
) -> None:
    csrf = sign_in(client, tenant)
    status, page = _upload(client, csrf, content, mode="partial")
    assert status == 422
    assert "Nothing was imported: the file is not a CSV file of recipes." in page
    assert told in unescape(page)
    assert recipes_of(client, tenant) == []


def test_garbage_in_cells_refuses_those_rows_only(client: TestClient, tenant: Tenant) -> None:
    csrf = sign_in(client, tenant)
    content = _csv(
        "brand,serialNumber,tagUids,confirmedOwnership",
        "lg,SN-\x00,,",
        "lg,SN-2,not-a-uid,",
        "lg,SN-3,,maybe",
        "lg,SN-4,,,extra",
        "lg,SN-5,,yes",
    )
    status, page = _upload(client, csrf, content, mode="partial")
    assert status == 200
    assert [row for row, _, _ in _refused_rows(page)] == ["1", "2", "3", "4"]
    assert [recipe["serialNumber"] for recipe in recipes_of(client, tenant)] == ["SN-5"]


def test_no_file_or_an_unknown_mode_is_told_at_the_field(
    client: TestClient, tenant: Tenant
) -> None:
    csrf = sign_in(client, tenant)
    empty = client.post(
        BULK, data={"csrf_token": csrf}, files={"file": ("", b"", "application/octet-stream")}
    )
    assert empty.status_code == 422
    assert field_error(empty.text, "file") == "choose a CSV file to import"
    form_only = client.post(BULK, data={"csrf_token": csrf, "mode": "atomic"})
    assert form_only.status_code == 422
    assert field_error(form_only.text, "file") == "choose a CSV file to import"
    status, page = _upload(client, csrf, _csv("brand,serialNumber", "lg,SN-1"), mode="sometimes")
    assert status == 422
    assert field_error(page, "mode") == "choose Atomic or Partial"
    assert recipes_of(client, tenant) == []


def test_a_broken_multipart_body_is_a_page_not_a_500(client: TestClient, tenant: Tenant) -> None:
    csrf = sign_in(client, tenant)
    answer = client.post(
        BULK,
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=xyz", "X-CSRF-Token": csrf},
    )
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("text/html")


def test_the_template_lists_the_apis_columns_and_imports_as_it_is(
    client: TestClient, tenant: Tenant
) -> None:
    csrf = sign_in(client, tenant)
    page = client.get(REGISTER).text
    assert 'href="/console/register/template.csv"' in page
    template = client.get(f"{REGISTER}/template.csv")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert template.headers["content-disposition"].startswith("attachment;")
    header, *rows = list(csv.reader(io.StringIO(template.text)))
    assert (tuple(header), len(rows)) == (CSV_COLUMNS, 1)
    status, result = _upload(client, csrf, template.content)
    assert (status, "<strong>1 created</strong>" in result) == (200, True)
    assert [recipe["serialNumber"] for recipe in recipes_of(client, tenant)] == ["SN-0001"]


def test_a_created_notice_names_only_the_organizations_own_recipe(
    client: TestClient, tenant: Tenant
) -> None:
    other = make_tenant(client, "Other", "Elsewhere")
    foreign = create(client, other, serialNumber="SN-F")
    sign_in(client, tenant)
    for created in (foreign["uid"], "nonsense", "\x00"):
        answer = client.get(REGISTER, params={"created": created})
        assert answer.status_code == 200
        assert "Recipe saved" not in answer.text
        assert "SN-F" not in answer.text
    csrf_of(answer.text)


def test_an_account_token_registers_into_the_organization_it_chose(
    client: TestClient, tenant: Tenant
) -> None:
    headers = account_headers(client, tenant)
    second = client.post("/v1/organization", json={"name": "Warehouse"}, headers=headers)
    assert second.status_code == 201, second.text
    account = Tenant(tenant.company_uid, second.json()["uid"], tenant.account_id, headers["X-Auth"])
    csrf = sign_in(client, account)
    chosen = client.post(
        "/console/organization",
        data={"csrf_token": csrf, "organizationUid": account.organization_uid},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert _save(client, csrf, brand="lg", serialNumber="SN-1")[0] == 303
    status, _ = _upload(client, csrf, _csv("brand,serialNumber", "lg,SN-2"))
    assert status == 200
    assert recipes_of(client, tenant) == []
    assert sorted(recipe["serialNumber"] for recipe in recipes_of(client, account)) == [
        "SN-1",
        "SN-2",
    ]
