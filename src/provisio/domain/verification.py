"""Device verifications: the record of a device paired by the code it showed."""

from dataclasses import dataclass
from datetime import datetime

from provisio.domain.device import Device


@dataclass(frozen=True)
class Verification:
    """Which device a code paired into which organization, and when. It outlives the pairing
    (history): the device may leave, its code change, and the record still reads the same.

    `verified_at` is None for a code not verified yet, as signageOS has it; pairing by code
    verifies at once, so provisio's are always verified.
    """

    uid: str
    organization_uid: str
    device_uid: str
    hash: str
    created_at: datetime
    verified_at: datetime | None

    @classmethod
    def of_pairing(cls, uid: str, device: Device) -> "Verification":
        """The record of `device`, just paired by the code it shows."""
        assert device.organization_uid is not None
        assert device.paired_at is not None
        return cls(
            uid=uid,
            organization_uid=device.organization_uid,
            device_uid=device.uid,
            hash=device.verification_hash,
            created_at=device.paired_at,
            verified_at=device.paired_at,
        )
