"""The HTTP server of `provisio serve`: uvicorn, ending feed long-polls when it stops."""

import socket

import uvicorn
from fastapi import FastAPI

from provisio.collector import freeze_startup


class Server(uvicorn.Server):
    """uvicorn lets open requests finish before it stops the application, and a feed long-poll
    may stay open for a minute: that would hold up every stop and rolling restart. This server
    sets the application's `draining` event first, so long-polls answer with what they have."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        # provisio logs each request itself (with its request id): no access log of uvicorn's.
        # Proxy headers are the application's (`PROVISIO_FORWARDED_ALLOW_IPS`), not trusted
        # from loopback by default as uvicorn would.
        config = uvicorn.Config(
            app, host=host, port=port, log_level="info", access_log=False, proxy_headers=False
        )
        super().__init__(config)
        self._app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        freeze_startup()  # the application is up: what it made so far lives as long as it does

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app.state.draining.set()
        await super().shutdown(sockets)
