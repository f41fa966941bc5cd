"""Identifier generation: 32-hex uids for resources, UUIDv7 for events (time-ordered).

Both are made here from `os.urandom` and integer arithmetic rather than through `uuid.UUID`
objects, and the random bytes are read 4 KiB at a time: a bulk import makes two ids per row,
and one system call and two objects per id cost several times the bits.
"""

import os
import re
import threading
import time

UID_PATTERN = re.compile(r"^[0-9a-f]{32}$")

_VERSION_4 = 0x4 << 76
_VERSION_7 = 0x7 << 76
_VARIANT = 0x2 << 62
_RANDOM_122 = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_COUNTER_LIMIT = 1 << 12

_last_ms = 0
_counter = 0


class _Entropy:
    """Bytes from `os.urandom`, fetched in blocks and handed out once each."""

    _BLOCK = 4096

    def __init__(self) -> None:
        self._block = b""
        self._used = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> int:
        """`count` fresh random bytes as an integer."""
        with self._lock:
            if self._used + count > len(self._block):
                self._block, self._used = os.urandom(self._BLOCK), 0
            start, self._used = self._used, self._used + count
            return int.from_bytes(self._block[start : self._used])


_entropy = _Entropy()


def new_uid() -> str:
    """A resource uid: a random (version 4) UUID as 32 lowercase hex characters."""
    bits = _entropy.take(16) & _RANDOM_122
    return f"{bits | _VERSION_4 | _VARIANT:032x}"


def new_event_id() -> str:
    """An event id: a UUIDv7 string, so ids sort by creation time.

    Ids made in the same millisecond count up in the 12 bits after the timestamp (RFC 9562
    §6.2, method 1), so this process's ids also sort in the order they were made; past 4,096
    in one millisecond the timestamp moves on by one.
    """
    global _last_ms, _counter
    now_ms = time.time_ns() // 1_000_000
    if now_ms > _last_ms:
        _last_ms, _counter = now_ms, _entropy.take(1)  # leaves room to count up
    else:
        _counter += 1
        if _counter == _COUNTER_LIMIT:
            _last_ms, _counter = _last_ms + 1, 0
    tail = _entropy.take(8) >> 2
    bits = (_last_ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION_7 | _counter << 64 | _VARIANT | tail
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def is_uid(value: str) -> bool:
    return bool(UID_PATTERN.match(value))
