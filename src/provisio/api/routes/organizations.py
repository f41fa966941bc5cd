"""`/v1/organization`: list, read, create and retitle organizations; issue, list and revoke
their tokens."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from provisio.api.deps import PrincipalDep, StoreDep
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import PagingDep
from provisio.api.paths import UID
from provisio.api.schemas import (
    OrganizationCreate,
    OrganizationOut,
    OrganizationUpdate,
    SecurityTokenCreate,
    SecurityTokenListed,
    SecurityTokenOut,
    StorableStr,
)
from provisio.domain.recipe import MAX_TEXT
from provisio.service import tenancy
from provisio.store.tenancy import Organization

router = APIRouter(prefix="/v1/organization", tags=["organizations"], route_class=JsonRoute)

NameQuery = Annotated[
    StorableStr | None,
    Query(
        max_length=MAX_TEXT,
        description="Only the organizations of exactly this name (empty: all of them)",
    ),
]
"""Empty is no filter: signageOS's client sends `name=` for a filter it leaves undefined."""


def _out(org: Organization) -> OrganizationOut:
    return OrganizationOut.model_validate(org, from_attributes=True)


@router.get("")
async def list_organizations(
    paging: PagingDep, store: StoreDep, principal: PrincipalDep, name: NameQuery = None
) -> list[OrganizationOut]:
    """The organizations the token sees, in creation order: an account token its company's,
    an organization token its own."""
    rows = await tenancy.list_organizations(
        store, principal, name or None, paging.after, paging.fetch
    )
    return [_out(org) for org in paging.page(rows)]


@router.get(UID)
async def get_organization(uid: str, store: StoreDep, principal: PrincipalDep) -> OrganizationOut:
    return _out(await tenancy.get_organization(store, principal, uid))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organization(
    body: OrganizationCreate, response: Response, store: StoreDep, principal: PrincipalDep
) -> OrganizationOut:
    """Needs an account token."""
    org = await tenancy.create_organization(store, principal, body.name, body.title)
    response.headers["Location"] = f"{router.prefix}/{org.uid}"
    return _out(org)


@router.put(UID)
async def update_organization(
    uid: str, body: OrganizationUpdate, store: StoreDep, principal: PrincipalDep
) -> OrganizationOut:
    """Change the title (the name stays). Needs an account token."""
    return _out(await tenancy.retitle_organization(store, principal, uid, body.title))


@router.post(f"{UID}/security-token", status_code=status.HTTP_201_CREATED)
async def create_security_token(
    uid: str,
    body: SecurityTokenCreate,
    response: Response,
    store: StoreDep,
    principal: PrincipalDep,
) -> SecurityTokenOut:
    """Needs an account token. The secret is in this response only; store it now."""
    token = await tenancy.create_organization_token(store, principal, uid, body.name)
    response.headers["Location"] = f"{router.prefix}/{uid}/security-token/{token.id}"
    return SecurityTokenOut(id=token.id, name=token.name, security_token=token.secret)


@router.get(f"{UID}/security-token")
async def list_security_tokens(
    uid: str, store: StoreDep, principal: PrincipalDep
) -> list[SecurityTokenListed]:
    """The organization's tokens, oldest first, without their secrets."""
    tokens = await tenancy.list_organization_tokens(store, principal, uid)
    return [SecurityTokenListed.model_validate(token, from_attributes=True) for token in tokens]


@router.delete(f"{UID}/security-token/{{token_id:uid}}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_security_token(
    uid: str, token_id: str, store: StoreDep, principal: PrincipalDep
) -> None:
    """Revoke the token at once: its very next request is a 401. An account token revokes any
    of the organization's tokens; an organization token only itself."""
    await tenancy.revoke_organization_token(store, principal, uid, token_id)
