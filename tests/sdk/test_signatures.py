"""The SDK's signatures against the documented vectors, an independent HMAC and the
standardwebhooks library."""

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from provisio.sdk import (
    Deduplicator,
    WebhookTestEvent,
    WebhookVerificationError,
    sign_sos,
    sign_standard,
    verify_sos,
    verify_standard,
    verify_webhook,
    webhook_headers,
)
from tests.support import ROOT

DOC = (ROOT / "docs" / "webhooks.md").read_text()


def _vector(name: str) -> str:
    match = re.search(rf"- {re.escape(name)}: `([^`]+)`", DOC)
    assert match, f"docs/webhooks.md lost the {name} vector"
    return match.group(1)


SECRET = _vector("secret")
URL = _vector("url")
TIMESTAMP = int(_vector("timestamp"))
EVENT_ID = _vector("event id")
BODY = re.search(r"```json\n(.+?)\n```", DOC, flags=re.S).group(1).encode()  # type: ignore[union-attr]


def _headers(timestamp: int = TIMESTAMP, body: bytes = BODY, url: str = URL) -> dict[str, str]:
    return webhook_headers(SECRET, url, EVENT_ID, timestamp, body, sequence_number=1)


def test_the_documented_vectors_hold() -> None:
    assert sign_sos(SECRET, URL, TIMESTAMP, BODY) == _vector("`X-SOS-Signature`")
    assert sign_standard(SECRET, EVENT_ID, TIMESTAMP, BODY) == _vector("`webhook-signature`")


@given(
    secret=st.text(min_size=32, max_size=64),
    url=st.text(min_size=1, max_size=80),
    timestamp=st.integers(min_value=0, max_value=2**33),
    body=st.binary(max_size=200),
)
def test_sos_signature_matches_an_independent_hmac(
    secret: str, url: str, timestamp: int, body: bytes
) -> None:
    message = b"POST" + url.encode() + str(timestamp).encode() + body
    expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    assert sign_sos(secret, url, timestamp, body) == "v1=" + expected.decode()


def test_the_standardwebhooks_library_accepts_our_signature() -> None:
    now = int(datetime.now(UTC).timestamp())
    headers = _headers(timestamp=now)
    assert Webhook(SECRET.encode()).verify(BODY, headers)["id"] == EVENT_ID


def test_verify_webhook_returns_the_typed_event() -> None:
    event = verify_webhook(SECRET, URL, _headers(), BODY, now=TIMESTAMP + 10)
    assert (event.id, event.type) == (EVENT_ID, "Device.ProvisioningRecipeDeleted")
    assert event.payload.uid == "2dfae2021c3d4e5f8a9b0c1dcd8150f7"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "X-SOS-Signature": "v1=AAAA"}, b),
        lambda h, b: ({**h, "X-SOS-Timestamp": str(TIMESTAMP + 1)}, b),
        lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b),
        lambda h, b: ({**h, "webhook-id": "other"}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "X-SOS-Timestamp"}, b),
    ],
)
def test_any_tampering_is_refused(tamper: object) -> None:
    headers, body = tamper(_headers(), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, URL, headers, body, now=TIMESTAMP)


def test_the_url_is_part_of_the_sos_signature() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_sos(SECRET, URL + "&x=1", _headers(), BODY, now=TIMESTAMP)


def test_timestamps_outside_the_tolerance_are_refused() -> None:
    verify_standard(SECRET, _headers(), BODY, now=TIMESTAMP + 299)
    with pytest.raises(WebhookVerificationError):
        verify_standard(SECRET, _headers(), BODY, now=TIMESTAMP + 301)
    with pytest.raises(WebhookVerificationError):
        verify_sos(SECRET, URL, _headers(), BODY, now=TIMESTAMP - 61, tolerance=60)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    body = b'{"hello": "world"}'
    with pytest.raises(WebhookVerificationError, match="not a provisio event"):
        verify_webhook(SECRET, URL, _headers(body=body), body, now=TIMESTAMP)


def test_a_signed_test_event_is_told_apart_from_a_forgery() -> None:
    body = b'{"id":"' + EVENT_ID.encode() + b'","kind":"test","type":"EventStream.Ping",'
    body += b'"payload":{"type":"EventStream.Ping"}}'
    with pytest.raises(WebhookTestEvent) as raised:
        verify_webhook(SECRET, URL, _headers(body=body), body, now=TIMESTAMP)
    assert raised.value.event_id == EVENT_ID
    assert isinstance(raised.value, WebhookVerificationError)  # old receivers refuse it
    forged = body.replace(b"Ping", b"Pong")
    with pytest.raises(WebhookVerificationError) as refused:
        verify_webhook(SECRET, URL, _headers(body=body), forged, now=TIMESTAMP)
    assert not isinstance(refused.value, WebhookTestEvent)


def test_the_deduplicator_drops_repeats_and_forgets_the_least_recent() -> None:
    dedup = Deduplicator(capacity=2)
    assert [dedup.seen(i) for i in ("a", "b", "a", "c")] == [False, False, True, False]
    assert dedup.seen("a")  # seen recently, so kept
    assert not dedup.seen("b")  # the least recently seen id was forgotten
