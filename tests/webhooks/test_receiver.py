"""The test receiver itself, driven by a real aiohttp client over loopback: every fault must reach
the client exactly as a dispatcher would meet it, or dispatcher tests would prove nothing."""

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from provisio.sdk import webhook_headers
from tests.webhooks.receiver import Delivery, WebhookReceiver, for_event, for_uid

SECRET = "a-receiver-secret-of-at-least-32-chars"
EVENT_ID = "0197f2a4-3a5e-7b1c-9d2f-8c4e6a1b3d5f"
SIGNED_BODY = (
    b'{"id":"' + EVENT_ID.encode() + b'","kind":"domain","type":"Device.Verification.DevicePaired",'
    b'"payload":{"owner":{"ownershipType":"organization","organizationUid":"' + b"a" * 32 + b'",'
    b'"parentCompanyUid":"' + b"b" * 32 + b'"},"type":"Device.Verification.DevicePaired",'
    b'"deviceIdentityHash":"' + b"c" * 32 + b'","verificationHash":"123456"}}'
)
RECIPE_A = "a" * 32
RECIPE_B = "b" * 32


def envelope(event_id: str, uid: str | None = None) -> bytes:
    """A minimal event envelope: enough for the receiver's uid / event-id matching."""
    payload: dict[str, str] = {"type": "Device.ProvisioningRecipeUpdated"}
    if uid is not None:
        payload["uid"] = uid
    body = {"id": event_id, "kind": "domain", "type": payload["type"], "payload": payload}
    return json.dumps(body).encode()


def signed_headers(url: str, body: bytes = SIGNED_BODY) -> dict[str, str]:
    return webhook_headers(SECRET, url, EVENT_ID, int(time.time()), body, sequence_number=7)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    session: aiohttp.ClientSession, url: str, body: bytes, **kwargs: object
) -> aiohttp.ClientResponse:
    """POST and read the whole answer, as the dispatcher does."""
    async with session.post(url, data=body, **kwargs) as response:  # type: ignore[arg-type]
        await response.read()
        return response


async def test_records_every_request_and_answers_204_by_default(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    assert receiver.url.startswith("http://127.0.0.1:")
    assert receiver.url.endswith("/hook")
    before = time.monotonic()
    body = envelope("e1", RECIPE_A)
    headers = {"Content-Type": "application/json", "webhook-id": "e1", "X-SOS-Sequence-Number": "3"}
    response = await post(session, receiver.url, body, headers=headers)
    assert response.status == 204

    [delivery] = receiver.deliveries()
    assert delivery.method == "POST"
    assert delivery.path == "/hook"
    assert delivery.headers["WEBHOOK-ID"] == "e1"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.body == body
    assert delivery.json["payload"]["uid"] == RECIPE_A
    assert (delivery.event_id, delivery.uid, delivery.sequence) == ("e1", RECIPE_A, 3)
    assert delivery.event_type == "Device.ProvisioningRecipeUpdated"
    assert delivery.status == 204
    assert delivery.ok
    assert delivery.rule is None
    assert delivery.verified is None  # no secret, no verdict
    assert delivery.answered_at is not None
    assert before <= delivery.received_at <= delivery.answered_at <= time.monotonic()

    await post(session, receiver.url, b"not json")
    assert receiver.deliveries()[1].json is None
    assert receiver.event_ids() == ["e1", None]


async def test_wait_for_returns_once_enough_requests_arrived(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    waiter = asyncio.create_task(receiver.wait_for(3, timeout=2))
    await asyncio.sleep(0)
    assert not waiter.done()
    for n in range(3):
        await post(session, receiver.url, envelope(f"e{n}"))
    arrived = await waiter
    assert [d.event_id for d in arrived] == ["e0", "e1", "e2"]
    assert [d.received_at for d in arrived] == sorted(d.received_at for d in arrived)
    assert receiver.event_ids(for_event("e1")) == ["e1"]
    assert len(await receiver.wait_for(1, when=for_event("e2"))) == 1


async def test_wait_for_times_out_saying_what_arrived(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    await post(session, receiver.url, envelope("only"))
    with pytest.raises(TimeoutError, match=r"expected 2 deliveries within 0.05s, got 1.*only"):
        await receiver.wait_for(2, timeout=0.05)


async def test_failures_are_consumed_in_order_then_the_default_returns(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    first = receiver.fail(times=2, status=503)
    receiver.fail(times=1, status=429, retry_after="3")
    receiver.fail(status=410)
    answers = [await post(session, receiver.url, envelope("e")) for _ in range(5)]
    assert [r.status for r in answers] == [503, 503, 429, 410, 204]
    assert [r.headers.get("Retry-After") for r in answers] == [None, None, "3", None, None]
    assert [d.status for d in receiver.deliveries()] == [503, 503, 429, 410, 204]
    assert not any(d.ok for d in receiver.deliveries()[:4])
    assert receiver.deliveries()[0].rule is first
    assert first.hits == 2
    assert not first.live


async def test_an_endless_failure_lasts_until_cancelled(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    rule = receiver.fail(status=500, times=None)
    assert [(await post(session, receiver.url, b"{}")).status for _ in range(3)] == [500] * 3
    rule.cancel()
    assert (await post(session, receiver.url, b"{}")).status == 204


async def test_a_reset_is_a_client_connection_error_with_no_http_answer(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    receiver.reset(times=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, receiver.url, envelope("e"))
    assert (await post(session, receiver.url, envelope("e"))).status == 204
    first, second = receiver.deliveries()
    assert first.status is None
    assert first.rule is not None
    assert first.rule.action == "reset"
    assert second.status == 204


async def test_a_delay_beyond_the_client_timeout_is_a_timeout(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    receiver.delay(30)  # released when the receiver closes, so the test stays fast
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await post(session, receiver.url, b"{}", timeout=aiohttp.ClientTimeout(total=0.2))
    assert time.monotonic() - started < 1
    assert len(receiver.deliveries()) == 1


async def test_a_short_delay_answers_after_it(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    receiver.delay(0.1, status=200)
    started = time.monotonic()
    assert (await post(session, receiver.url, b"{}")).status == 200
    assert time.monotonic() - started >= 0.1


async def test_a_redirect_is_answered_and_not_followed(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    receiver.redirect(receiver.url_for("/elsewhere"))
    response = await post(session, receiver.url, b"{}", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == receiver.url_for("/elsewhere")
    assert [d.path for d in receiver.deliveries()] == ["/hook"]


async def test_scoped_faults_hit_only_matching_requests(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    receiver.fail(status=503, times=None, when=for_uid(RECIPE_A))
    receiver.fail(status=429, times=1, when=for_event("b2"))
    sent = [("a1", RECIPE_A), ("b1", RECIPE_B), ("b2", RECIPE_B), ("a2", RECIPE_A)]
    answers = {
        event_id: (await post(session, receiver.url, envelope(event_id, uid))).status
        for event_id, uid in sent
    }
    assert answers == {"a1": 503, "b1": 204, "b2": 429, "a2": 503}
    assert receiver.event_ids(for_uid(RECIPE_B)) == ["b1", "b2"]


async def test_a_held_recipe_waits_while_others_flow_until_released(
    receiver: WebhookReceiver, session: aiohttp.ClientSession
) -> None:
    held = receiver.hold(when=for_uid(RECIPE_A))
    stalled = asyncio.create_task(post(session, receiver.url, envelope("a1", RECIPE_A)))
    await receiver.wait_for(1, when=for_uid(RECIPE_A))
    assert (await post(session, receiver.url, envelope("b1", RECIPE_B))).status == 204
    assert not stalled.done()
    held.release()
    assert (await stalled).status == 204
    assert (await post(session, receiver.url, envelope("a2", RECIPE_A))).status == 204
    a1, b1, _ = receiver.deliveries()
    assert a1.answered_at is not None
    assert b1.answered_at is not None
    assert b1.answered_at < a1.answered_at


async def test_signatures_are_checked_and_recorded_never_enforced(
    session: aiohttp.ClientSession,
) -> None:
    async with WebhookReceiver(secret=SECRET) as receiver:
        good = signed_headers(receiver.url)
        assert (await post(session, receiver.url, SIGNED_BODY, headers=good)).status == 204
        await post(session, receiver.url, SIGNED_BODY + b" ", headers=good)
        other = signed_headers("https://hooks.example.com/provisio")
        await post(session, receiver.url, SIGNED_BODY, headers=other)
        await post(session, receiver.url, SIGNED_BODY)
        verdicts = [d.verified for d in receiver.deliveries()]
        assert verdicts == [True, False, False, False]
        assert all(d.status == 204 for d in receiver.deliveries())
        errors = [d.verification_error for d in receiver.deliveries()]
        assert errors[0] is None
        assert all(errors[1:])


async def test_a_signed_url_other_than_the_receivers_own_is_honoured(
    session: aiohttp.ClientSession,
) -> None:
    configured = "https://hooks.example.com/provisio"
    async with WebhookReceiver(secret=SECRET, signed_url=configured) as receiver:
        await post(session, receiver.url, SIGNED_BODY, headers=signed_headers(configured))
        await post(session, receiver.url, SIGNED_BODY, headers=signed_headers(receiver.url))
        assert [d.verified for d in receiver.deliveries()] == [True, False]


async def test_a_broken_predicate_fails_the_test_when_the_receiver_closes(
    session: aiohttp.ClientSession,
) -> None:
    def broken(delivery: Delivery) -> bool:
        return bool(delivery.json["missing"])

    receiver = WebhookReceiver()
    await receiver.start()
    receiver.fail(when=broken)
    assert (await post(session, receiver.url, b"{}")).status == 500
    with pytest.raises(KeyError, match="missing"):
        await receiver.close()


def test_times_must_be_positive() -> None:
    with pytest.raises(ValueError, match="times"):
        WebhookReceiver().fail(times=0)
