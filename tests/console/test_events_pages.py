"""The Events page's answers without a browser: paging backwards, what the live poll returns,
tenant isolation, and a page (never a 500) for odd queries."""

import re

from fastapi.testclient import TestClient

from tests.api.helpers import create, feed
from tests.conftest import Tenant, make_tenant
from tests.console.signed_in import signed_in

PAGE = "/console/events"
LIVE = "/console/events/live"
DELETED = "Device.ProvisioningRecipeDeleted"


def _positions(html: str) -> list[int]:
    return [
        int(position) for position in re.findall(r'<tbody class="event" id="event-(\d+)"', html)
    ]


def _poller(html: str) -> str | None:
    found = re.search(r'id="events-live" hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_feed_is_newest_first_and_pages_backwards(client: TestClient, tenant: Tenant) -> None:
    for n in range(55):
        create(client, tenant, serialNumber=f"SN-{n}")
    everything = [item["position"] for item in feed(client, tenant, 55)]
    console = signed_in(client, tenant)

    first = console.get(PAGE)
    assert first.status_code == 200
    assert _positions(first.text) == everything[::-1][:50]
    assert _poller(first.text) == f"{LIVE}?after={everything[-1]}"
    older = re.search(r'<a href="([^"]+)">Older events</a>', first.text)
    assert older is not None
    assert older.group(1) == f"{PAGE}?before={everything[5]}"

    second = console.get(older.group(1))
    assert _positions(second.text) == everything[::-1][50:]
    assert _poller(second.text) is None  # only the newest page is live
    assert "Older events" not in second.text
    assert f'<a href="{PAGE}">Newest events</a>' in second.text


def test_the_live_poll_answers_only_what_is_newer(client: TestClient, tenant: Tenant) -> None:
    create(client, tenant, serialNumber="SN-0")
    [top] = [item["position"] for item in feed(client, tenant, 1)]
    console = signed_in(client, tenant)

    assert console.get(LIVE, after=top).status_code == 204
    create(client, tenant, serialNumber="SN-1")
    [newer] = [item["position"] for item in feed(client, tenant, 2)][1:]
    answer = console.get(LIVE, after=top)
    assert answer.status_code == 200
    assert _positions(answer.text) == [newer]
    assert _poller(answer.text) == f"{LIVE}?after={newer}"
    assert "HX-Retarget" not in answer.headers

    for n in range(51):  # more than a page: the first page again, whole
        create(client, tenant, serialNumber=f"SN-more-{n}")
    feed(client, tenant, 53)
    whole = console.get(LIVE, after=newer)
    assert (whole.headers["HX-Retarget"], whole.headers["HX-Reswap"]) == (
        "#events-feed",
        "outerHTML",
    )
    assert len(_positions(whole.text)) == 50
    assert "Older events" in whole.text


def test_a_filtered_page_without_events_waits_from_the_newest(
    client: TestClient, tenant: Tenant
) -> None:
    recipe = create(client, tenant, serialNumber="SN-0")
    [top] = [item["position"] for item in feed(client, tenant, 1)]
    console = signed_in(client, tenant)
    page = console.get(PAGE, type=DELETED)
    assert _positions(page.text) == []
    assert f"No {DELETED} events yet." in page.text
    poller = _poller(page.text)
    assert poller == f"{LIVE}?type={DELETED}&after={top}&empty=true"

    assert console.get(poller).status_code == 204
    client.delete(f"/v1/provisioning-recipe/{recipe['uid']}", headers=tenant.headers)
    feed(client, tenant, 2)
    answer = console.get(poller)
    assert answer.headers["HX-Retarget"] == "#events-feed"  # the "none yet" row goes too
    assert len(_positions(answer.text)) == 1
    assert "events yet" not in answer.text


def test_another_organizations_events_are_not_shown(client: TestClient, tenant: Tenant) -> None:
    other = make_tenant(client, "Other", "Elsewhere")
    theirs = create(client, other, serialNumber="SN-0")
    ours = create(client, tenant, serialNumber="SN-0")
    feed(client, tenant, 1)
    feed(client, other, 1)
    page = signed_in(client, tenant).get(PAGE)
    assert ours["uid"] in page.text
    assert theirs["uid"] not in page.text


def test_odd_queries_answer_a_page_never_a_500(client: TestClient, tenant: Tenant) -> None:
    console = signed_in(client, tenant)
    for path, params, status in (
        (PAGE, {"type": "Device.Nope"}, 422),
        (PAGE, {"type": "\x00"}, 422),
        (PAGE, {"type": "x" * 5000}, 400),
        (PAGE, {"before": "abc"}, 400),
        (PAGE, {"before": 0}, 400),
        (PAGE, {"before": 2**70}, 400),
        (LIVE, {"after": -1}, 400),
        (LIVE, {"after": "1e3"}, 400),
        (LIVE, {"type": "Device.Nope"}, 422),
        (LIVE, {"empty": "maybe"}, 400),
    ):
        answer = console.get(path, **params)
        assert answer.status_code == status, (path, params, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), (path, params)
        assert '<nav aria-label="Main">' in answer.text  # a console page, signed in


def test_a_signed_out_poll_is_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get(LIVE, headers={"HX-Request": "true"}, follow_redirects=False)
    assert (answer.status_code, answer.headers["HX-Redirect"]) == (204, "/console/sign-in")
