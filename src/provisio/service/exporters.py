"""Exporter use cases: an organization's webhook endpoints, checked against the URL policy."""

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from provisio.domain.errors import FieldProblem, InvalidInput
from provisio.domain.exporter import Exporter, ExporterSpec, check_event_types, ping_envelope
from provisio.domain.ids import new_event_id, new_uid
from provisio.sdk.signatures import webhook_headers
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.deliveries import (
    DeliveryReader,
    DeliveryView,
    Observability,
    Outcome,
    replay_by_ids,
    replay_failed,
    replay_since,
)
from provisio.store.signal import Wake
from provisio.store.unit_of_work import Store
from provisio.webhooks.sending import send_once
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy


async def check_url(url: str, policy: UrlPolicy) -> None:
    """The URL is safe to call: resolved now (and checked again at connect time)."""
    try:
        await policy.resolve(url)
    except UnsafeWebhookUrl as error:
        raise InvalidInput.of("config.url", str(error)) from None


async def _check(spec: ExporterSpec, policy: UrlPolicy) -> ExporterSpec:
    """Event types known, URL safe to call."""
    types = check_event_types(spec.subscribed_event_types)
    await check_url(spec.url, policy)
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
        exporter = Exporter.new(new_uid(), org, spec, datetime.now(UTC))
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


async def observe(store: Store, chosen: list[Exporter]) -> dict[str, Observability]:
    """Delivery counters and recent failures of each exporter."""
    async with store.reader() as uow:
        reader = DeliveryReader(uow.conn)
        return {exporter.uid: await reader.observability(exporter.uid) for exporter in chosen}


async def list_deliveries(
    store: Store,
    principal: Principal,
    uid: str,
    status: str | None,
    after: int,
    limit: int,
    *,
    newest_first: bool = False,
) -> list[DeliveryView]:
    """Oldest first after the cursor `after`; `newest_first`: newest first below it (0: from
    the newest)."""
    async with store.reader() as uow:
        await uow.exporters.get(uid, await scope(uow, principal, None))
        reader = DeliveryReader(uow.conn)
        return await reader.page(uid, status, after, limit, newest_first=newest_first)


MAX_REPLAY = 10_000


async def replay(
    store: Store,
    principal: Principal,
    uid: str,
    *,
    event_ids: list[str] | None = None,
    since: datetime | None = None,
    failed: bool = False,
) -> int:
    """Deliver events again (same ids, new sequence numbers): the listed ones, those since a
    time (of the subscribed types), or those whose delivery finally failed."""
    async with store.unit_of_work() as uow:
        exporter = await uow.exporters.get(uid, await scope(uow, principal, None), for_update=True)
        repository = uow.deliveries
        org = exporter.organization_uid
        if event_ids is not None:
            missing = sorted(set(event_ids) - await repository.known_event_ids(org, event_ids))
            if missing:
                problems = [FieldProblem("eventIds", f"no event {i} here") for i in missing]
                raise InvalidInput("unknown event ids", problems)
            chosen = replay_by_ids(org, event_ids)
        elif since is not None:
            chosen = replay_since(org, since, exporter.spec.subscribed_event_types)
        elif failed:
            chosen = replay_failed(uid)
        else:
            raise InvalidInput.of("status", "send eventIds, since or status: failed")
        count = await repository.count(chosen)
        if count > MAX_REPLAY:
            field = "since" if since is not None else "status"
            raise InvalidInput.of(field, f"would replay {count} events; at most {MAX_REPLAY}")
        queued = await repository.replay(uid, chosen, datetime.now(UTC))
        uow.wakes.add(Wake.DELIVERIES_QUEUED)
    return queued


@dataclass(frozen=True)
class SentTestEvent:
    """What "Send test event" did: the test envelope's id and the receiver's answer."""

    event_id: str
    url: str
    outcome: Outcome


async def send_test_event(
    store: Store, principal: Principal, uid: str, policy: UrlPolicy, seconds: float
) -> SentTestEvent:
    """POST a signed test envelope (`ping_envelope`) to the exporter's URL now, enabled or
    not, as the dispatcher sends a delivery (same headers, URL policy, client and timeout of
    `seconds`), and answer what the receiver said. It is no event of the feed, is stored
    nowhere, and takes no place in the exporter's sequence (`X-SOS-Sequence-Number: 0`)."""
    exporter = await get_exporter(store, principal, uid)
    spec = exporter.spec
    event_id = new_event_id()
    body = ping_envelope(event_id, exporter.uid, principal.actor(exporter.organization_uid))
    headers = webhook_headers(
        spec.secret,
        spec.url,
        event_id,
        int(time.time()),
        body,
        sequence_number=0,
        exporter_uid=exporter.uid,
    )
    outcome = await send_once(policy, seconds, spec.url, body, headers)
    return SentTestEvent(event_id, spec.url, outcome)
