"""Signing in and out in a real browser, at both sizes."""

import re

from playwright.sync_api import expect

from tests.console.conftest import Console
from tests.support import fetch_rows


def test_an_operator_signs_in_with_a_token_and_signs_out(console: Console) -> None:
    console.open("/console/")
    expect(console.page).to_have_url(re.compile(r"/console/sign-in$"))
    console.sign_in()
    nav = console.page.get_by_role("navigation", name="Main")
    for name in ("Recipes", "Register devices", "Devices", "Exporters", "Events", "Settings"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    console.assert_fits()
    cookie = next(c for c in console.page.context.cookies() if c["name"] == "provisio_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert console.server.tenant.token not in console.page.content()

    console.page.get_by_role("button", name="Sign out").click()
    expect(console.page.get_by_role("button", name="Sign in")).to_be_visible()
    console.open("/console/recipes")
    expect(console.page).to_have_url(re.compile(r"/console/sign-in$"))
    # The old cookie is worthless: the session is gone from the database.
    assert fetch_rows(console.server.database_url, "SELECT id_hash FROM console_sessions") == []
    replayed = console.page.request.get(
        f"{console.server.url}/console/recipes",
        headers={"Cookie": f"provisio_session={cookie['value']}"},
        max_redirects=0,
    )
    assert (replayed.status, replayed.headers["location"]) == (303, "/console/sign-in")


def test_a_wrong_token_is_told_on_the_sign_in_page(console: Console) -> None:
    console.open("/console/sign-in")
    console.page.get_by_label("Token").fill("0123456789abcdef0123456789abcdef:wrong")
    console.page.get_by_role("button", name="Sign in").click()
    expect(console.page.get_by_role("alert")).to_have_text(re.compile("not valid"))
    expect(console.page.get_by_label("Token")).to_be_visible()
    console.assert_fits()


def test_a_forged_post_is_refused_and_changes_nothing(console: Console) -> None:
    console.sign_in()
    # The browser's own cookie, but not the page's CSRF token: what another site could send.
    answer = console.page.request.post(
        f"{console.server.url}/console/sign-out", form={"csrf_token": "forged"}
    )
    assert answer.status == 403
    console.open("/console/recipes")
    expect(console.page.get_by_role("heading", name="Recipes", level=1)).to_be_visible()
