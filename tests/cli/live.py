"""A real provisio server on a loopback port, for the commands that talk to one over HTTP."""

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

import uvicorn
from typer.testing import CliRunner, Result

from provisio.api.app import create_app
from provisio.cli.main import app
from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.conftest import Tenant, settings_for
from tests.support import run_coroutine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str
    database_url: str
    tenant: Tenant

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Call the API as the tenant; answers (status, parsed JSON body or None)."""
        status, _, answer = self._call(method, path, body, params, headers)
        return status, answer

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}{query}",
            data=data,
            method=method,
            headers={
                **self.tenant.headers,
                **({"Content-Type": "application/json"} if data is not None else {}),
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, answered, text = response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, answered, text = error.code, _lower(error.headers), error.read()
        return status, answered, json.loads(text) if text else None

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        status, answer = self.request(method, path, body, params=params)
        assert 200 <= status < 300, (status, answer)
        return answer

    def recipes(self, **params: Any) -> list[dict[str, Any]]:
        """Every recipe matching `params`, all pages."""
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            query = {"limit": 1000, "after": after, **params}
            status, headers, page = self._call("GET", "/v1/provisioning-recipe", params=query)
            assert status == 200, (status, page)
            found.extend(page)
            link = re.search(r"[?&]after=(\d+)", headers.get("link", ""))
            if len(page) < 1000 or link is None:
                return found
            after = int(link.group(1))

    def events(self, count: int, deadline: float = 30) -> list[dict[str, Any]]:
        """The feed from the start, once it holds at least `count` events (the relay is async)."""
        give_up = time.monotonic() + deadline
        items: list[dict[str, Any]] = []
        while len(items) < count and time.monotonic() < give_up:
            after = items[-1]["position"] if items else 0
            items += self.ok("GET", "/v1/event-stream/events", after=after, limit=1000, wait=1)
        return items


def _lower(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@contextmanager
def live_server(database_url: str, port: int = 0, **settings: object) -> Iterator[LiveServer]:
    """`create_app` served by uvicorn in a thread (relay and dispatcher included), with a tenant.

    The listening socket is bound before the server starts, so no other process can take the
    port in between; `port` 0 picks a free one.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = int(sock.getsockname()[1])
    app = create_app(settings_for(database_url, **settings))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start within 30 s"
            time.sleep(0.02)
        tenant = bootstrap_tenant(database_url)
        yield LiveServer(f"http://127.0.0.1:{port}", database_url, tenant)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def bootstrap_tenant(database_url: str, company: str = "Acme", org: str = "Fleet") -> Tenant:
    """A new company with one organization and its token, made straight in the database."""

    async def make() -> Tenant:
        store = Store.open(database_url)
        try:
            made = await tenancy.bootstrap(store, company, org)
        finally:
            await store.close()
        return Tenant(made.company_uid, made.organization_uid, made.account_id, made.token.header)

    return run_coroutine(make())


_runner = CliRunner()


def invoke(*args: str) -> Result:
    """`provisio ARGS…` in this process; `output` mixes stdout and stderr as a terminal does."""
    return _runner.invoke(app, list(args))


def words(text: str) -> str:
    """`text` with rich's boxes and line wrapping undone, for substring checks."""
    return " ".join(text.replace("│", " ").split())
