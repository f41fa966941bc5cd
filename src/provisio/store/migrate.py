"""Schema migrations (Alembic), run over the store's own async engine."""

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from provisio.store.backend import Backend


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "provisio.store:migrations")
    config.attributes["connection"] = connection
    return config


async def migrate(backend: Backend) -> None:
    """Bring the database to the newest schema; safe to run on every start."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "head")

    async with backend.write() as conn:
        await conn.run_sync(upgrade)
