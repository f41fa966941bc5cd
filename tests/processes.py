"""`provisio` commands as real subprocesses, for the tests that stop, kill and restart them.

Each process writes its output to a log file, so a failing test can show what the process said
without a pipe that fills up and blocks it.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli.live import free_port

START_DEADLINE = 60.0
"""Seconds a process gets to become ready on a busy machine."""


@dataclass
class Running:
    """A started subprocess and the file its output goes to."""

    name: str
    popen: "subprocess.Popen[bytes]"
    log: Path

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            self.popen.send_signal(sig)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()


def start(
    name: str, args: list[str], env: Mapping[str, str], logs: Path, program: str | None = None
) -> Running:
    """`provisio ARGS…` (or `program ARGS…`) with `env` added to this process's environment."""
    log = logs / f"{name}.log"
    command = [program] if program else [sys.executable, "-m", "provisio.cli.main"]
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [*command, *args], stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    return Running(name, popen, log)


def run_provisio(args: list[str], env: Mapping[str, str]) -> str:
    """Run a `provisio` command to completion; returns what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "provisio.cli.main", *args],
        capture_output=True,
        env={**os.environ, **env},
        timeout=START_DEADLINE,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def provisio_json(args: list[str], env: Mapping[str, str]) -> Any:
    """Run a `provisio … --json` command and parse what it printed."""
    return json.loads(run_provisio(args, env))


def until(
    condition: Callable[[], bool], what: str, deadline: float = START_DEADLINE, step: float = 0.05
) -> None:
    """Poll `condition` until it holds; fail naming `what` once `deadline` seconds have passed."""
    give_up = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < give_up, f"{what}: not within {deadline} s"
        time.sleep(step)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, deadline: float = START_DEADLINE
) -> None:
    """`until` for a test whose event loop must keep running (a receiver, a client) meanwhile."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while not await check():
        assert loop.time() < give_up, f"{what}: not within {deadline} s"
        await asyncio.sleep(0.1)


def ready(url: str) -> bool:
    """The server at `url` answers `/readyz` with 200 (it has started and reaches its database)."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def wait_serving(process: Running, url: str) -> None:
    """Return once `provisio serve` answers at `url`; fail with its output if it died."""

    def up() -> bool:
        assert process.alive, f"{process.name} exited:\n{process.output()}"
        return ready(url)

    until(up, f"{process.name} serving at {url}")


@contextmanager
def serving(env: Mapping[str, str], logs: Path) -> Iterator[tuple[Running, str]]:
    """`provisio serve` on a free loopback port until exit; yields the process and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start("serve", ["serve", "--port", str(port)], env, logs)
    try:
        wait_serving(server, url)
        yield server, url
    finally:
        server.stop()


@contextmanager
def demo_server(database_url: str, **settings: str) -> Iterator[str]:
    """`provisio serve --demo` (what `make run` starts) on a free port, with `settings` as
    `PROVISIO_…` variables; yields what it printed until it was ready."""
    port = free_port()
    env = {
        **os.environ,
        "PROVISIO_DATABASE_URL": database_url,
        **{f"PROVISIO_{name.upper()}": value for name, value in settings.items()},
    }
    env.pop("PROVISIO_DEVICE_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "provisio.cli.main", "serve", "--demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        output = ""
        assert server.stdout is not None
        deadline = time.monotonic() + 30
        while "Uvicorn running" not in output and time.monotonic() < deadline:
            output += server.stdout.readline()
        assert "Uvicorn running" in output, output
        yield output
    finally:
        server.terminate()
        server.wait(timeout=10)
