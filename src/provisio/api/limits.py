"""ASGI middleware: refuse oversized bodies (413) and wrong content types (415) before routing.

The API takes JSON (and CSV for bulk imports); the console takes its forms.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from provisio.api.errors import error_response

JSON = "application/json"
CSV = "text/csv"
BULK_SUFFIX = "/provisioning-recipe/bulk"
CONSOLE_PREFIX = "/console/"
CONSOLE_UPLOAD = "/console/register/bulk"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
"""What the console's forms send (and all they may send)."""
_READ = frozenset({b"content-length", b"transfer-encoding", b"content-type"})
"""The only headers this middleware looks at (decoding them all cost more than its checks)."""


class BodyLimits:
    """Bodies larger than the limit are refused without being read whole.

    A declared Content-Length over the limit is refused at once; a chunked body is counted as
    it streams and cut off when it passes the limit. Bulk uploads get their own, larger limit.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_bulk_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_bulk_bytes = max_bulk_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {  # ASGI servers give header names in lower case
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _READ
        }
        path: str = scope["path"]
        bulk = path.endswith(BULK_SUFFIX) or path == CONSOLE_UPLOAD
        limit = self.max_bulk_bytes if bulk else self.max_body_bytes
        length = headers.get("content-length")
        has_body = headers.get("transfer-encoding") is not None or length not in (None, "0")
        if length is not None and not length.isdigit():
            await self._refuse(scope, receive, send, 400, "Content-Length is not a number")
            return
        if length is not None and int(length) > limit:
            await self._refuse(scope, receive, send, 413, f"request body exceeds {limit} bytes")
            return
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if path.startswith(CONSOLE_PREFIX):
            allowed: tuple[str, ...] = FORMS
        else:
            allowed = (JSON, CSV) if bulk else (JSON,)
        if has_body and media not in allowed:
            await self._refuse(
                scope, receive, send, 415, f"Content-Type must be {' or '.join(allowed)}"
            )
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # handled like any HTTPException: the documented error body
                raise HTTPException(413, f"request body exceeds {limit} bytes")
            return message

        await self.app(scope, counted, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        await error_response(status, text)(scope, receive, send)
