"""What the operator commands share: options, the HTTP session, the server's errors, clean exits.

The commands (`recipes import`, `events tail`, `simulate devices`) talk to a running provisio
server over HTTP with aiohttp. Every failure a user can cause or meet — a wrong token, a refused
connection, an invalid row — ends in one clear message on stderr and exit code 1, never a
traceback; Ctrl-C ends the command quietly.
"""

import asyncio
import json
import socket
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import aiohttp
import typer
from rich.console import Console
from rich.markup import escape

T = TypeVar("T")

out = Console(soft_wrap=True, highlight=False)
"""Results (summaries, event lines) go to stdout."""
err = Console(stderr=True, soft_wrap=True, highlight=False)
"""Progress bars, warnings and errors go to stderr, so stdout stays fit for pipes."""

DEFAULT_URL = "http://127.0.0.1:8080"
INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C (128 + SIGINT)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise typer.BadParameter(f"{url!r} is not an http(s) URL, e.g. {DEFAULT_URL}")
    return url


UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="PROVISIO_URL",
        callback=_check_url,
        help="The provisio server (PROVISIO_URL).",
    ),
]
TokenOption = Annotated[
    str,
    typer.Option(
        "--token",
        envvar="PROVISIO_TOKEN",
        help="An API token, tokenId:tokenSecret (PROVISIO_TOKEN); sent as X-Auth.",
        show_default=False,
    ),
]
OrganizationOption = Annotated[
    str | None,
    typer.Option(
        "--organization-uid",
        help="The organization to act on; needed with an account token.",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class Problem:
    """One entry of an error body's `details` (or of a bulk answer's `failed`)."""

    field: str
    message: str
    row: int | None = None

    @classmethod
    def of(cls, entry: Any) -> "Problem":
        if not isinstance(entry, Mapping):
            return cls("", str(entry))
        row = entry.get("row")
        return cls(
            str(entry.get("field", "")),
            str(entry.get("message", "")),
            row if isinstance(row, int) else None,
        )

    def line(self) -> str:
        where = f"row {self.row}" if self.row is not None else "-"
        field = f"{self.field}: " if self.field else ""
        return f"{where:>9}  {field}{self.message}"


class CommandError(Exception):
    """A failure reported as one message (plus any problems) and exit code 1."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class ApiError(CommandError):
    """The server answered with an error status; `message` and `problems` come from its body."""

    def __init__(self, status: int, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message, problems)
        self.status = status


def endpoint(url: str, path: str) -> str:
    """`path` on the server at `url` (a trailing slash on `url` is fine)."""
    return url.rstrip("/") + path


def auth_headers(token: str) -> dict[str, str]:
    return {"X-Auth": token}


def session(*, read_timeout: float | None = 60.0) -> aiohttp.ClientSession:
    """A client session: connecting gets 10 s; `read_timeout` bounds each wait for data."""
    timeout = aiohttp.ClientTimeout(total=None, connect=10, sock_read=read_timeout)
    return aiohttp.ClientSession(timeout=timeout, raise_for_status=False)


async def answer(response: aiohttp.ClientResponse) -> Any:
    """The JSON body of a 2xx answer; any other status raises `ApiError` with the server's words."""
    text = await response.text(errors="replace")
    if response.status >= 400:
        raise _api_error(response.status, response.reason or "", text)
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        raise CommandError(
            f"the server at {response.url.origin()} answered {response.status} with a body "
            "that is not JSON; is --url a provisio server?"
        ) from None


def _api_error(status: int, reason: str, text: str) -> ApiError:
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        body = None
    if isinstance(body, Mapping) and "message" in body:
        details = body.get("details")
        problems = [Problem.of(entry) for entry in details] if isinstance(details, list) else []
        return ApiError(status, f"{status} {reason}: {body['message']}", problems)
    snippet = " ".join(text.split())[:200]
    return ApiError(status, f"{status} {reason}" + (f": {snippet}" if snippet else ""))


def report(message: str, problems: Iterable[Problem] = ()) -> None:
    """Print an error and its problems to stderr."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    for problem in problems:
        err.print(escape(problem.line()))


def fail(message: str, problems: Iterable[Problem] = ()) -> NoReturn:
    report(message, problems)
    raise typer.Exit(1)


def run(
    main: Coroutine[Any, Any, T],
    *,
    url: str,
    on_interrupt: Callable[[], NoReturn] | None = None,
) -> T:
    """Run a command's coroutine; turn every expected failure into a message and an exit code.

    Ctrl-C cancels the coroutine (so its sessions and files close) and then calls `on_interrupt`,
    or exits with code 130.
    """
    try:
        return asyncio.run(main)
    except CommandError as error:
        fail(error.message, error.problems)
    except aiohttp.InvalidURL:
        fail(f"{url!r} is not a valid URL (expected e.g. {DEFAULT_URL})")
    except aiohttp.ClientConnectorError as error:
        fail(f"cannot connect to {url}: {connection_reason(error)}; is the server running?")
    except aiohttp.ClientError as error:
        fail(f"the request to {url} failed: {error or type(error).__name__}")
    except TimeoutError:
        fail(f"{url} did not answer in time")
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt()
        err.print("interrupted")
        raise typer.Exit(INTERRUPTED) from None


def connection_reason(error: aiohttp.ClientConnectorError) -> str:
    cause = error.os_error
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return f"unknown host {error.host!r}"
    reason = cause.strerror or str(cause) or type(cause).__name__
    return reason[0].lower() + reason[1:]
