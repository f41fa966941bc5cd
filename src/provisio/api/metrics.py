"""Prometheus metrics: HTTP requests, labelled by route template (not raw path), and what
device registrations did."""

import time

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


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = _route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    """The matched route's template (the router records it in the scope), so uids do not
    explode label cardinality."""
    return str(getattr(scope.get("route"), "path_format", "unmatched"))
