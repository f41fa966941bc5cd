"""Console sign-in: server-side sessions opened with an API token.

The browser holds only a random session id; the database keeps its hash, the token it stands
for and the organization the operator works on. The token itself is never kept.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from provisio.domain.errors import NotFound
from provisio.service.tenancy import Principal, authenticate
from provisio.store.tenancy import Organization
from provisio.store.unit_of_work import Store, UnitOfWork

IDLE_LIMIT = timedelta(hours=12)
"""A session not used for this long is over."""
TOUCH_INTERVAL = timedelta(minutes=1)
"""How stale `last_seen_at` may get before a request records it again: pages that refresh every
second do not each write to the database."""


@dataclass(frozen=True)
class ConsoleSession:
    id_hash: str
    principal: Principal
    """Narrowed to `organization`: every use case sees that organization only."""
    organization: Organization
    organizations: list[Organization]
    """Those the operator may switch to (an organization token: its own only)."""
    csrf_token: str

    def csrf_matches(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


async def _organizations(uow: UnitOfWork, principal: Principal) -> list[Organization]:
    if principal.organization_uid is not None:
        return [await uow.tenancy.organization(principal.organization_uid)]
    return await uow.tenancy.organizations_of(principal.company_uid)


async def sign_in(store: Store, token: str) -> str:
    """A new session for the holder of `token` (`id:secret`); answers the cookie's value.

    A wrong token raises `Unauthenticated`. The session starts on the token's organization,
    or (account token) on the first of its company's.
    """
    principal = await authenticate(store, token)
    cookie = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with store.unit_of_work() as uow:
        first, *_ = await _organizations(uow, principal)
        await uow.console_sessions.remove_idle(now - IDLE_LIMIT)
        await uow.console_sessions.add(
            _hash(cookie), principal.token_id, first.uid, secrets.token_urlsafe(32), now
        )
    return cookie


async def resume(store: Store, cookie: str | None) -> ConsoleSession | None:
    """The session the cookie stands for, or None: unknown, idle too long, or its token is
    revoked."""
    if not cookie:
        return None
    id_hash = _hash(cookie)
    async with store.reader() as uow:
        stored = await uow.console_sessions.find(id_hash)
        if stored is None:
            return None
        principal = Principal.of(stored.token)
        organizations = await _organizations(uow, principal)
    now = datetime.now(UTC)
    if now - stored.last_seen_at > IDLE_LIMIT:
        await sign_out(store, cookie)
        return None
    if now - stored.last_seen_at > TOUCH_INTERVAL:
        async with store.unit_of_work() as uow:
            await uow.console_sessions.touch(id_hash, now)
    current = next(org for org in organizations if org.uid == stored.organization_uid)
    return ConsoleSession(
        id_hash, principal.narrowed_to(current.uid), current, organizations, stored.csrf_token
    )


async def choose_organization(store: Store, session: ConsoleSession, uid: str) -> None:
    """Work on another of the operator's organizations from now on."""
    if uid not in {org.uid for org in session.organizations}:
        raise NotFound("organization not found")
    async with store.unit_of_work() as uow:
        await uow.console_sessions.choose(session.id_hash, uid)


async def sign_out(store: Store, cookie: str) -> None:
    async with store.unit_of_work() as uow:
        await uow.console_sessions.remove(_hash(cookie))
