"""The console's "Send test event" use case, and the delivery log read newest first."""

import json

import pytest
from sqlalchemy import func, select

from provisio.domain.errors import NotFound
from provisio.domain.exporter import PING_TYPE, ExporterSpec
from provisio.sdk import WebhookTestEvent, verify_sos, verify_standard, verify_webhook
from provisio.service import tenancy
from provisio.service.exporters import create_exporter, list_deliveries, send_test_event
from provisio.service.recipes import create_recipe
from provisio.service.relay import Relay
from provisio.store.tables import deliveries, events
from provisio.store.unit_of_work import Store
from provisio.webhooks.url_policy import UrlPolicy
from tests.webhooks.conftest import POLICY, RULES, SECRET, TYPES
from tests.webhooks.receiver import WebhookReceiver


async def _stored(store: Store) -> tuple[int, int]:
    async with store.reader() as uow:
        queued = await uow.conn.scalar(select(func.count()).select_from(deliveries))
        written = await uow.conn.scalar(select(func.count()).select_from(events))
    return int(queued or 0), int(written or 0)


async def test_a_test_event_is_signed_like_a_delivery_and_kept_nowhere(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    async with WebhookReceiver() as receiver:
        receiver.fail(status=500, times=1)
        spec = ExporterSpec("cms", TYPES, receiver.url, SECRET, enabled=False)
        exporter = await create_exporter(store, principal, spec, POLICY)
        before = await _stored(store)

        sent = await send_test_event(store, principal, exporter.uid, POLICY, 5)

        (request,) = receiver.deliveries()
    verify_sos(SECRET, receiver.url, request.headers, request.body)
    verify_standard(SECRET, request.headers, request.body)
    with pytest.raises(WebhookTestEvent):  # what the SDK tells a receiver
        verify_webhook(SECRET, receiver.url, request.headers, request.body)
    envelope = json.loads(request.body)
    assert envelope == {
        "id": sent.event_id,
        "kind": "test",
        "type": PING_TYPE,
        "payload": {
            "type": PING_TYPE,
            "exporterUid": exporter.uid,
            "owner": {
                "ownershipType": "organization",
                "organizationUid": made.organization_uid,
                "parentCompanyUid": made.company_uid,
            },
            "originator": {
                "accountId": made.account_id,
                "organizationUid": made.organization_uid,
            },
        },
    }
    assert request.headers["webhook-id"] == sent.event_id
    assert request.headers["X-SOS-Sequence-Number"] == "0"
    assert request.headers["X-SOS-Exporter-Config-Uid"] == exporter.uid
    assert request.headers["Content-Type"] == "application/json"
    assert (sent.outcome.http_status, sent.outcome.error) == (500, None)
    assert sent.outcome.duration_ms >= 0
    # Not an event of the feed, not a delivery.
    assert await _stored(store) == before


async def test_a_test_event_shows_the_answer_or_why_there_was_none(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    async with WebhookReceiver() as receiver:
        spec = ExporterSpec("cms", TYPES, receiver.url, SECRET, enabled=True)
        exporter = await create_exporter(store, principal, spec, POLICY)

        # Saved while loopback was allowed; at connect time the policy says no.
        refused = await send_test_event(store, principal, exporter.uid, UrlPolicy(), 5)
        assert refused.outcome.http_status is None
        assert "must use https" in (refused.outcome.error or "")
        strict = UrlPolicy(allow_http=True)
        refused = await send_test_event(store, principal, exporter.uid, strict, 5)
        assert "127.0.0.1 is not a public address" in (refused.outcome.error or "")
        assert receiver.deliveries() == []

        receiver.redirect("https://example.com/elsewhere", status=307)
        redirected = await send_test_event(store, principal, exporter.uid, POLICY, 5)
        assert redirected.outcome.http_status == 307  # not followed
        assert len(receiver.deliveries()) == 1

        receiver.delay(3, status=204)
        slow = await send_test_event(store, principal, exporter.uid, POLICY, 0.5)
        assert (slow.outcome.http_status, slow.outcome.error) == (None, "no answer within 0.5 s")
    gone = await send_test_event(store, principal, exporter.uid, POLICY, 5)
    assert gone.outcome.http_status is None
    assert "Cannot connect" in (gone.outcome.error or "")


async def test_a_test_event_for_another_organizations_exporter_is_not_found(
    store: Store,
) -> None:
    mine = await tenancy.bootstrap(store, "Acme", "Lobby")
    theirs = await tenancy.bootstrap(store, "Other", "Hall")
    principal = await tenancy.authenticate(store, mine.token.header)
    other = await tenancy.authenticate(store, theirs.token.header)
    async with WebhookReceiver() as receiver:
        spec = ExporterSpec("cms", TYPES, receiver.url, SECRET, enabled=True)
        exporter = await create_exporter(store, other, spec, POLICY)
        with pytest.raises(NotFound):
            await send_test_event(store, principal, exporter.uid, POLICY, 5)
        assert receiver.deliveries() == []


async def test_the_delivery_log_reads_newest_first_below_a_cursor(store: Store) -> None:
    made = await tenancy.bootstrap(store, "Acme", "Lobby")
    principal = await tenancy.authenticate(store, made.token.header)
    spec = ExporterSpec("cms", TYPES, "http://127.0.0.1:9/hook", SECRET, enabled=True)
    exporter = await create_exporter(store, principal, spec, POLICY)
    for serial in ("SN-1", "SN-2", "SN-3"):
        await create_recipe(store, principal, {"brand": "lg", "serialNumber": serial}, RULES)
    await Relay(store, 0.05).drain()

    oldest_first = await list_deliveries(store, principal, exporter.uid, None, 0, 10)
    ids = [view.id for view in oldest_first]
    assert len(ids) == 3
    assert ids == sorted(ids)

    first = await list_deliveries(store, principal, exporter.uid, None, 0, 2, newest_first=True)
    assert [view.id for view in first] == ids[::-1][:2]
    rest = await list_deliveries(
        store, principal, exporter.uid, None, first[-1].id, 2, newest_first=True
    )
    assert [view.id for view in rest] == ids[:1]
    pending = await list_deliveries(
        store, principal, exporter.uid, "pending", 0, 10, newest_first=True
    )
    assert [view.id for view in pending] == ids[::-1]
    failed = await list_deliveries(
        store, principal, exporter.uid, "failed", 0, 10, newest_first=True
    )
    assert failed == []
