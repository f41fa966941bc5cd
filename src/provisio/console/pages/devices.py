"""Devices: the organization's paired devices, pairing by code, a device's page, and
deprovisioning (asked for on its own page first, so one stray click changes nothing)."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from provisio.api.deps import RateLimitsDep, StoreDep
from provisio.api.device_models import VerificationCreate
from provisio.api.errors import status_of
from provisio.api.paths import UID
from provisio.console import forms
from provisio.console.registry_choices import registry_choices
from provisio.console.routing import ConsoleRoute, noticed
from provisio.console.sessions import CheckedSessionDep, SessionDep
from provisio.console.templating import render
from provisio.domain.device import Device
from provisio.domain.errors import Conflict, InvalidInput, NotFound
from provisio.service import devices as use_cases
from provisio.service.console_sessions import ConsoleSession
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 50
CODE_FIELD = "verificationHash"
DEVICES = "/console/devices"


async def _list_page(
    request: Request,
    store: Store,
    session: ConsoleSession,
    *,
    after: int = 0,
    status_code: int = 200,
    code: str | None = None,
    errors: forms.FieldErrors | None = None,
    paired: Device | None = None,
    deprovisioned: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    rows = await use_cases.list_devices(store, session.principal, None, after, PAGE_SIZE + 1)
    page = rows[:PAGE_SIZE]
    response = render(
        request,
        "devices.html",
        session,
        status_code=status_code,
        title="Devices",
        section="devices",
        devices=[device for _, device in page],
        first_page=after == 0,
        next_after=page[-1][0] if len(rows) > PAGE_SIZE else None,
        code=code,
        errors=errors or {},
        paired=paired,
        deprovisioned=deprovisioned,
    )
    response.headers.update(headers or {})
    return response


@router.get("/devices")
async def devices_page(
    request: Request,
    store: StoreDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0)] = 0,
    paired: str | None = None,
    deprovisioned: bool = False,
) -> Response:
    """One page of paired devices in the order they were registered; after a pairing
    (`paired`, the device's uid) or a deprovisioning, a notice saying so."""
    device = await noticed(partial(use_cases.get_device, store, session.principal), paired)
    return await _list_page(
        request, store, session, after=after, paired=device, deprovisioned=deprovisioned
    )


@router.post("/devices/pair")
async def pair_device(
    request: Request, store: StoreDep, session: CheckedSessionDep, limits: RateLimitsDep
) -> Response:
    """Pair the device that shows this code, within the API's limit on failed attempts."""
    code = forms.text(await request.form(), CODE_FIELD)
    principal = session.principal
    try:
        body = forms.validated(VerificationCreate, forms.present(verificationHash=code))
        with limits.pairing.attempt(f"{principal.company_uid}/{principal.organization_uid}"):
            verification = await use_cases.pair_by_code(
                store, principal, body.verification_hash, None
            )
    except (InvalidInput, NotFound, Conflict) as error:
        return await _list_page(
            request,
            store,
            session,
            status_code=status_of(type(error)),
            code=code,
            errors=forms.field_errors(error, {CODE_FIELD})
            if error.details
            else {CODE_FIELD: [error.message]},  # about the code typed: shown next to it
        )
    except HTTPException as error:  # too many failed attempts: 429, with its Retry-After
        if error.status_code != 429:
            raise
        return await _list_page(
            request,
            store,
            session,
            status_code=429,
            code=code,
            errors={CODE_FIELD: [str(error.detail)]},
            headers=dict(error.headers or {}),
        )
    return RedirectResponse(f"{DEVICES}?paired={verification.device_uid}", status_code=303)


@router.get(f"/devices{UID}")
async def device_page(request: Request, uid: str, store: StoreDep, session: SessionDep) -> Response:
    device = await use_cases.get_device(store, session.principal, uid)
    return render(
        request,
        "devices_device.html",
        session,
        title=device.name,
        section="devices",
        device=device,
        names=await registry_choices(store, session.principal),
    )


@router.get(f"/devices{UID}/deprovision")
async def deprovision_page(
    request: Request, uid: str, store: StoreDep, session: SessionDep
) -> Response:
    """The question before the change: deprovisioning cannot be undone from here."""
    device = await use_cases.get_device(store, session.principal, uid)
    return render(
        request,
        "devices_deprovision.html",
        session,
        title=f"Deprovision {device.name}?",
        section="devices",
        device=device,
    )


@router.post(f"/devices{UID}/deprovision")
async def deprovision(uid: str, store: StoreDep, session: CheckedSessionDep) -> Response:
    await use_cases.deprovision_device(store, session.principal, uid)
    return RedirectResponse(f"{DEVICES}?deprovisioned=true", status_code=303)
