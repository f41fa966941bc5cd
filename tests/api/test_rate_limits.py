"""Rate limits: per token, failed verification codes per organization, wrong device keys per
source address; 429 with `Retry-After` beyond them, and a fleet with the right key never held.

Over HTTP the rates are one token per 1,000 s or slower: within a test nothing refills, so the
outcome does not depend on how fast the machine is. Refill is tested with a clock the test moves.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from provisio.api.app import create_app
from provisio.api.rate_limits import PRUNE_AT, TokenBuckets
from provisio.settings import Rate, Settings
from tests.api.helpers import DEVICES, RECIPES, register, registered
from tests.conftest import Tenant, make_tenant, settings_for
from tests.support import fetch_rows

SLOW = "0.001/3"
"""Three at once, then one per 1,000 s (per 16 h for the per-minute limits)."""
ERROR_KEYS = {"errorCode", "errorName", "message", "details"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _refusal(buckets: TokenBuckets, key: str) -> HTTPException:
    with pytest.raises(HTTPException) as refused:
        buckets.spend(key)
    return refused.value


def test_a_bucket_passes_its_burst_then_says_when_to_come_back() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(2, 4, 1.0), "requests", clock)
    for _ in range(4):
        buckets.spend("a")
    refused = _refusal(buckets, "a")
    assert refused.status_code == 429
    assert refused.headers == {"Retry-After": "1"}  # half a second, rounded up
    buckets.spend("b")  # another key has its own bucket
    clock.now += 0.5
    buckets.spend("a")
    clock.now += 10  # refills up to the burst, not beyond
    for _ in range(4):
        buckets.spend("a")
    assert _refusal(buckets, "a").status_code == 429


def test_retry_after_is_the_wait_for_one_more_in_whole_seconds() -> None:
    buckets = TokenBuckets(Rate(10, 20, 60.0), "attempts", Clock())
    for _ in range(20):
        buckets.spend("org")
    assert _refusal(buckets, "org").headers == {"Retry-After": "6"}


def test_check_spends_nothing_and_a_success_gives_its_token_back() -> None:
    buckets = TokenBuckets(Rate(1, 1, 60.0), "attempts", Clock())
    buckets.check("org")
    for _ in range(3):
        with buckets.attempt("org"):
            pass
    with pytest.raises(LookupError), buckets.attempt("org"):
        raise LookupError
    assert _refusal(buckets, "org").status_code == 429
    with pytest.raises(HTTPException):
        buckets.check("org")


def test_no_rate_is_no_limit() -> None:
    buckets = TokenBuckets(None, "requests", Clock())
    for _ in range(10_000):
        buckets.spend("a")
    buckets.check("a")


def test_buckets_of_idle_keys_are_dropped() -> None:
    clock = Clock()
    buckets = TokenBuckets(Rate(1, 1, 1.0), "requests", clock)
    for n in range(PRUNE_AT):
        buckets.spend(str(n))
    clock.now += 1  # every bucket so far has refilled: the same as no bucket
    buckets.spend("late")
    buckets.spend("later")
    assert len(buckets._buckets) == 2
    assert _refusal(buckets, "late").status_code == 429


@pytest.mark.parametrize(
    ("text", "rate"),
    [("100/400", Rate(100, 400, 1.0)), (" 0.5/3 ", Rate(0.5, 3, 1.0)), ("0", None)],
)
def test_rates_are_read_as_rate_slash_burst(text: str, rate: Rate | None) -> None:
    assert Settings(rate_limit=text).rate_limit == rate


@pytest.mark.parametrize("text", ["100", "x/3", "1/0", "-1/3", "nan/3", "inf/3", "0/0", "1/2.5"])
def test_unreadable_rates_stop_the_start(text: str) -> None:
    with pytest.raises(ValidationError, match="rate"):
        Settings(rate_limit=text)


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert defaults.rate_limit == Rate(100, 400, 1.0)
    assert defaults.pairing_rate_limit == Rate(10, 20, 60.0)
    assert defaults.device_key_rate_limit == Rate(10, 20, 60.0)
    monkeypatch.setenv("PROVISIO_RATE_LIMIT", "0")
    monkeypatch.setenv("PROVISIO_PAIRING_RATE_LIMIT", "5/7")
    read = Settings()
    assert (read.rate_limit, read.pairing_rate_limit) == (None, Rate(5, 7, 60.0))


@pytest.fixture
def limited(database_url: str) -> Iterator[TestClient]:
    settings = settings_for(
        database_url, rate_limit=SLOW, pairing_rate_limit=SLOW, device_key_rate_limit=SLOW
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _assert_429(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["errorCode"] == 429
    assert int(response.headers["Retry-After"]) >= 1


def test_a_token_beyond_its_burst_gets_429_and_other_tokens_do_not(
    limited: TestClient,
) -> None:
    tenant, rival = make_tenant(limited), make_tenant(limited, "Rival", "HQ")
    for _ in range(3):
        assert limited.get(RECIPES, headers=tenant.headers).status_code == 200
    refused = limited.post(
        RECIPES, json={"brand": "lg", "serialNumber": "1"}, headers=tenant.headers
    )
    _assert_429(refused)
    assert 900 <= int(refused.headers["Retry-After"]) <= 1000
    assert limited.get(RECIPES, headers=rival.headers).json() == []  # nothing was created
    assert limited.get(RECIPES, headers=tenant.headers).status_code == 429


def _pair(client: TestClient, tenant: Tenant, code: str) -> Any:
    return client.post(
        f"{DEVICES}/verification", json={"verificationHash": code}, headers=tenant.headers
    )


def test_wrong_codes_beyond_the_burst_get_429_even_for_a_right_code(database_url: str) -> None:
    settings = settings_for(database_url, pairing_rate_limit=SLOW)
    with TestClient(create_app(settings)) as client:
        tenant, rival = make_tenant(client), make_tenant(client, "Rival", "HQ")
        code = registered(client, brand="samsung", serialNumber="SN-1")["verificationHash"]
        for _ in range(3):
            assert _pair(client, tenant, "ZZZZ0000").status_code == 404
        refused = _pair(client, tenant, code)
        _assert_429(refused)
        assert 59_000 <= int(refused.headers["Retry-After"]) <= 60_000
        assert client.get(DEVICES, headers=tenant.headers).json() == []
        assert fetch_rows(database_url, "SELECT count(*) FROM device_verifications") == [(0,)]
        # Another organization's attempts are its own.
        paired = _pair(client, rival, code)
        assert paired.status_code == 201
        assert client.get(paired.headers["Location"], headers=rival.headers).status_code == 200


def test_successful_pairings_spend_no_attempt(database_url: str) -> None:
    settings = settings_for(database_url, pairing_rate_limit="0.001/1")
    with TestClient(create_app(settings)) as client:
        tenant = make_tenant(client)
        for n in range(5):
            code = registered(client, brand="samsung", serialNumber=f"SN-{n}")["verificationHash"]
            assert _pair(client, tenant, code).status_code == 201
        assert _pair(client, tenant, "ZZZZ0000").status_code == 404
        _assert_429(_pair(client, tenant, "ZZZZ0000"))


def test_wrong_device_keys_beyond_the_burst_get_429_per_source_address(
    database_url: str,
) -> None:
    """A spent address is refused before its key is compared: guesses cannot go on at any
    rate, even a right one gets through only once the address's allowance refills."""
    app = create_app(settings_for(database_url, device_key_rate_limit=SLOW))
    with (
        TestClient(app, client=("192.0.2.1", 5000)) as guesser,
        TestClient(app, client=("192.0.2.2", 5000)) as fleet,
    ):
        for key in ("wrong", None, "also wrong"):
            assert register(guesser, key=key, brand="lg", serialNumber="1").status_code == 401
        _assert_429(register(guesser, key="wrong", brand="lg", serialNumber="1"))
        _assert_429(register(guesser, brand="lg", serialNumber="1"))
        assert register(fleet, brand="lg", serialNumber="1").status_code == 200


def test_a_fleet_with_the_right_key_is_never_throttled(tmp_path: Path) -> None:
    """2,000 registrations in a burst from one address, with every limit as tight as it gets.
    (The limits are the same whatever the engine: SQLite alone keeps the suite short.)"""
    tight = "0.001/1"
    settings = settings_for(
        f"sqlite:///{tmp_path}/fleet.db",
        rate_limit=tight,
        pairing_rate_limit=tight,
        device_key_rate_limit=tight,
    )
    with TestClient(create_app(settings)) as client:
        for n in range(2_000):
            response = register(client, brand="lg", serialNumber=f"SN-{n}")
            assert response.status_code == 200, (n, response.text)


def test_zero_turns_the_per_token_limit_off(database_url: str) -> None:
    """The default burst is 400: 450 requests in a row pass only with the limit off."""
    with TestClient(create_app(settings_for(database_url, rate_limit="0"))) as client:
        tenant = make_tenant(client)
        for _ in range(450):
            assert client.get(RECIPES, headers=tenant.headers).status_code == 200
