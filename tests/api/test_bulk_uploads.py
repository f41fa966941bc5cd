"""Bulk uploads over real HTTP: a stalled or aborted upload holds nothing and crashes nothing."""

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from prometheus_client import REGISTRY

from tests.api.helpers import RECIPES
from tests.cli.live import LiveServer, live_server

BULK = f"{RECIPES}/bulk"
STALLED = 35
"""More uploads than PostgreSQL's pool has connections (10 + 20 overflow)."""


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    with live_server(database_url) as running:
        yield running


def _start_upload(server: LiveServer, body: bytes, declared: int) -> socket.socket:
    """Send a bulk request's head and the first `body` bytes of `declared`, and stop there."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=60)
    head = (
        f"POST {BULK}?mode=partial HTTP/1.1\r\nHost: {host}\r\nX-Auth: {server.tenant.token}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {declared}\r\n\r\n"
    )
    conn.sendall(head.encode() + body)
    return conn


def _status_line(conn: socket.socket) -> str:
    answer = b""
    while b"\r\n" not in answer:
        chunk = conn.recv(4096)
        assert chunk, "the server closed the connection without answering"
        answer += chunk
    return answer.split(b"\r\n", 1)[0].decode()


def _bulk_answers(status: str) -> float:
    """How many bulk requests the server has answered with `status` so far."""
    labels = {"method": "POST", "route": BULK, "status": status}
    return REGISTRY.get_sample_value("provisio_http_requests_total", labels) or 0.0


def test_stalled_uploads_hold_no_lock_and_no_pooled_connection(server: LiveServer) -> None:
    """While uploads stall half-sent, other writes go through at once; each upload is then
    stored when its client finishes it."""
    with ExitStack() as open_uploads:
        uploads = []
        for n in range(STALLED):
            first, rest = b"brand,serialNumber\n", f"lg,SN-stalled-{n}\n".encode()
            conn = open_uploads.enter_context(_start_upload(server, first, len(first) + len(rest)))
            uploads.append((conn, rest))
        assert server.request("GET", RECIPES)[0] == 200  # the uploads have reached the server
        started = time.monotonic()
        status, created = server.request("POST", RECIPES, {"brand": "lg", "serialNumber": "SN-0"})
        assert status == 201, created
        assert time.monotonic() - started < 10, "a write waited for the stalled uploads"
        for conn, rest in uploads:
            conn.sendall(rest)
        assert [_status_line(conn) for conn, _ in uploads] == ["HTTP/1.1 200 OK"] * STALLED
    assert len(server.recipes()) == STALLED + 1


def test_an_aborted_upload_stores_nothing_and_is_no_crash(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("uvicorn.error").addHandler(caplog.handler)
    try:
        answered = {status: _bulk_answers(status) for status in ("499", "500")}
        body = b"brand,serialNumber\nlg,SN-1\n"
        with _start_upload(server, body, len(body) + 1000):
            pass  # the client goes away before its last byte
        deadline = time.monotonic() + 30
        while sum(_bulk_answers(s) - answered[s] for s in answered) < 1:
            assert time.monotonic() < deadline, "the aborted upload was never answered"
            time.sleep(0.01)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(caplog.handler)
    # Counted as the client's hang-up (499), not as a 500.
    assert (_bulk_answers("499") - answered["499"], _bulk_answers("500") - answered["500"]) == (
        1,
        0,
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert server.recipes() == []
