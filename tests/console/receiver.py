"""A webhook receiver on loopback that answers from its own thread, for the browser tests
(Playwright's sync API holds the test's thread; an asyncio receiver would need a loop there).

It records every request and answers `status` with `answer` as its body; tests change both.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from provisio.sdk import verify_sos, verify_standard


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def verify(self, secret: str, url: str) -> None:
        """Both signatures (X-SOS-* over `url`, and Standard Webhooks) check out with `secret`;
        raises WebhookVerificationError otherwise."""
        verify_sos(secret, url, self.headers, self.body)
        verify_standard(secret, self.headers, self.body)


class Receiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        self.status = 204
        self.answer = b""
        self._received: list[Received] = []
        self._arrived = threading.Condition()

    def record(self, request: Received) -> tuple[int, bytes]:
        with self._arrived:
            self._received.append(request)
            self._arrived.notify_all()
            return self.status, self.answer

    def received(self) -> list[Received]:
        with self._arrived:
            return list(self._received)

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        """At least `count` requests, once they arrived (AssertionError after `timeout`)."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self._received) >= count, timeout)
            assert arrived, f"expected {count} requests, got {len(self._received)}"
            return list(self._received)


@contextmanager
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Receiver(server)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = state.record(Received(self.path, headers, body))
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
