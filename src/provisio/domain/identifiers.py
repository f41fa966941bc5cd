"""Device identifiers: MAC canonicalisation and the case-insensitive matching keys."""

import re

from provisio.domain.errors import InvalidInput

MAC_HINT = (
    "must be a MAC address like aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, "
    "aabb.ccdd.eeff or aabbccddeeff"
)
_MAC_FORMS = re.compile(
    r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}"
    r"|[0-9a-f]{4}(?:\.[0-9a-f]{4}){2}|[0-9a-f]{12}"
)
_SEPARATORS = str.maketrans("", "", ":-.")


def canonical_mac(raw: str, field_name: str = "macAddress") -> str:
    """`aa:bb:…`, `AA-BB-…`, `aabb.ccdd.eeff` or `aabbccddeeff` → `AA:BB:CC:DD:EE:FF`."""
    text = raw.strip().lower()
    if _MAC_FORMS.fullmatch(text) is None:
        raise InvalidInput.of(field_name, MAC_HINT)
    digits = text.translate(_SEPARATORS).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def clean_serial(raw: str, field_name: str = "serialNumber") -> str:
    """Serial numbers are stored trimmed; an empty one is an error, not an absence."""
    serial = raw.strip()
    if not serial:
        raise InvalidInput.of(field_name, "must not be empty")
    return serial


def serial_key(serial: str) -> str:
    """The matching key of a serial number: trimmed and case-insensitive."""
    return serial.strip().casefold()


def brand_key(brand: str) -> str:
    """The matching key of a brand: case-insensitive."""
    return brand.strip().casefold()


MAX_KEY = 255
"""Matching keys are stored in 255 characters; case folding can lengthen text ("ß" → "ss")."""


def check_keyable(text: str, key: str) -> str:
    """`text`, if its matching `key` fits the key columns."""
    if len(key) > MAX_KEY:
        raise ValueError(f"must be at most {MAX_KEY} characters once case-folded")
    return text
