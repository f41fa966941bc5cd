"""Device verifications: one row per pairing by code, never changed afterwards."""

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import insert, select

from provisio.domain.errors import NotFound
from provisio.domain.verification import Verification
from provisio.store.backend import Connection
from provisio.store.tables import device_verifications


class VerificationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, verification: Verification) -> None:
        await self._conn.execute(insert(device_verifications).values(asdict(verification)))

    async def get(self, uid: str, organization_uids: Sequence[str]) -> Verification:
        """A verification that paired into one of the organizations (any other is NotFound)."""
        query = select(device_verifications).where(
            device_verifications.c.uid == uid,
            device_verifications.c.organization_uid.in_(organization_uids),
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            raise NotFound("device verification not found")
        return Verification(**row._mapping)
