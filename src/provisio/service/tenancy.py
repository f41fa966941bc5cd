"""Tenancy use cases: bootstrap, token authentication, organizations and their tokens."""

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from provisio.domain.aggregate import Actor
from provisio.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from provisio.domain.events import Originator, Owner
from provisio.domain.ids import is_uid, new_uid
from provisio.store.signal import Wake
from provisio.store.tenancy import Organization, StoredToken, TenancyRepository
from provisio.store.unit_of_work import Store, UnitOfWork

AUTH_CACHE_SECONDS = 5.0
"""How long a token's lookup is reused. A revocation empties every process's cache at once
(PostgreSQL notifies the others); this bounds only what a missed notification, or several
processes on one SQLite file, could keep alive."""
AUTH_CACHE_SIZE = 10_000
"""Cached lookups kept before expired ones are dropped."""


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token: an account, acting on one organization or (account token)
    on every organization of its company."""

    token_id: str
    account_id: int
    company_uid: str
    organization_uid: str | None
    """The organization it acts on; None: every organization of its company."""
    narrowed: bool = False
    """An account token acting on one chosen organization (as the console does): events still
    name the token's own organization (none) as their originator's."""

    @property
    def token_organization_uid(self) -> str | None:
        return None if self.narrowed else self.organization_uid

    def narrowed_to(self, organization_uid: str) -> "Principal":
        """This principal confined to one of its organizations (the caller checked it is)."""
        if self.organization_uid is not None:
            return self
        return replace(self, organization_uid=organization_uid, narrowed=True)

    def actor(self, organization_uid: str) -> Actor:
        originator = Originator(
            account_id=self.account_id, organization_uid=self.token_organization_uid
        )
        owner = Owner(
            ownership_type="organization",
            organization_uid=organization_uid,
            parent_company_uid=self.company_uid,
        )
        return Actor(owner=owner, originator=originator)

    @classmethod
    def of(cls, token: StoredToken) -> "Principal":
        return cls(token.id, token.account_id, token.company_uid, token.organization_uid)

    def require_account_token(self) -> None:
        if self.token_organization_uid is not None:
            raise Forbidden("this needs an account token (an organization token cannot do it)")


def system_actor(organization: Organization) -> Actor:
    """The actor of changes nobody's token caused (a device registering): no originator."""
    owner = Owner(
        ownership_type="organization",
        organization_uid=organization.uid,
        parent_company_uid=organization.company_uid,
    )
    return Actor(owner=owner, originator=None)


@dataclass(frozen=True)
class IssuedToken:
    """A token just created; the only time its secret is ever available."""

    id: str
    name: str
    secret: str

    @property
    def header(self) -> str:
        return f"{self.id}:{self.secret}"


@dataclass(frozen=True)
class Bootstrap:
    company_uid: str
    organization_uid: str
    account_id: int
    token: IssuedToken


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def _issue(
    tenancy: TenancyRepository, name: str, account_id: int, organization_uid: str | None
) -> IssuedToken:
    token = IssuedToken(id=new_uid(), name=name, secret=secrets.token_urlsafe(32))
    await tenancy.add_token(
        token.id, name, account_id, organization_uid, _hash(token.secret), datetime.now(UTC)
    )
    return token


async def bootstrap(store: Store, company: str, organization: str) -> Bootstrap:
    """A company, its first organization, an account and an organization token."""
    now = datetime.now(UTC)
    async with store.unit_of_work() as uow:
        company_uid = new_uid()
        await uow.tenancy.add_company(company_uid, company, now)
        org = Organization(new_uid(), organization, organization, company_uid, now)
        await uow.tenancy.add_organization(org)
        account_id = await uow.tenancy.add_account(company_uid, f"{company} admin", now)
        token = await _issue(uow.tenancy, f"{organization} token", account_id, org.uid)
    return Bootstrap(company_uid, org.uid, account_id, token)


async def issue_account_token(store: Store, account_id: int, name: str) -> IssuedToken:
    """An account token (acts on every organization of the account's company)."""
    async with store.unit_of_work() as uow:
        if not await uow.tenancy.has_account(account_id):
            raise NotFound(f"no account {account_id}")
        return await _issue(uow.tenancy, name, account_id, None)


def _credentials(header: str | None) -> tuple[str, str]:
    """`X-Auth: <tokenId>:<tokenSecret>` → (token id, secret); a token id that cannot exist
    is refused without a database read."""
    if not header or ":" not in header:
        raise Unauthenticated("missing or malformed X-Auth header (expected tokenId:tokenSecret)")
    token_id, secret = header.split(":", 1)
    if not is_uid(token_id.strip()):
        raise Unauthenticated("invalid token")
    return token_id.strip(), secret.strip()


def _verified(token: StoredToken | None, secret: str) -> Principal:
    """The token's principal if `secret` is its secret (compared in constant time)."""
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise Unauthenticated("invalid token")
    return Principal.of(token)


async def _find_token(store: Store, token_id: str) -> StoredToken | None:
    async with store.reader() as uow:
        return await uow.tenancy.find_token(token_id)


async def authenticate(store: Store, header: str | None) -> Principal:
    """`X-Auth: <tokenId>:<tokenSecret>` → the principal; any mismatch is a plain 401."""
    token_id, secret = _credentials(header)
    return _verified(await _find_token(store, token_id), secret)


@dataclass(frozen=True)
class _Lookup:
    token: StoredToken
    expires: float


class Authenticator:
    """Authenticates requests from a short in-process cache of token lookups, so that a request
    does not pay a read transaction to learn who sent it.

    The secret is checked against the stored hash on every request; only the lookup is reused.
    A revocation (`Wake.TOKENS_REVOKED`, raised by this process's commits and, on PostgreSQL,
    by every other process's) empties the cache before the next request is authenticated.
    """

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = AUTH_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._revocations = store.signals[Wake.TOKENS_REVOKED]
        self._since = self._revocations.ticket()
        """Set once a token is revoked after the cache was last emptied."""
        self._lookups: dict[str, _Lookup] = {}

    async def authenticate(self, header: str | None) -> Principal:
        token_id, secret = _credentials(header)
        if self._since.is_set():
            self._lookups.clear()
            self._since = self._revocations.ticket()
        now = self._clock()
        cached = self._lookups.get(token_id)
        if cached is not None and cached.expires > now:
            return _verified(cached.token, secret)
        since = self._since
        token = await _find_token(self._store, token_id)
        if token is not None and not since.is_set():  # not revoked while it was read
            self._remember(token_id, _Lookup(token, now + self._ttl), now)
        return _verified(token, secret)

    def _remember(self, token_id: str, lookup: _Lookup, now: float) -> None:
        if len(self._lookups) >= AUTH_CACHE_SIZE:
            self._lookups = {k: v for k, v in self._lookups.items() if v.expires > now}
            if len(self._lookups) >= AUTH_CACHE_SIZE:
                self._lookups.clear()
        self._lookups[token_id] = lookup


async def scope(uow: UnitOfWork, principal: Principal, organization_uid: str | None) -> list[str]:
    """The organizations a request may see: the token's own, or its company's (optionally one)."""
    if principal.organization_uid is not None:
        if organization_uid not in (None, principal.organization_uid):
            raise NotFound("organization not found")
        return [principal.organization_uid]
    uids = [org.uid for org in await uow.tenancy.organizations_of(principal.company_uid)]
    if organization_uid is None:
        return uids
    if organization_uid not in uids:
        raise NotFound("organization not found")
    return [organization_uid]


async def target_organization(
    uow: UnitOfWork, principal: Principal, organization_uid: str | None
) -> str:
    """The one organization a create acts on; account tokens must name it."""
    if principal.organization_uid is None and organization_uid is None:
        raise InvalidInput.of("organizationUid", "is required with an account token")
    if organization_uid is not None and not is_uid(organization_uid):
        raise InvalidInput.of("organizationUid", "must be a uid of 32 lowercase hex characters")
    try:
        (uid,) = await scope(uow, principal, organization_uid)
    except NotFound:
        raise InvalidInput.of("organizationUid", "no such organization") from None
    return uid


async def list_organizations(
    store: Store, principal: Principal, name: str | None, after: int, limit: int
) -> list[tuple[int, Organization]]:
    """The organizations the token sees (an organization token: its own), optionally only
    those named `name`."""
    async with store.reader() as uow:
        return await uow.tenancy.find_organizations(
            principal.company_uid, principal.organization_uid, name, after, limit
        )


async def get_organization(store: Store, principal: Principal, uid: str) -> Organization:
    async with store.reader() as uow:
        await scope(uow, principal, uid)
        return await uow.tenancy.organization(uid)


async def create_organization(
    store: Store, principal: Principal, name: str, title: str | None
) -> Organization:
    """A new organization of the account's company, titled `name` unless a title is given."""
    principal.require_account_token()
    async with store.unit_of_work() as uow:
        org = Organization(
            new_uid(),
            name,
            name if title is None else title,
            principal.company_uid,
            datetime.now(UTC),
        )
        await uow.tenancy.add_organization(org)
    return org


async def retitle_organization(
    store: Store, principal: Principal, uid: str, title: str
) -> Organization:
    """Change the organization's title (its name stays). Organizations have no events: nothing
    is emitted."""
    principal.require_account_token()
    async with store.unit_of_work() as uow:
        await scope(uow, principal, uid)
        await uow.tenancy.set_title(uid, title)
        return await uow.tenancy.organization(uid)


async def create_organization_token(
    store: Store, principal: Principal, organization_uid: str, name: str
) -> IssuedToken:
    principal.require_account_token()
    async with store.unit_of_work() as uow:
        await scope(uow, principal, organization_uid)
        return await _issue(uow.tenancy, name, principal.account_id, organization_uid)


async def list_organization_tokens(
    store: Store, principal: Principal, organization_uid: str
) -> list[StoredToken]:
    """The organization's tokens (secrets are not stored, only their hashes)."""
    async with store.reader() as uow:
        await scope(uow, principal, organization_uid)
        return await uow.tenancy.tokens_of(organization_uid)


async def revoke_organization_token(
    store: Store, principal: Principal, organization_uid: str, token_id: str
) -> None:
    """Delete the token; from the next request on, it authenticates nothing. An account token
    revokes any token of its company's organizations, an organization token only itself."""
    if principal.organization_uid is not None and token_id != principal.token_id:
        raise Forbidden("an organization token can revoke only itself; this needs an account token")
    async with store.unit_of_work() as uow:
        await scope(uow, principal, organization_uid)
        if not is_uid(token_id) or not await uow.tenancy.delete_token(token_id, organization_uid):
            raise NotFound("security token not found")
        uow.wakes.add(Wake.TOKENS_REVOKED)
