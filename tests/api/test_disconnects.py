"""A client that hangs up in the middle of sending its body, to a real `provisio serve` over a
real socket: no crash in the log, no 500 in the metrics, the next request served as usual."""

import json
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.api.helpers import RECIPES, metric
from tests.processes import provisio_json, serving, until

ROUTES = [RECIPES, f"{RECIPES}/bulk"]


def _hang_up_mid_body(url: str, path: str, token: str) -> None:
    """Headers and half the declared body, then close: the server reads both, then the end."""
    body = json.dumps({"brand": "samsung", "serialNumber": "half"}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth: {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head + body[: len(body) // 2])


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        return str(response.read().decode())


def _count(text: str, path: str, status: str) -> float:
    return metric(
        text, f'provisio_http_requests_total{{method="POST",route="{path}",status="{status}"}}'
    )


@pytest.mark.parametrize("path", ROUTES)
def test_a_client_hanging_up_mid_body_is_no_crash(
    database_url: str, tmp_path: Path, path: str
) -> None:
    env = {"PROVISIO_DATABASE_URL": database_url, "PROVISIO_LOG_FORMAT": "json"}
    tenant = provisio_json(["admin", "bootstrap", "--company", "A", "--org", "B", "--json"], env)
    with serving(env, tmp_path) as (server, url):
        _hang_up_mid_body(url, path, tenant["token"])
        until(lambda: _count(_metrics(url), path, "499") == 1, "the abandoned request counted")
        seen = _metrics(url)
        assert 'status="500"' not in seen, seen
        _hang_up_mid_body(url, path, tenant["token"])  # and again: the server is unharmed
        until(lambda: _count(_metrics(url), path, "499") == 2, "the second one counted")
    output = server.output()
    assert "Traceback" not in output, output
    assert "Exception in ASGI application" not in output, output
    levels = {json.loads(line)["level"] for line in output.splitlines() if line.startswith("{")}
    assert levels <= {"info", "warning"}, output
