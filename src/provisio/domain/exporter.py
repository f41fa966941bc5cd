"""Event-stream exporters: where an organization's events are delivered as signed webhooks."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from provisio.domain.aggregate import Actor
from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.domain.events import EVENT_TYPES

MIN_SECRET = 32
MAX_URL = 2048


def check_event_types(types: Iterable[str], field: str = "subscribedEventTypes") -> tuple[str, ...]:
    """At least one known event type, none twice."""
    chosen = tuple(types)
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    problems = [FieldProblem(field, f"unknown event type {t!r}") for t in unknown]
    if not chosen:
        problems.append(FieldProblem(field, "must list at least one event type"))
    if len(set(chosen)) != len(chosen):
        problems.append(FieldProblem(field, "must not list an event type twice"))
    if problems:
        raise InvalidInput("invalid subscribedEventTypes", problems)
    return chosen


@dataclass(frozen=True)
class ExporterSpec:
    """What a client sets. The secret is write-only: it is kept to sign, never shown."""

    name: str
    subscribed_event_types: tuple[str, ...]
    url: str
    secret: str
    description: str | None = None
    enabled: bool = False


@dataclass
class Exporter:
    uid: str
    organization_uid: str
    spec: ExporterSpec
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None
    enabled_at: datetime | None = None
    """When it was last enabled: it receives the events committed from then on."""

    @classmethod
    def new(cls, uid: str, organization_uid: str, spec: ExporterSpec, now: datetime) -> "Exporter":
        enabled_at = now if spec.enabled else None
        return cls(uid, organization_uid, spec, now, now, enabled_at=enabled_at)

    def change(self, changes: dict[str, Any], now: datetime) -> bool:
        """Apply a partial update; enabling clears the reason it was disabled and starts the
        events it receives from now."""
        spec = replace(self.spec, **changes)
        if spec == self.spec:
            return False
        if spec.enabled and not self.spec.enabled:
            self.disabled_reason = None
            self.enabled_at = now
        self.spec = spec
        self.updated_at = now
        return True


PING_KIND = "test"
PING_TYPE = "EventStream.Ping"


def ping_envelope(event_id: str, exporter_uid: str, actor: Actor) -> bytes:
    """The body of a test event ("Send test event"), in the envelope's four fields so that a
    receiver parses and verifies it as it does a real one, yet marked as no domain event:
    `kind` is "test" and `type` one no exporter can subscribe to (Svix's `svix.ping` is the
    model). The payload names the exporter, its owner and who sent it::

        {"id": <uuid7>, "kind": "test", "type": "EventStream.Ping",
         "payload": {"type": "EventStream.Ping", "exporterUid": ...,
                     "owner": {...}, "originator": {"accountId": ..., ...}}}
    """
    payload: dict[str, Any] = {
        "type": PING_TYPE,
        "exporterUid": exporter_uid,
        "owner": actor.owner.model_dump(by_alias=True, exclude_none=True),
    }
    if actor.originator is not None:
        payload["originator"] = actor.originator.model_dump(by_alias=True, exclude_none=True)
    envelope = {"id": event_id, "kind": PING_KIND, "type": PING_TYPE, "payload": payload}
    return json.dumps(envelope, separators=(",", ":")).encode()
