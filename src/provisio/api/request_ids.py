"""Request ids (`X-Request-Id`): accepted from the client or made here, echoed on every response
and bound to every log line written while the request is handled.

This is the outermost middleware, so the 413/415 answers of the body limits carry the id too, and
a request that fails unexpectedly is logged here, with its id, and answered with the documented
500 body rather than by the server's bare one.
"""

import re
from uuid import uuid4

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisio.api.errors import error_response

_RAW_HEADER = b"x-request-id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
"""What a proxy or client typically sends (UUIDs, trace ids, base64); anything else is replaced,
so an id cannot forge or break a log line."""

log = structlog.get_logger(__name__)


def request_id(scope: Scope) -> str:
    """The client's id if it is acceptable, otherwise a new one."""
    for name, value in scope["headers"]:
        if name == _RAW_HEADER:
            sent = value.decode("latin-1")
            return sent if _ACCEPTED.fullmatch(sent) else uuid4().hex
    return uuid4().hex


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), (_RAW_HEADER, rid.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("http.request_failed", method=scope["method"], path=scope["path"])
                if not started:
                    await error_response(500, "internal error")(scope, receive, send_with_id)
