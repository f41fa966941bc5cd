"""Console sessions: which token a signed-in browser acts with, and on which organization."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from provisio.store.backend import Connection
from provisio.store.tables import accounts, console_sessions, tokens
from provisio.store.tenancy import StoredToken, token_of


@dataclass(frozen=True)
class StoredSession:
    id_hash: str
    token: StoredToken
    organization_uid: str
    csrf_token: str
    last_seen_at: datetime


class ConsoleSessions:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(
        self, id_hash: str, token_id: str, organization_uid: str, csrf_token: str, now: datetime
    ) -> None:
        await self._conn.execute(
            insert(console_sessions).values(
                id_hash=id_hash,
                token_id=token_id,
                organization_uid=organization_uid,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
            )
        )

    async def find(self, id_hash: str) -> StoredSession | None:
        """The session with its token (gone with the token: the foreign key cascades)."""
        query = (
            select(
                tokens,
                accounts.c.company_uid,
                console_sessions.c.organization_uid.label("session_organization_uid"),
                console_sessions.c.csrf_token,
                console_sessions.c.last_seen_at,
            )
            .join(tokens, tokens.c.id == console_sessions.c.token_id)
            .join(accounts, accounts.c.id == tokens.c.account_id)
            .where(console_sessions.c.id_hash == id_hash)
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return StoredSession(
            id_hash, token_of(row), row.session_organization_uid, row.csrf_token, row.last_seen_at
        )

    async def touch(self, id_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(console_sessions)
            .where(console_sessions.c.id_hash == id_hash)
            .values(last_seen_at=now)
        )

    async def choose(self, id_hash: str, organization_uid: str) -> None:
        await self._conn.execute(
            update(console_sessions)
            .where(console_sessions.c.id_hash == id_hash)
            .values(organization_uid=organization_uid)
        )

    async def remove(self, id_hash: str) -> None:
        await self._conn.execute(
            delete(console_sessions).where(console_sessions.c.id_hash == id_hash)
        )

    async def remove_idle(self, since: datetime) -> None:
        """Forget every session not seen since `since`."""
        await self._conn.execute(
            delete(console_sessions).where(console_sessions.c.last_seen_at < since)
        )
