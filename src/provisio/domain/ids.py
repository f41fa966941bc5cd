"""Identifier generation: 32-hex uids for resources, UUIDv7 for events (time-ordered)."""

import re
import uuid

import uuid6

UID_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def new_uid() -> str:
    """A resource uid: 32 lowercase hex characters."""
    return uuid.uuid4().hex


def new_event_id() -> str:
    """An event id: a UUIDv7 string, so ids sort by creation time."""
    return str(uuid6.uuid7())


def is_uid(value: str) -> bool:
    return bool(UID_PATTERN.match(value))
