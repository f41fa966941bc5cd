"""Prometheus metrics and one log line per HTTP request, labelled by route template (not raw
path), and what device registrations did.

A request whose client went away before it was answered (a disconnect mid-body, say) is recorded
as 499, nginx's "client closed request": the client's doing, not a crash, so whatever its reading
raised is not passed on to be logged as one.
"""

import time

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "provisio_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "provisio_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)

REGISTRATIONS = Counter(
    "provisio_device_registrations_total",
    "Device registrations, by what they did (applied, no_recipe, ambiguous, …)",
    ["outcome"],
)

CLIENT_CLOSED = 499

log = structlog.get_logger(__name__)


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        client_left = False

        async def watching_receive() -> Message:
            nonlocal client_left
            message = await receive()
            if message["type"] == "http.disconnect" and status is None:
                client_left = True
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start" and status is None:
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, watching_receive, recording_send)
        except Exception:
            if not client_left:
                status = 500
                raise
        finally:
            if client_left:
                status = CLIENT_CLOSED
            elif status is None:  # returned without answering: the server answers 500
                status = 500
            route = _route(scope)
            elapsed = time.perf_counter() - started
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            log.info(
                "http.request",
                method=scope["method"],
                route=route,
                path=scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 1),
            )


def _route(scope: Scope) -> str:
    """The matched route's template (the router records it in the scope), so uids do not
    explode label cardinality."""
    return str(getattr(scope.get("route"), "path_format", "unmatched"))
