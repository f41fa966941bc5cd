"""Tenancy use cases: bootstrap, token authentication, organizations and their tokens."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from provisio.domain.aggregate import Actor
from provisio.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from provisio.domain.events import Originator, Owner
from provisio.domain.ids import is_uid, new_uid
from provisio.store.tenancy import Organization, TenancyRepository
from provisio.store.unit_of_work import Store, UnitOfWork


@dataclass(frozen=True)
class Principal:
    """The holder of a valid token: an account, acting on one organization or (account token)
    on every organization of its company."""

    token_id: str
    account_id: int
    company_uid: str
    organization_uid: str | None

    def actor(self, organization_uid: str) -> Actor:
        originator = Originator(account_id=self.account_id, organization_uid=self.organization_uid)
        owner = Owner(
            ownership_type="organization",
            organization_uid=organization_uid,
            parent_company_uid=self.company_uid,
        )
        return Actor(owner=owner, originator=originator)

    def require_account_token(self) -> None:
        if self.organization_uid is not None:
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
        org = Organization(new_uid(), organization, company_uid, now)
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


async def authenticate(store: Store, header: str | None) -> Principal:
    """`X-Auth: <tokenId>:<tokenSecret>` → the principal; any mismatch is a plain 401."""
    if not header or ":" not in header:
        raise Unauthenticated("missing or malformed X-Auth header (expected tokenId:tokenSecret)")
    token_id, secret = header.split(":", 1)
    async with store.reader() as uow:
        stored = await uow.tenancy.find_token(token_id.strip())
    if stored is None or not hmac.compare_digest(stored.secret_hash, _hash(secret.strip())):
        raise Unauthenticated("invalid token")
    return Principal(stored.id, stored.account_id, stored.company_uid, stored.organization_uid)


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


async def list_organizations(store: Store, principal: Principal) -> list[Organization]:
    async with store.reader() as uow:
        visible = set(await scope(uow, principal, None))
        return [
            o for o in await uow.tenancy.organizations_of(principal.company_uid) if o.uid in visible
        ]


async def get_organization(store: Store, principal: Principal, uid: str) -> Organization:
    async with store.reader() as uow:
        await scope(uow, principal, uid)
        return await uow.tenancy.organization(uid)


async def create_organization(store: Store, principal: Principal, name: str) -> Organization:
    principal.require_account_token()
    async with store.unit_of_work() as uow:
        org = Organization(new_uid(), name, principal.company_uid, datetime.now(UTC))
        await uow.tenancy.add_organization(org)
    return org


async def create_organization_token(
    store: Store, principal: Principal, organization_uid: str, name: str
) -> IssuedToken:
    principal.require_account_token()
    async with store.unit_of_work() as uow:
        await scope(uow, principal, organization_uid)
        return await _issue(uow.tenancy, name, principal.account_id, organization_uid)
