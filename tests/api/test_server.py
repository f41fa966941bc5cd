"""`provisio serve`'s HTTP server: once the application has started, what start-up made is left
out of the garbage collector's walks (a full collection of it stalled every request)."""

import asyncio
import gc
from pathlib import Path

from provisio.api.app import create_app
from provisio.api.server import Server
from tests.cli.live import free_port
from tests.conftest import settings_for


async def test_the_server_freezes_what_start_up_made(tmp_path: Path) -> None:
    gc.unfreeze()
    app = create_app(settings_for(f"sqlite:///{tmp_path}/provisio.db"), background=False)
    server = Server(app, "127.0.0.1", free_port())
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the server stopped before it started"
            await asyncio.sleep(0.01)
        frozen = gc.get_freeze_count()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
        gc.unfreeze()
    assert frozen > 10_000  # the application, its store and the libraries they loaded
