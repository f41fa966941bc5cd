"""Request dependencies: the store, the settings, the authenticated principal, the device key."""

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from provisio.domain.errors import Unauthenticated
from provisio.service.tenancy import Authenticator, Principal
from provisio.settings import Settings
from provisio.store.unit_of_work import Store

_x_auth = APIKeyHeader(name="X-Auth", auto_error=False, description="`<tokenId>:<tokenSecret>`")
_x_device_key = APIKeyHeader(
    name="X-Device-Key",
    scheme_name="DeviceKey",
    auto_error=False,
    description="The fleet's device key (`PROVISIO_DEVICE_KEY`)",
)


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_principal(
    authenticator: Annotated[Authenticator, Depends(get_authenticator)],
    header: Annotated[str | None, Security(_x_auth)],
) -> Principal:
    return await authenticator.authenticate(header)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_device_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_x_device_key)]
) -> None:
    """Device agents prove they belong to the fleet with the shared `PROVISIO_DEVICE_KEY`."""
    expected = settings.device_key
    if expected is None:
        raise Unauthenticated("device registration is off: PROVISIO_DEVICE_KEY is not set")
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        raise Unauthenticated("missing or wrong X-Device-Key")


DeviceKeyDep = Depends(require_device_key)
