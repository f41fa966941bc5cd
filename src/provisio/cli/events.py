"""`provisio events tail`: follow a running server's event feed, one JSON line per event."""

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import aiohttp
import typer
from rich.markup import escape

from provisio.cli.client import (
    DEFAULT_URL,
    ApiError,
    OrganizationOption,
    TokenOption,
    UrlOption,
    answer,
    auth_headers,
    endpoint,
    err,
    run,
    session,
)
from provisio.domain.events import EVENT_TYPES

app = typer.Typer(
    help="The event feed of a running server.", no_args_is_help=True, rich_markup_mode="markdown"
)

FEED_PATH = "/v1/event-stream/events"
MAX_RETRY_DELAY = 30.0


def _known_types(types: list[str] | None) -> list[str]:
    for name in types or []:
        if name not in EVENT_TYPES:
            raise typer.BadParameter(
                f"{name!r} is not an event type; one of {', '.join(EVENT_TYPES)}"
            )
    return types or []


@dataclass
class Cursor:
    """Where the feed has been read up to; `after` continues from the last event printed."""

    after: int
    printed: int = 0


@app.command()
def tail(
    token: TokenOption,
    url: UrlOption = DEFAULT_URL,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            callback=_known_types,
            help="Only events of this type (repeat for several), e.g. "
            "Device.ProvisioningRecipeUpdated.",
            show_default=False,
        ),
    ] = None,
    after: Annotated[
        int, typer.Option(min=0, help="Start after this feed position (0: from the beginning).")
    ] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per request.")] = 100,
    count: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after printing this many events.", show_default=False),
    ] = None,
    wait: Annotated[
        float, typer.Option(min=0, max=60, help="Seconds each request long-polls for news.")
    ] = 20.0,
    organization_uid: OrganizationOption = None,
) -> None:
    """Follow the feed: print each event as one JSON line, {"position": n, "event": envelope}.

    Runs until Ctrl-C (or until --count events were printed). Progress notes and the position to
    resume from (--after) go to stderr, so stdout can be piped, e.g. into `jq`. If the server goes
    away after the first answer, the command keeps retrying until it is back.
    """
    cursor = Cursor(after)

    def stopped() -> NoReturn:
        err.print(f"stopped after position {cursor.after}; continue with --after {cursor.after}")
        raise typer.Exit(0)

    params: list[tuple[str, str]] = [("limit", str(limit)), ("wait", f"{wait:g}")]
    params += [("type", name) for name in types or []]
    if organization_uid:
        params.append(("organizationUid", organization_uid))
    # Ctrl-C is the normal way to stop following: exit 0, say where to resume.
    run(_follow(url, token, params, cursor, count, wait), url=url, on_interrupt=stopped)


async def _follow(
    url: str,
    token: str,
    params: list[tuple[str, str]],
    cursor: Cursor,
    count: int | None,
    wait: float,
) -> None:
    retry_delay = 0.0
    reached = False
    async with session(read_timeout=wait + 30) as client:
        while count is None or cursor.printed < count:
            query = [("after", str(cursor.after)), *params]
            try:
                page = await _read(client, url, token, query)
            except (aiohttp.ClientConnectionError, TimeoutError, _Unavailable) as error:
                if not reached and not isinstance(error, _Unavailable):
                    raise  # never reached the server: say so instead of waiting forever
                retry_delay = min(max(1.0, retry_delay * 2), MAX_RETRY_DELAY)
                err.print(
                    f"[yellow]feed unavailable ({_why(error)}); retrying in {retry_delay:g} s"
                )
                await asyncio.sleep(retry_delay)
                continue
            reached = True
            if retry_delay:
                err.print("[green]reconnected")
                retry_delay = 0.0
            for item in page:
                typer.echo(json.dumps(item, separators=(",", ":"), ensure_ascii=False))
                cursor.after = int(item["position"])
                cursor.printed += 1
                if count is not None and cursor.printed >= count:
                    return


class _Unavailable(Exception):
    """The server answered 5xx: worth another try."""


async def _read(
    client: aiohttp.ClientSession, url: str, token: str, query: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    async with client.get(
        endpoint(url, FEED_PATH), params=query, headers=auth_headers(token)
    ) as response:
        try:
            page = await answer(response)
        except ApiError as error:
            if error.status >= 500:
                raise _Unavailable(error.message) from None
            raise
    if not isinstance(page, list):
        raise _Unavailable("the answer is not a list of events")
    return page


def _why(error: Exception) -> str:
    """The error as text for rich (its brackets are not markup)."""
    return escape(str(error) or type(error).__name__)
