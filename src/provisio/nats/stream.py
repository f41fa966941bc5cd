"""The stream's names and how provisio connects to NATS, shared by the publisher and the readers.

A subject is `<prefix>.<organizationUid>.<type>`; event types contain dots
(`Device.ProvisioningRecipeUpdated`), so a type spans several subject tokens.
"""

from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.aio.client import Client

STREAM = "PROVISIO_EVENTS"
SUBJECT_PREFIX = "provisio.events"
MSG_ID = "Nats-Msg-Id"
"""JetStream's deduplication header; provisio puts the event id in it."""


def subject(prefix: str, organization_uid: str, event_type: str) -> str:
    return f"{prefix}.{organization_uid}.{event_type}"


def filter_subject(prefix: str, organization_uid: str | None, types: Sequence[str]) -> str:
    """The narrowest single filter for an organization and event types (nats-server 2.9 has no
    multi-filter consumers: with several types, the reader filters the rest itself)."""
    organization = organization_uid or "*"
    if len(types) == 1:
        return subject(prefix, organization, types[0])
    return f"{prefix}.{organization}.>"


def event_type_of(prefix: str, msg_subject: str) -> str:
    """The event type a subject names."""
    return msg_subject[len(prefix) + 1 :].split(".", 1)[1]


def redact(url: str) -> str:
    """The server URL(s) without credentials, fit for logs and messages."""
    return ",".join(_without_userinfo(part.strip()) for part in url.split(","))


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"nats://{url}")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


async def connect(
    url: str, *, name: str, on_error: Callable[[Exception], Awaitable[None]]
) -> Client:
    """A connection to the server(s) in `url` (comma-separated for a cluster) that ends with its
    socket: callers reconnect themselves, from where they know they are.

    nats-py's own reconnection would buffer publishes for the next connection; bytes lost with the
    old socket could then be followed, on the new one, by messages published after them, leaving
    a gap in the stream.
    """
    return await nats.connect(
        [part.strip() for part in url.split(",")],
        name=name,
        allow_reconnect=False,
        # connect() tries each server twice, at once, then gives up (0 would try forever).
        max_reconnect_attempts=1,
        reconnect_time_wait=0,
        error_cb=on_error,
    )
