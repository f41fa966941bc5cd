"""The two signatures every provisio webhook carries, computed and checked in constant time.

- `X-SOS-Signature: v1=<base64 HMAC-SHA256(secret, "POST" + url + timestamp + body)>` with
  `X-SOS-Timestamp` in Unix seconds and `url` the exporter's `config.url` exactly as stored.
- Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`,
  the key being the UTF-8 bytes of the secret.
"""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks import Webhook

from provisio.domain.events import Event, parse_event
from provisio.domain.exporter import PING_KIND

DEFAULT_TOLERANCE = 300
"""Seconds a signed timestamp may differ from the receiver's clock."""


class WebhookVerificationError(Exception):
    """The request was not signed by the holder of the secret (or is too old or too new)."""


class WebhookTestEvent(WebhookVerificationError):
    """A correctly signed test event (the console's "Send test event"): no domain event to
    handle. Catch it before WebhookVerificationError and answer 2xx to show the endpoint
    works; a receiver that does not tells the console why it refused it."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"test event {event_id}: the signatures verify; nothing to handle")
        self.event_id = event_id


def sign_sos(secret: str, url: str, timestamp: int, body: bytes) -> str:
    message = b"POST" + url.encode() + str(timestamp).encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "v1=" + base64.b64encode(digest).decode()


def sign_standard(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    # The library reads a datetime's wall clock as UTC, so hand it a UTC datetime.
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return str(Webhook(secret.encode()).sign(event_id, moment, body.decode()))


def webhook_headers(
    secret: str,
    url: str,
    event_id: str,
    timestamp: int,
    body: bytes,
    *,
    sequence_number: int,
    exporter_uid: str | None = None,
) -> dict[str, str]:
    """Every header provisio sends with a webhook, both signatures included (also handy for
    signing test requests to a receiver)."""
    headers = {
        "Content-Type": "application/json",
        "X-SOS-Sequence-Number": str(sequence_number),
        "X-SOS-Timestamp": str(timestamp),
        "X-SOS-Signature": sign_sos(secret, url, timestamp, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(secret, event_id, timestamp, body),
    }
    if exporter_uid is not None:
        headers["X-SOS-Exporter-Config-Uid"] = exporter_uid
    return headers


def _fresh(timestamp: str | None, tolerance: float, now: float | None) -> int:
    if timestamp is None or not timestamp.isdigit():
        raise WebhookVerificationError("missing or malformed timestamp")
    seconds = int(timestamp)
    if abs((time.time() if now is None else now) - seconds) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    return seconds


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def verify_sos(
    secret: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check `X-SOS-Signature` against `url` (the exporter's `config.url`, as configured)."""
    found = _lower(headers)
    seconds = _fresh(found.get("x-sos-timestamp"), tolerance, now)
    expected = sign_sos(secret, url, seconds, body)
    if not hmac.compare_digest(expected.encode(), found.get("x-sos-signature", "").encode()):
        raise WebhookVerificationError("X-SOS-Signature does not match")


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check the Standard Webhooks headers (`webhook-id`, `-timestamp`, `-signature`)."""
    found = _lower(headers)
    seconds = _fresh(found.get("webhook-timestamp"), tolerance, now)
    expected = sign_standard(secret, found.get("webhook-id", ""), seconds, body).encode()
    offered = found.get("webhook-signature", "").split()
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
        raise WebhookVerificationError("webhook-signature does not match")


def verify_webhook(
    secret: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """Verify both signatures, then parse the body into its typed event model."""
    verify_sos(secret, url, headers, body, tolerance=tolerance, now=now)
    verify_standard(secret, headers, body, tolerance=tolerance, now=now)
    try:
        event = parse_event(body)
    except ValueError as error:
        test_event = _test_event_id(body)
        if test_event is not None:
            raise WebhookTestEvent(test_event) from None
        raise WebhookVerificationError(f"signed body is not a provisio event: {error}") from error
    if _lower(headers).get("webhook-id") != event.id:
        raise WebhookVerificationError("webhook-id differs from the event id")
    return event


def _test_event_id(body: bytes) -> str | None:
    """The id of a test envelope (`kind` "test", see `ping_envelope`), else None."""
    try:
        envelope = json.loads(body)
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("kind") != PING_KIND:
        return None
    event_id = envelope.get("id")
    return event_id if isinstance(event_id, str) else None
