"""The delivery claim reads only what it leases: its plan walks the partial indexes of pending
deliveries on both engines, on PostgreSQL even as the generic plan of a prepared statement
(with `status` bound as a parameter that plan could not use them, and scanned every pending
delivery of the exporter for each candidate: 300 ms per claim in a burst of 2,000 events)."""

from datetime import UTC, datetime

from provisio.store.deliveries import _DUE
from provisio.store.unit_of_work import Store
from tests.support import query_plan


async def test_the_claim_plan_uses_the_pending_delivery_indexes(store: Store) -> None:
    async with store.backend.write() as conn:
        plan = await query_plan(conn, _DUE, {"due_at": datetime.now(UTC), "due_limit": 50})
    assert "ix_deliveries_due" in plan, plan
    assert "ix_deliveries_pending_subject" in plan, plan
