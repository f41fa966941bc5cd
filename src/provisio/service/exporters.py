"""Exporter use cases: an organization's webhook endpoints, checked against the URL policy."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from provisio.domain.errors import InvalidInput
from provisio.domain.exporter import Exporter, ExporterSpec, check_event_types
from provisio.domain.ids import new_uid
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.unit_of_work import Store
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy


async def _check(spec: ExporterSpec, policy: UrlPolicy) -> ExporterSpec:
    """Event types known, URL safe to call (resolved now; checked again at connect time)."""
    types = check_event_types(spec.subscribed_event_types)
    try:
        await policy.resolve(spec.url)
    except UnsafeWebhookUrl as error:
        raise InvalidInput.of("config.url", str(error)) from None
    return replace(spec, subscribed_event_types=types)


async def create_exporter(
    store: Store,
    principal: Principal,
    spec: ExporterSpec,
    policy: UrlPolicy,
    organization_uid: str | None = None,
) -> Exporter:
    spec = await _check(spec, policy)
    async with store.unit_of_work() as uow:
        org = await target_organization(uow, principal, organization_uid)
        now = datetime.now(UTC)
        exporter = Exporter(new_uid(), org, spec, created_at=now, updated_at=now)
        await uow.exporters.add(exporter)
    return exporter


async def get_exporter(store: Store, principal: Principal, uid: str) -> Exporter:
    async with store.reader() as uow:
        return await uow.exporters.get(uid, await scope(uow, principal, None))


async def list_exporters(
    store: Store, principal: Principal, organization_uid: str | None, after: int, limit: int
) -> list[tuple[int, Exporter]]:
    async with store.reader() as uow:
        return await uow.exporters.find(await scope(uow, principal, organization_uid), after, limit)


async def count_exporters(store: Store, principal: Principal, organization_uid: str | None) -> int:
    async with store.reader() as uow:
        return await uow.exporters.count(await scope(uow, principal, organization_uid))


async def update_exporter(
    store: Store, principal: Principal, uid: str, changes: dict[str, Any], policy: UrlPolicy
) -> Exporter:
    """Partial update with ExporterSpec attribute names; an omitted secret is kept."""
    current = await get_exporter(store, principal, uid)
    checked = await _check(replace(current.spec, **changes), policy)
    async with store.unit_of_work() as uow:
        exporter = await uow.exporters.get(uid, await scope(uow, principal, None), for_update=True)
        fields = {name: getattr(checked, name) for name in changes}
        if exporter.change(fields, datetime.now(UTC)):
            await uow.exporters.save(exporter)
        return exporter


async def delete_exporter(store: Store, principal: Principal, uid: str) -> None:
    async with store.unit_of_work() as uow:
        exporter = await uow.exporters.get(uid, await scope(uow, principal, None), for_update=True)
        await uow.exporters.remove(exporter)
