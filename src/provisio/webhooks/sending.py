"""One signed webhook POST, sent the one way provisio sends them: the URL policy checked again
at connect time, one total timeout, no redirects followed, the answer's body read up to a cap.

The dispatcher sends every delivery through `post`; the console's "Send test event" sends its
single request through `send_once`.
"""

import errno
import ipaddress
import socket
import time
from datetime import UTC, datetime

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from provisio.store.deliveries import Outcome
from provisio.webhooks.schedule import parse_retry_after
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy

PER_HOST = 20
"""Requests in flight to one host and port at a time."""
READ_CAP = 64 * 1024
"""The most of an answer's body that is read; the connection is dropped after that."""
KEPT_BYTES = 1024
"""How much of it the delivery log keeps."""
ERROR_CHARS = 1024


class PolicyResolver(AbstractResolver):
    """DNS at connect time, refusing any address the URL policy forbids (DNS rebinding)."""

    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            try:
                self._policy.check_address(ipaddress.ip_address(result["host"]))
            except UnsafeWebhookUrl as error:
                # errno + strerror: aiohttp's ClientConnectorDNSError shows only the strerror.
                raise OSError(errno.EACCES, f"refused: {error}") from None
        return results

    async def close(self) -> None:
        await self._resolver.close()


def check_literal_address(policy: UrlPolicy, url: str) -> tuple[str, int]:
    """The URL's form, and its host when that is an IP address: aiohttp connects to an address
    literal without asking the resolver, so PolicyResolver never sees it. Returns host, port."""
    host, port = policy.check_url(url)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host, port  # a name: PolicyResolver checks every address it resolves to
    policy.check_address(address)
    return host, port


def refused(failure: UnsafeWebhookUrl) -> Outcome:
    """The outcome of an attempt the URL policy stopped before any connection."""
    return Outcome(datetime.now(UTC), 0, error=f"{type(failure).__name__}: {failure}")


def client_session(
    policy: UrlPolicy, timeout: float, *, limit: int = 100, per_host: int = PER_HOST
) -> aiohttp.ClientSession:
    """The HTTP client webhooks go out through: every resolved address checked against the
    URL policy, one total timeout per request."""
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=per_host, resolver=PolicyResolver(policy)
    )
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=timeout))


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[Outcome, float | None]:
    """POST the signed `body`; the outcome (status, or the error that prevented one, the
    duration and the start of the answer) and the `Retry-After` of a 429 or 503."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    response_text: str | None = None
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            status = response.status
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response_text = await read_start(response)
    except TimeoutError:
        error = f"no answer within {session.timeout.total:g} s"
    except (aiohttp.ClientError, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"
    duration = int((time.perf_counter() - clock) * 1000)
    outcome = Outcome(
        started, duration, status, storable(error), storable(response_text, KEPT_BYTES)
    )
    return outcome, retry_after


async def send_once(
    policy: UrlPolicy, seconds: float, url: str, body: bytes, headers: dict[str, str]
) -> Outcome:
    """One POST on a client of its own (`seconds`: its timeout); whatever happens is answered
    as an outcome: a URL the policy refuses, no answer, or a failure inside provisio."""
    try:
        check_literal_address(policy, url)
    except UnsafeWebhookUrl as failure:
        return refused(failure)
    try:
        async with client_session(policy, seconds, limit=1, per_host=1) as session:
            outcome, _ = await post(session, url, body, headers)
    except Exception as failure:  # a failure inside provisio is this attempt's outcome
        return Outcome(datetime.now(UTC), 0, error=internal_error("sending", failure))
    return outcome


def internal_error(doing: str, failure: Exception) -> str:
    """An attempt's error for a failure inside provisio (its type and message only: the
    message of a library error never carries the exporter's secret, locals are not shown)."""
    return storable(f"provisio failed {doing}: {type(failure).__name__}: {failure}") or ""


async def read_start(response: aiohttp.ClientResponse) -> str | None:
    """Up to READ_CAP bytes of the body (an endless answer is cut off and its connection
    closed); the first KEPT_BYTES are returned as text. A body that breaks off keeps the
    status: the receiver answered."""
    read = bytearray()
    try:
        while len(read) < READ_CAP:
            chunk = await response.content.read(READ_CAP - len(read))
            if not chunk:
                break
            read += chunk
        else:
            response.close()
    except (aiohttp.ClientError, OSError, TimeoutError):
        response.close()
    return bytes(read[:KEPT_BYTES]).decode("utf-8", "replace") if read else None


def storable(text: str | None, limit: int = ERROR_CHARS) -> str | None:
    """Text any engine stores: at most `limit` characters, no NUL (PostgreSQL refuses it), no
    lone surrogates (undecodable header bytes)."""
    if text is None:
        return None
    return text[:limit].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
