"""NATS for the tests: the shared server (PROVISIO_TEST_NATS_URL), private servers the tests stop
and restart, unique stream names, and readers of what a stream holds.

With PROVISIO_TEST_NATS_URL set, the NATS tests run and fail (never skip) when a server is
unreachable or nats-server is missing; without it they skip.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from nats.aio.client import Client
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from provisio.nats.publisher import Publisher
from provisio.nats.stream import connect
from provisio.service.relay import Relay
from provisio.store.unit_of_work import Store
from tests.processes import Running, start, until

NATS_URL = os.environ.get("PROVISIO_TEST_NATS_URL")
NATS_SERVER = os.environ.get("PROVISIO_TEST_NATS_SERVER") or shutil.which("nats-server")
SKIP_REASON = "PROVISIO_TEST_NATS_URL is not set: the NATS tests need nats-server with JetStream"
WITHIN = 20.0
"""Seconds a condition gets to come true on a busy machine."""

T = TypeVar("T")


def shared_nats() -> str:
    """The shared server's URL; skips when none is configured."""
    if NATS_URL is None:
        pytest.skip(SKIP_REASON)
    return NATS_URL


@dataclass(frozen=True)
class Names:
    """A stream and subject prefix of one test's own, so tests on one server never meet."""

    stream: str
    prefix: str

    @classmethod
    def unique(cls) -> "Names":
        tag = uuid.uuid4().hex[:12]
        return cls(f"PROVISIO_TEST_{tag}", f"provisio_test_{tag}.events")


async def open_client(url: str) -> Client:
    """A plain connection for the test itself; an unreachable server fails the test."""
    try:
        return await connect(url, name="provisio-tests", on_error=_ignore)
    except Exception as error:
        pytest.fail(f"NATS at {url} is unreachable: {error!r}")


async def _ignore(error: Exception) -> None:
    """Connection errors reach the test as exceptions."""


async def stream_messages(url: str, stream: str) -> list[RawStreamMsg]:
    """Every message the stream holds, in stream order (none if it does not exist)."""
    nc = await open_client(url)
    try:
        js = nc.jetstream()
        try:
            state = (await js.stream_info(stream)).state
        except NotFoundError:
            return []
        return [await js.get_msg(stream, seq=seq) for seq in range(1, state.last_seq + 1)]
    finally:
        await nc.close()


async def delete_stream(url: str, stream: str) -> None:
    nc = await open_client(url)
    try:
        await nc.jetstream().delete_stream(stream)
    except NotFoundError:
        pass
    finally:
        await nc.close()


async def settle(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = WITHIN
) -> T:
    """Poll `read` until `done` accepts its value; returns the last value either way, for the
    test's assertion to show."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await read()
        if done(value) or loop.time() >= deadline:
            return value
        await asyncio.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateNats:
    """`nats-server -js` on a free loopback port with its own store directory; stopping and
    starting it again keeps the port and the stream."""

    def __init__(self, directory: Path) -> None:
        if NATS_SERVER is None:
            pytest.fail("nats-server is not installed (set PROVISIO_TEST_NATS_SERVER)")
        self._program = NATS_SERVER
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self._process: Running | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        args = ["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self._directory)]
        self._process = start("nats-server", args, {}, self._directory, program=self._program)
        process = self._process

        def up() -> bool:
            assert process.alive, f"nats-server exited:\n{process.output()}"
            return _listening(self.port)

        until(up, f"nats-server listening on {self.port}", deadline=WITHIN)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


@contextlib.asynccontextmanager
async def running(store: Store, publisher: Publisher) -> AsyncIterator[asyncio.Task[None]]:
    """The relay and the publisher in the background (the publisher retrying while NATS is
    away, as in production); yields the publisher's task."""
    stop = asyncio.Event()
    relay = asyncio.create_task(Relay(store, 0.05).run(stop))
    publishing = asyncio.create_task(publisher.run(stop))
    try:
        yield publishing
    finally:
        stop.set()
        await asyncio.gather(relay, publishing)
