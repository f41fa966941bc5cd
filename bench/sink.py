"""The webhook endpoint the pipeline benchmarks deliver to: answers 204 at once, notes arrivals.

It runs in its own process by default (`python -m bench.sink`), so that receiving does not
take event-loop time from the dispatcher or the load generator it is measuring; `inline` puts
it in the bench's own loop, to measure what sharing costs. Either way the bench talks to it
over loopback HTTP only: `POST /hook` is the webhook URL, `/_bench/*` is the control side.

Arrival times are `time.monotonic()`, which on Linux is one clock for every process, so they
compare directly with the bench's `loop.time()`.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web

HOOK = "/hook"
Mode = Literal["process", "inline"]


class _Recorder:
    """The server side: append (arrival time, body) and answer; parse only when asked."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        self._grew = asyncio.Event()

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrivals.append((time.monotonic(), body))
        self._grew.set()
        return web.Response(status=204)

    async def count(self, request: web.Request) -> web.Response:
        """`?atLeast=n&timeout=s`: long-polls until n arrivals (or the timeout)."""
        wanted = int(request.query.get("atLeast", "0"))
        deadline = time.monotonic() + float(request.query.get("timeout", "0"))
        while len(self.arrivals) < wanted and (left := deadline - time.monotonic()) > 0:
            self._grew.clear()
            try:
                async with asyncio.timeout(left):
                    await self._grew.wait()
            except TimeoutError:
                break
        return web.json_response({"count": len(self.arrivals)})

    async def arrivals_since(self, request: web.Request) -> web.Response:
        """Arrivals from index `?from=`: time, event id, type, payload uid, deviceName, body."""
        start = int(request.query.get("from", "0"))
        rows = []
        for at, body in self.arrivals[start:]:
            event = json.loads(body)
            payload = event.get("payload", {})
            fields = [event["id"], event["type"], payload.get("uid"), payload.get("deviceName")]
            rows.append([at, *fields, body.decode()])
        return web.json_response(rows)

    async def cpu(self, request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.json_response({"cpu": usage.ru_utime + usage.ru_stime})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(HOOK, self.hook)
        app.router.add_get("/_bench/count", self.count)
        app.router.add_get("/_bench/arrivals", self.arrivals_since)
        app.router.add_get("/_bench/cpu", self.cpu)
        return app


async def _start(recorder: _Recorder, port: int) -> web.AppRunner:
    runner = web.AppRunner(recorder.app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@dataclass(frozen=True)
class Arrival:
    """One webhook as the sink saw it."""

    at: float
    event_id: str
    event_type: str
    uid: str | None
    device_name: str | None
    body: str
    """The exact bytes received (UTF-8 JSON)."""


class Sink:
    """The bench's handle on the endpoint: start it, point an exporter at `url`, read arrivals."""

    def __init__(self, mode: Mode = "process") -> None:
        self.mode = mode
        self._process: asyncio.subprocess.Process | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._base = ""
        self.seen = 0
        """Arrivals before the current measurement (`mark` moves it)."""

    async def __aenter__(self) -> Self:
        if self.mode == "inline":
            self._runner = await _start(_Recorder(), 0)
            port = self._runner.addresses[0][1]
        else:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.sink", stdout=asyncio.subprocess.PIPE
            )
            assert self._process.stdout is not None
            line = await self._process.stdout.readline()
            if not line:
                raise RuntimeError("the webhook sink did not start")
            port = int(line)
        self._base = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._process is not None:
            self._process.terminate()
            await self._process.wait()

    @property
    def url(self) -> str:
        return self._base + HOOK

    async def _get(self, path: str, **query: str) -> Any:
        assert self._session is not None
        async with self._session.get(self._base + path, params=query) as response:
            response.raise_for_status()
            return await response.json()

    async def count(self) -> int:
        return int((await self._get("/_bench/count"))["count"])

    async def mark(self) -> None:
        """Start a measurement: later `wait_for` and `arrivals` count only what comes next."""
        self.seen = await self.count()

    async def wait_for(self, count: int, timeout: float) -> None:  # noqa: ASYNC109
        """Until `count` webhooks arrived since `mark` (TimeoutError says how many did)."""
        found = await self._get(
            "/_bench/count", atLeast=str(self.seen + count), timeout=str(timeout)
        )
        got = int(found["count"]) - self.seen
        if got < count:
            raise TimeoutError(f"{got} of {count} webhooks arrived within {timeout:g} s")

    async def arrivals(self) -> list[Arrival]:
        """Every webhook since `mark`, in arrival order."""
        rows = await self._get("/_bench/arrivals", **{"from": str(self.seen)})
        return [Arrival(*row) for row in rows]

    async def cpu(self) -> float:
        """CPU seconds the sink's process has used (the bench's own when inline)."""
        return float((await self._get("/_bench/cpu"))["cpu"])


def main() -> None:
    """Serve on 127.0.0.1 (an ephemeral port unless given), print the port, run until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    port = parser.parse_args().port

    async def serve() -> None:
        runner = await _start(_Recorder(), port)
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
