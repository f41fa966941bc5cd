"""Request dependencies: the store, the settings, the authenticated principal, the device key."""

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from provisio.api.rate_limits import RateLimits
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


async def get_store(request: Request) -> Store:
    """Async, like every dependency here: FastAPI runs a plain `def` in a worker thread."""
    store: Store = request.app.state.store
    return store


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


async def get_principal(
    request: Request, header: Annotated[str | None, Security(_x_auth)]
) -> Principal:
    """The token's holder, within the token's request rate (429 beyond it).

    It reads the authenticator and the limits from the application itself: FastAPI spends
    more solving a sub-dependency than these lookups cost, and every request needs this one.
    """
    authenticator: Authenticator = request.app.state.authenticator
    limits: RateLimits = request.app.state.rate_limits
    principal = await authenticator.authenticate(header)
    limits.requests.spend(principal.token_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_device_key(
    request: Request,
    settings: SettingsDep,
    limits: RateLimitsDep,
    key: Annotated[str | None, Security(_x_device_key)],
) -> None:
    """Device agents prove they belong to the fleet with the shared `PROVISIO_DEVICE_KEY`.

    Only missing or wrong keys count against the source address; once its allowance is spent,
    the address is answered 429 before its key is even compared, so that guesses cannot go on
    at any rate. A fleet sending the right key spends nothing.
    """
    expected = settings.device_key
    if expected is None:
        raise Unauthenticated("device registration is off: PROVISIO_DEVICE_KEY is not set")
    source = request.client.host if request.client else ""
    limits.wrong_device_keys.check(source)
    if key is None or not hmac.compare_digest(key.encode(), expected.encode()):
        limits.wrong_device_keys.spend(source)
        raise Unauthenticated("missing or wrong X-Device-Key")


DeviceKeyDep = Depends(require_device_key)
