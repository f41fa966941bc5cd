"""events wake trigger (PostgreSQL)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

On PostgreSQL, every statement that inserts events notifies the other processes (the relays
waiting for events to position) from inside the database, in the same round trip as the insert,
instead of a separate `SELECT pg_notify(...)` per write transaction. The message is the one
`provisio.store.pg_listen` expects: the writing process's origin (the `provisio.origin`
setting of its connections, so it does not wake itself) and the wake's name. Like any NOTIFY it
is delivered at commit and dropped on rollback; identical ones in a transaction are sent once.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "provisio_wake"  # provisio.store.pg_listen.CHANNEL when this was written
WAKE = "events_committed"  # provisio.store.signal.Wake.EVENTS_COMMITTED


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION provisio_events_committed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                '{CHANNEL}',
                coalesce(current_setting('provisio.origin', true), '') || ' {WAKE}'
            );
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_committed AFTER INSERT ON events"
        " FOR EACH STATEMENT EXECUTE FUNCTION provisio_events_committed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER events_committed ON events")
    op.execute("DROP FUNCTION provisio_events_committed()")
