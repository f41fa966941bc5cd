"""Identifiers: resource uids are version-4 UUIDs in hex, event ids UUIDv7 that sort in order."""

import time
import uuid

from provisio.domain.ids import is_uid, new_event_id, new_uid


def test_a_uid_is_a_random_uuid_in_32_lowercase_hex() -> None:
    uids = [new_uid() for _ in range(2000)]
    assert all(is_uid(uid) for uid in uids)
    parsed = [uuid.UUID(hex=uid) for uid in uids]
    assert {(u.version, u.variant) for u in parsed} == {(4, uuid.RFC_4122)}
    assert len(set(uids)) == len(uids)


def test_event_ids_are_uuid7_in_creation_order_even_within_one_millisecond() -> None:
    ids = [new_event_id() for _ in range(10_000)]  # thousands share a millisecond
    parsed = [uuid.UUID(event_id) for event_id in ids]
    assert [str(u) for u in parsed] == ids
    assert {(u.version, u.variant) for u in parsed} == {(7, uuid.RFC_4122)}
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_an_event_id_made_after_a_burst_still_carries_the_time_it_was_made() -> None:
    """A burst of ids in one millisecond must not push later ids' timestamps ahead."""
    for _ in range(10_000):
        new_event_id()
    made_ms = uuid.UUID(new_event_id()).int >> 80
    assert abs(made_ms - time.time_ns() // 1_000_000) < 1000
