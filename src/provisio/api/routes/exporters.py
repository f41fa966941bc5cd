"""`/v1/event-stream/exporter`: webhook endpoints of an organization."""

from datetime import UTC
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from provisio.api.deps import PrincipalDep, SettingsDep, StoreDep
from provisio.api.exporter_models import (
    CountOut,
    DeliveryOut,
    ExporterCreate,
    ExporterOut,
    ExporterUpdate,
    ReplayIn,
    ReplayOut,
)
from provisio.api.json_limits import JsonRoute
from provisio.api.pagination import OrganizationQuery, PagingDep
from provisio.api.paths import UID
from provisio.domain.exporter import Exporter
from provisio.service import exporters as use_cases
from provisio.store.unit_of_work import Store

router = APIRouter(prefix="/v1/event-stream/exporter", tags=["event stream"], route_class=JsonRoute)


async def _out(store: Store, exporter: Exporter) -> ExporterOut:
    seen = await use_cases.observe(store, [exporter])
    return ExporterOut.of(exporter, seen[exporter.uid])


@router.post("", status_code=status.HTTP_201_CREATED, response_model_exclude_none=True)
async def create_exporter(
    body: ExporterCreate,
    response: Response,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> ExporterOut:
    """`enabled` defaults to false; the signing secret (32+ characters) is never shown again."""
    exporter = await use_cases.create_exporter(
        store, principal, body.spec(), settings.url_policy, body.organization_uid
    )
    response.headers["Location"] = f"{router.prefix}/{exporter.uid}"
    return await _out(store, exporter)


@router.get("", response_model_exclude_none=True)
async def list_exporters(
    paging: PagingDep,
    store: StoreDep,
    principal: PrincipalDep,
    organization_uid: OrganizationQuery = None,
) -> list[ExporterOut]:
    rows = await use_cases.list_exporters(
        store, principal, organization_uid, paging.after, paging.fetch
    )
    chosen = paging.page(rows)
    seen = await use_cases.observe(store, chosen)
    return [ExporterOut.of(exporter, seen[exporter.uid]) for exporter in chosen]


@router.get("/count")
async def count_exporters(
    store: StoreDep, principal: PrincipalDep, organization_uid: OrganizationQuery = None
) -> CountOut:
    return CountOut(count=await use_cases.count_exporters(store, principal, organization_uid))


@router.get(UID, response_model_exclude_none=True)
async def get_exporter(uid: str, store: StoreDep, principal: PrincipalDep) -> ExporterOut:
    return await _out(store, await use_cases.get_exporter(store, principal, uid))


@router.put(UID, response_model_exclude_none=True)
async def update_exporter(
    uid: str,
    body: ExporterUpdate,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> ExporterOut:
    exporter = await use_cases.update_exporter(
        store, principal, uid, body.changes(), settings.url_policy
    )
    return await _out(store, exporter)


@router.delete(UID, status_code=status.HTTP_204_NO_CONTENT)
async def delete_exporter(uid: str, store: StoreDep, principal: PrincipalDep) -> None:
    await use_cases.delete_exporter(store, principal, uid)


@router.get(f"{UID}/deliveries", response_model_exclude_none=True)
async def list_deliveries(
    uid: str,
    paging: PagingDep,
    store: StoreDep,
    principal: PrincipalDep,
    status_: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(alias="status")
    ] = None,
) -> list[DeliveryOut]:
    """Deliveries with every attempt (time, HTTP status or error, duration), oldest first."""
    rows = await use_cases.list_deliveries(
        store, principal, uid, status_, paging.after, paging.fetch
    )
    return [DeliveryOut.model_validate(view) for view in paging.page([(v.id, v) for v in rows])]


@router.post(f"{UID}/replay", status_code=status.HTTP_202_ACCEPTED)
async def replay(uid: str, body: ReplayIn, store: StoreDep, principal: PrincipalDep) -> ReplayOut:
    """Deliver events again with the same event ids (and new sequence numbers)."""
    since = body.since
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    queued = await use_cases.replay(
        store,
        principal,
        uid,
        event_ids=body.event_ids,
        since=since,
        failed=body.status == "failed",
    )
    return ReplayOut(queued=queued)
