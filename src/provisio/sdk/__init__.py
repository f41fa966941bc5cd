"""Consumer SDK for provisio webhooks: verify signatures, parse events, drop duplicates.

Depends on nothing heavier than pydantic and standardwebhooks, so a receiver can use it alone::

    from provisio.sdk import Deduplicator, verify_webhook

    event = verify_webhook(secret, url, headers, body)   # raises WebhookVerificationError
    if not dedup.seen(event.id):
        handle(event)
"""

from provisio.domain.events import Event, parse_event
from provisio.sdk.dedup import Deduplicator
from provisio.sdk.signatures import (
    DEFAULT_TOLERANCE,
    WebhookTestEvent,
    WebhookVerificationError,
    sign_sos,
    sign_standard,
    verify_sos,
    verify_standard,
    verify_webhook,
    webhook_headers,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "Deduplicator",
    "Event",
    "WebhookTestEvent",
    "WebhookVerificationError",
    "parse_event",
    "sign_sos",
    "sign_standard",
    "verify_sos",
    "verify_standard",
    "verify_webhook",
    "webhook_headers",
]
