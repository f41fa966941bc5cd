"""A raw TCP webhook endpoint that answers what no well-behaved HTTP server would: garbage
status lines, endless or trickling bodies, resets mid-body, odd bytes. aiohttp's server cannot
send these, so this one writes its answers byte by byte.

The first request about a chosen recipe gets the hostile answer; every other request gets a
plain `204`, so tests see the schedule go on and other recipes flow.
"""

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]
"""Writes a hostile answer (and may close or reset the connection)."""

NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


def raw(data: bytes) -> Answer:
    """Exactly these bytes, then the connection is closed."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return answer


def endless(head: bytes) -> Answer:
    """A head, then body bytes until the client hangs up."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        chunk = b"x" * 65536
        with contextlib.suppress(ConnectionError):
            while not writer.is_closing():
                writer.write(chunk)
                await writer.drain()

    return answer


def trickle(data: bytes, every: float = 0.05) -> Answer:
    """One byte at a time, for as long as the client listens."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(every)  # the trickle itself, not a synchronisation

    return answer


def reset_after(data: bytes) -> Answer:
    """These bytes, then a TCP reset."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    return answer


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes

    @property
    def uid(self) -> str | None:
        try:
            payload = json.loads(self.body)["payload"]
        except (ValueError, KeyError, TypeError):
            return None
        value = payload.get("uid") if isinstance(payload, dict) else None
        return value if isinstance(value, str) else None


@dataclass
class HostileEndpoint:
    """`answer` goes to the first request about `target` (a recipe uid, set by the test)."""

    answer: Answer
    target: str | None = None
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _hostile_sent: bool = False
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/hook"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._open:
            writer.transport.abort()
        await self._server.wait_closed()

    async def wait_for(self, count: int, uid: str | None = None, within: float = 10.0) -> None:
        """Until `count` requests (about `uid`, if given) have arrived."""

        def enough() -> bool:
            return len([r for r in self.requests if uid is None or r.uid == uid]) >= count

        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(enough)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            while request := await _read_request(reader):
                async with self._arrived:
                    self.requests.append(request)
                    self._arrived.notify_all()
                if request.uid == self.target and not self._hostile_sent:
                    self._hostile_sent = True
                    await self.answer(writer)
                    return
                writer.write(NO_CONTENT)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._open.discard(writer)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(headers, body)
