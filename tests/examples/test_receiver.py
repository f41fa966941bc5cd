"""The example receiver, over real HTTP on loopback, fed requests signed with the SDK."""

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from examples.receiver import make_app
from provisio.sdk import webhook_headers

SECRET = "a-receiver-secret-of-at-least-32-chars"
EVENT_ID = "0197f2a4-3a5e-7b1c-9d2f-8c4e6a1b3d5f"
BODY = (
    b'{"id":"' + EVENT_ID.encode() + b'","kind":"domain","type":"Device.Verification.DevicePaired",'
    b'"payload":{"owner":{"ownershipType":"organization","organizationUid":"' + b"a" * 32 + b'",'
    b'"parentCompanyUid":"' + b"b" * 32 + b'"},"type":"Device.Verification.DevicePaired",'
    b'"deviceIdentityHash":"' + b"c" * 32 + b'","verificationHash":"123456"}}'
)


CONFIGURED_URL = "https://hooks.example.com/provisio"
"""The exporter's `config.url`: what the signature covers, even behind a proxy."""


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    server = TestServer(make_app(SECRET, CONFIGURED_URL, fail_first=1), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


def _signed(url: str, body: bytes = BODY) -> dict[str, str]:
    return webhook_headers(SECRET, url, EVENT_ID, int(time.time()), body, sequence_number=1)


async def test_the_receiver_verifies_fails_on_request_then_accepts(server: TestServer) -> None:
    url = str(server.make_url("/hook"))
    good = _signed(CONFIGURED_URL)
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=BODY, headers=_signed(url)) as response:
            assert response.status == 401  # signed for another url
        async with session.post(url, data=BODY, headers=good) as response:
            assert response.status == 503  # --fail-first 1
        async with session.post(url, data=BODY, headers=good) as response:
            assert response.status == 204
        async with session.post(url, data=BODY + b" ", headers=good) as response:
            assert response.status == 401


async def test_the_receiver_answers_a_test_event_without_handling_it(server: TestServer) -> None:
    url = str(server.make_url("/hook"))
    body = b'{"id":"' + EVENT_ID.encode() + b'","kind":"test","type":"EventStream.Ping",'
    body += b'"payload":{"type":"EventStream.Ping"}}'
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=_signed(CONFIGURED_URL, body)) as answer:
            assert answer.status == 200  # and not the 503 it fails its first delivery with
            assert await answer.text() == "test event received"
        async with session.post(url, data=body, headers=_signed(url, body)) as answer:
            assert answer.status == 401
