"""Exporters in a real browser, against a real webhook receiver on loopback: the write-only
secret, the delivery log, a test event, failures and replay, enable/disable, refusals next to
the fields, and another organization's exporter."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.cli.live import LiveServer, bootstrap_tenant, live_server
from tests.console.conftest import Console
from tests.console.receiver import Receiver, receiver

SECRET = "console-exporter-secret-0123456789abcdef"
CREATED = "Device.ProvisioningRecipeCreated"


@pytest.fixture
def console(database_url: str, page: Page) -> Iterator[Console]:
    """As the package's, with a short retry schedule (three attempts within half a second)
    so a failing receiver ends its delivery as failed while the test watches."""
    with live_server(
        database_url,
        webhook_allow_http=True,
        webhook_allowed_networks="127.0.0.0/8",
        retry_schedule="0,0.2,0.2",
    ) as server:
        yield Console(server, page)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def fill_form(page: Page, name: str, url: str, secret: str, types: tuple[str, ...]) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("URL").fill(url)
    for event_type in types:
        page.get_by_label(event_type, exact=True).check()
    page.get_by_label("Secret").fill(secret)


def new_exporter(console: Console, url: str, *, types: tuple[str, ...] = (CREATED,)) -> str:
    """Signed in, an enabled exporter made through the form; answers its uid."""
    page = console.page
    console.sign_in()
    console.go("Exporters")
    page.get_by_role("link", name="New exporter").click()
    fill_form(page, "Lobby CMS", url, SECRET, types)
    expect(page.get_by_label("Enabled")).to_be_checked()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Lobby CMS", level=1)).to_be_visible()
    return page.url.rsplit("/", 1)[1]


def log_row(page: Page, text: str) -> Locator:
    return page.locator("#log").get_by_role("row").filter(has_text=text)


def test_the_secret_never_comes_back_and_deliveries_show_with_their_attempts(
    console: Console, hook: Receiver
) -> None:
    page = console.page
    uid = new_exporter(console, hook.url)
    assert SECRET not in page.content()
    console.assert_fits()

    recipe = console.server.ok(
        "POST", "/v1/provisioning-recipe", {"brand": "lg", "serialNumber": "SN-1"}
    )
    (request,) = hook.wait_for(1)
    request.verify(SECRET, hook.url)
    assert request.json["payload"]["uid"] == recipe["uid"]

    row = log_row(page, CREATED)
    expect(row).to_contain_text("delivered")
    expect(row).to_contain_text(re.compile(r"UTC · HTTP 204 · \d+ ms"))
    expect(page.locator("#observability")).to_contain_text(re.compile(r"Delivered\s*1"))
    console.assert_fits()
    assert SECRET not in page.content()

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Secret")).to_have_value("")
    expect(page.get_by_label("URL")).to_have_value(hook.url)
    assert SECRET not in page.content()
    console.go("Exporters")
    row = page.get_by_role("row").filter(has_text="Lobby CMS")
    expect(row).to_contain_text("Enabled")
    expect(row.get_by_role("cell").nth(3)).to_have_text("1")
    assert SECRET not in page.content()
    assert uid in page.content()


def test_send_test_event_shows_the_receivers_answer(console: Console, hook: Receiver) -> None:
    page = console.page
    uid = new_exporter(console, hook.url)
    hook.status, hook.answer = 202, b'{"received": true}'
    page.get_by_role("button", name="Send test event").click()
    result = page.get_by_role("status")
    expect(result).to_contain_text("The receiver answered HTTP 202 in")
    expect(result).to_contain_text('{"received": true}')
    console.assert_fits()

    (request,) = hook.received()
    request.verify(SECRET, hook.url)
    envelope = request.json
    assert (envelope["kind"], envelope["type"]) == ("test", "EventStream.Ping")
    assert envelope["payload"]["exporterUid"] == uid
    assert request.headers["webhook-id"] == envelope["id"]
    assert request.headers["x-sos-exporter-config-uid"] == uid
    assert request.headers["x-sos-sequence-number"] == "0"
    # Not a delivery: the log stays empty.
    expect(page.locator("#log")).to_contain_text("No deliveries.")
    assert SECRET not in page.content()


def test_a_failing_receiver_ends_in_failed_and_replay_failed_sends_again(
    console: Console, hook: Receiver
) -> None:
    page = console.page
    hook.status = 500
    new_exporter(console, hook.url)
    console.server.ok("POST", "/v1/provisioning-recipe", {"brand": "lg", "serialNumber": "SN-1"})
    hook.wait_for(3)

    page.get_by_role("navigation", name="Delivery status").get_by_role(
        "link", name="Failed"
    ).click()
    row = log_row(page, CREATED)
    expect(row).to_contain_text("failed")
    expect(row.get_by_role("listitem").filter(has_text="HTTP 500")).to_have_count(3)
    expect(page.locator("#observability")).to_contain_text(re.compile(r"Errors\s*1"))
    expect(page.locator("#observability").get_by_role("row")).to_have_count(2)  # recent failures
    console.assert_fits()

    hook.status = 204
    page.get_by_role("button", name="Replay failed").click()
    expect(page.get_by_role("status")).to_have_text("1 failed delivery queued again.")
    hook.wait_for(4)
    delivered = log_row(page, CREATED).filter(has_text="delivered")
    expect(delivered).to_contain_text("HTTP 204")
    first, *_, replayed = hook.received()
    assert first.headers["webhook-id"] == replayed.headers["webhook-id"]
    replayed.verify(SECRET, hook.url)


def test_disable_and_enable(console: Console, hook: Receiver) -> None:
    page = console.page
    new_exporter(console, hook.url)
    page.get_by_role("button", name="Disable").click()
    expect(page.locator("dl.fields").first).to_contain_text("Disabled")
    quiet = console.server.ok(
        "POST", "/v1/provisioning-recipe", {"brand": "lg", "serialNumber": "SN-1"}
    )

    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("button", name="Disable")).to_be_visible()
    expect(page.locator("dl.fields").first).to_contain_text("Enabled")
    heard = console.server.ok(
        "POST", "/v1/provisioning-recipe", {"brand": "lg", "serialNumber": "SN-2"}
    )
    hook.wait_for(1)
    expect(log_row(page, CREATED)).to_have_count(1)
    uids = [request.json["payload"]["uid"] for request in hook.received()]
    assert uids == [heard["uid"]], f"{quiet['uid']} was committed while disabled"
    console.assert_fits()


def test_refusals_show_next_to_their_fields_and_never_the_secret(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.open("/console/exporters/new")
    short = "short-secret"
    fill_form(page, "Lobby CMS", "https://10.1.2.3/hook", short, (CREATED,))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("URL")).to_have_accessible_description(
        "10.1.2.3 is not a public address"
    )
    expect(page.get_by_label("Secret")).to_have_accessible_description(
        re.compile("String should have at least 32 characters$")
    )
    expect(page.get_by_label("Name")).to_have_value("Lobby CMS")
    expect(page.get_by_label(CREATED, exact=True)).to_be_checked()
    expect(page.get_by_label("Secret")).to_have_value("")
    assert short not in page.content()
    console.assert_fits()

    page.get_by_label("Secret").fill(SECRET)  # valid now; the URL still is not
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Secret")).to_have_value("")
    expect(page.get_by_label("Secret")).not_to_have_attribute("aria-invalid", "true")
    assert SECRET not in page.content()
    assert console.server.ok("GET", "/v1/event-stream/exporter") == []


def test_another_organizations_exporter_is_not_found(console: Console) -> None:
    other = bootstrap_tenant(console.server.database_url, "Other", "Hall")
    theirs = LiveServer(console.server.url, console.server.database_url, other)
    exporter = theirs.ok(
        "POST",
        "/v1/event-stream/exporter",
        {
            "name": "theirs",
            "subscribedEventTypes": [CREATED],
            "config": {
                "configType": "webhook",
                "url": "http://127.0.0.1:9/hook",
                "auth": {
                    "authType": "httpSignedBody",
                    "signing": {"algorithm": "HS256", "secret": SECRET},
                },
            },
        },
    )
    console.sign_in()
    for path in ("", "/edit", "/delete"):
        response = console.page.goto(
            f"{console.server.url}/console/exporters/{exporter['uid']}{path}"
        )
        assert response is not None
        assert response.status == 404
        expect(console.page.get_by_role("heading", name="Not found")).to_be_visible()
        assert "theirs" not in console.page.content()
    console.assert_fits()
    assert theirs.ok("GET", f"/v1/event-stream/exporter/{exporter['uid']}")["name"] == "theirs"
