"""The delivery claim reads only what it leases: its plan walks the partial indexes of pending
deliveries on both engines, on PostgreSQL even as the generic plan of a prepared statement
(with `status` bound as a parameter that plan could not use them, and scanned every pending
delivery of the exporter for each candidate: 300 ms per claim in a burst of 2,000 events)."""

from datetime import UTC, datetime

from sqlalchemy import Connection

from provisio.store.deliveries import _DUE
from provisio.store.unit_of_work import Store


def _literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def test_the_claim_plan_uses_the_pending_delivery_indexes(store: Store) -> None:
    def explain(conn: Connection) -> str:
        compiled = _DUE.compile(dialect=conn.dialect)
        values = compiled.construct_params({"due_at": datetime.now(UTC), "due_limit": 50})
        ordered = tuple(values[name] for name in compiled.positiontup or [])
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"PREPARE provisio_due AS {compiled}")
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            arguments = ", ".join(_literal(value) for value in ordered)
            rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE provisio_due({arguments})")
        else:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered)
        return "\n".join(str(row[-1]) for row in rows)

    async with store.backend.write() as conn:
        plan = await conn.run_sync(explain)
    assert "ix_deliveries_due" in plan, plan
    assert "ix_deliveries_pending_subject" in plan, plan
