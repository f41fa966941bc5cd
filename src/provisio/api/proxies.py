"""Reverse proxies: their `X-Forwarded-*` headers count only from the addresses configured in
`PROVISIO_FORWARDED_ALLOW_IPS`; from anyone else they are ignored."""

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class ForwardedHeaders(ProxyHeadersMiddleware):
    """uvicorn's handling of `X-Forwarded-Proto` and `X-Forwarded-For`, plus
    `X-Forwarded-Host`: the absolute URLs provisio writes (`Link: rel="next"`) then name the
    scheme and host the client reached, not the address the proxy forwards to."""

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            if client is not None and client[0] in self.trusted_hosts:
                scope = _with_forwarded_host(scope)
        await super().__call__(scope, receive, send)


def _with_forwarded_host(scope: HTTPScope) -> HTTPScope:
    headers = list(scope["headers"])
    forwarded = [value for name, value in headers if name == b"x-forwarded-host"]
    if not forwarded:
        return scope
    # A chain of proxies appends: the first entry is the host the client asked for.
    host = forwarded[0].split(b",")[0].strip()
    if not host:
        return scope
    kept = [(name, value) for name, value in headers if name != b"host"]
    return {**scope, "headers": [*kept, (b"host", host)]}
