"""`/v1/device/verification`: pair a device by the code it shows, and read that pairing's
record (signageOS's device verification) afterwards."""

from fastapi import APIRouter, Response, status

from provisio.api.deps import PrincipalDep, RateLimitsDep, StoreDep
from provisio.api.device_models import VerificationCreate, VerificationOut
from provisio.api.json_limits import JsonRoute
from provisio.api.paths import UID
from provisio.service import devices as use_cases

router = APIRouter(
    prefix="/v1/device/verification", tags=["device verification"], route_class=JsonRoute
)


@router.post("", status_code=status.HTTP_201_CREATED)
async def verify_device(
    body: VerificationCreate,
    response: Response,
    store: StoreDep,
    principal: PrincipalDep,
    limits: RateLimitsDep,
) -> VerificationOut:
    """Pair an unpaired device by the verification code it shows. Failed attempts are limited
    per organization (`PROVISIO_PAIRING_RATE_LIMIT`): codes cannot be guessed at any rate."""
    # Keyed within the token's company: naming another company's organization cannot spend
    # that organization's attempts.
    organization = body.organization_uid or principal.organization_uid
    with limits.pairing.attempt(f"{principal.company_uid}/{organization}"):
        verification = await use_cases.pair_by_code(
            store, principal, body.verification_hash, body.organization_uid
        )
    response.headers["Location"] = f"{router.prefix}/{verification.uid}"
    return VerificationOut.model_validate(verification, from_attributes=True)


@router.get(UID)
async def get_verification(uid: str, store: StoreDep, principal: PrincipalDep) -> VerificationOut:
    """The pairing's record, for the organization it paired into (also after the device left)."""
    return VerificationOut.model_validate(
        await use_cases.get_verification(store, principal, uid), from_attributes=True
    )
