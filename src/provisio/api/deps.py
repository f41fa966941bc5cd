"""Request dependencies: the store, the settings and the authenticated principal."""

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from provisio.service.tenancy import Principal, authenticate
from provisio.settings import Settings
from provisio.store.unit_of_work import Store

_x_auth = APIKeyHeader(name="X-Auth", auto_error=False, description="`<tokenId>:<tokenSecret>`")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_principal(
    store: Annotated[Store, Depends(get_store)],
    header: Annotated[str | None, Security(_x_auth)],
) -> Principal:
    return await authenticate(store, header)


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
