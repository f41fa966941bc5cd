"""Alembic environment: runs on the connection provisio hands over (see store/migrate.py)."""

from alembic import context

from provisio.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
