"""Stopping `provisio serve` does not wait for open feed long-polls: they answer what they have
(nothing yet) and the process exits, so a stop or a rolling restart takes seconds, not the
minute a long-poll may stay open."""

import json
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.cli.live import free_port
from tests.processes import provisio_json, ready, start, wait_serving

PROMPT_EXIT = 10.0
"""Seconds the stop may take on a busy machine; the long-poll alone would hold it for 60."""


def _long_poll(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/v1/event-stream/events?wait=60", headers={"X-Auth": token}
    )
    with urllib.request.urlopen(request, timeout=90) as response:
        return response.status, json.loads(response.read())


def test_sigterm_ends_open_long_polls_and_exits_promptly(tmp_path: Path) -> None:
    env = {"PROVISIO_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    tenant = provisio_json(["admin", "bootstrap", "--company", "A", "--org", "B", "--json"], env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start("serve", ["serve", "--port", str(port)], env, tmp_path)
    try:
        wait_serving(server, url)
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(_long_poll, url, tenant["token"])
            # A request sent after the long-poll and answered proves the server has read it.
            assert ready(url)
            assert not answer.done()
            stopping = time.monotonic()
            server.signal(signal.SIGTERM)
            server.popen.wait(PROMPT_EXIT)
            took = time.monotonic() - stopping
            assert answer.result(timeout=PROMPT_EXIT) == (200, [])
        assert took < PROMPT_EXIT
        # uvicorn re-raises the signal it handled once it has shut down cleanly.
        assert server.popen.returncode == -signal.SIGTERM, server.output()
        assert "Application shutdown complete" in server.output()
    finally:
        server.stop()
