"""`provisio events tail`: follow a running server's event feed (or, with `--nats`, the JetStream
stream provisio publishes it to), one JSON line per event."""

import asyncio
import json
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn

import aiohttp
import typer
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from rich.markup import escape

from provisio.cli.client import (
    DEFAULT_URL,
    ApiError,
    CommandError,
    OrganizationOption,
    UrlOption,
    answer,
    auth_headers,
    endpoint,
    err,
    run,
    session,
)
from provisio.domain.events import EVENT_TYPES
from provisio.nats.stream import (
    STREAM,
    SUBJECT_PREFIX,
    connect,
    event_type_of,
    filter_subject,
    redact,
)

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
    """Where the feed (or the stream) has been read up to; `after` continues from the last event
    printed."""

    after: int
    printed: int = 0

    def print(self, key: str, at: int, envelope: Any) -> None:
        """One JSON line: {key: at, "event": envelope}."""
        typer.echo(
            json.dumps({key: at, "event": envelope}, separators=(",", ":"), ensure_ascii=False)
        )
        self.after = at
        self.printed += 1


@dataclass
class Outage:
    """Backoff, and the notes a follower prints while what it follows is away."""

    what: str
    delay: float = 0.0

    async def wait(self, error: Exception) -> None:
        self.delay = min(max(1.0, self.delay * 2), MAX_RETRY_DELAY)
        err.print(f"[yellow]{self.what} unavailable ({_why(error)}); retrying in {self.delay:g} s")
        await asyncio.sleep(self.delay)

    def over(self) -> None:
        if self.delay:
            err.print("[green]reconnected")
            self.delay = 0.0


@app.command()
def tail(
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="PROVISIO_TOKEN",
            help="An API token, tokenId:tokenSecret (PROVISIO_TOKEN); sent as X-Auth. "
            "Not used with --nats.",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    nats: Annotated[
        str | None,
        typer.Option(
            "--nats",
            metavar="URL",
            help="Follow the JetStream stream on this NATS server (e.g. nats://127.0.0.1:4222) "
            "instead of the HTTP feed.",
            show_default=False,
        ),
    ] = None,
    stream: Annotated[str, typer.Option(help="With --nats: the stream to follow.")] = STREAM,
    subject_prefix: Annotated[
        str, typer.Option(help="With --nats: the stream's subject prefix.")
    ] = SUBJECT_PREFIX,
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
        int,
        typer.Option(
            min=0,
            help="Start after this feed position (with --nats: this stream sequence); "
            "0: from the beginning.",
        ),
    ] = 0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per request (HTTP).")] = 100,
    count: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after printing this many events.", show_default=False),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(min=0, max=60, help="Seconds each request long-polls for news (HTTP)."),
    ] = 20.0,
    organization_uid: OrganizationOption = None,
) -> None:
    """Follow the feed: print each event as one JSON line, {"position": n, "event": envelope}.

    With --nats, follow provisio's JetStream stream instead (every organization's events unless
    --organization-uid narrows them; no token needed): {"sequence": n, "event": envelope}, n
    being the stream sequence.

    Runs until Ctrl-C (or until --count events were printed). Progress notes and the position to
    resume from (--after) go to stderr, so stdout can be piped, e.g. into `jq`. If the server goes
    away after the first answer, the command keeps retrying until it is back.
    """
    cursor = Cursor(after)
    key = "position" if nats is None else "sequence"

    def stopped() -> NoReturn:
        err.print(f"stopped after {key} {cursor.after}; continue with --after {cursor.after}")
        raise typer.Exit(0)

    if nats is not None:
        subjects = Subjects(stream, subject_prefix, organization_uid, types or [])
        run(_follow_stream(nats, subjects, cursor, count), url=redact(nats), on_interrupt=stopped)
        return
    if token is None:
        raise typer.BadParameter("an API token is needed to read the feed", param_hint="--token")
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
    outage = Outage("feed")
    reached = False
    async with session(read_timeout=wait + 30) as client:
        while count is None or cursor.printed < count:
            query = [("after", str(cursor.after)), *params]
            try:
                page = await _read(client, url, token, query)
            except (aiohttp.ClientConnectionError, TimeoutError, _Unavailable) as error:
                if not reached and not isinstance(error, _Unavailable):
                    raise  # never reached the server: say so instead of waiting forever
                await outage.wait(error)
                continue
            reached = True
            outage.over()
            for item in page:
                cursor.print("position", int(item["position"]), item["event"])
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


@dataclass(frozen=True)
class Subjects:
    """What to follow on NATS: a stream, and the events of it wanted."""

    stream: str
    prefix: str
    organization_uid: str | None
    types: list[str]

    def wanted(self, msg: Msg) -> bool:
        """nats-server 2.9 filters on one subject: several types are picked out here."""
        return len(self.types) < 2 or event_type_of(self.prefix, msg.subject) in self.types


class _Lost(Exception):
    """The connection to NATS ended."""


async def _follow_stream(
    server: str, subjects: Subjects, cursor: Cursor, count: int | None
) -> None:
    """An ordered consumer from the sequence after `cursor.after`; after a lost connection, a
    new one continues from the last sequence printed."""
    outage = Outage("stream")
    reached = False
    while True:
        try:
            nc = await connect(server, name="provisio-events-tail", on_error=_ignore)
        except (NatsError, OSError, TimeoutError) as error:
            if not reached:  # never reached the server: say so instead of waiting forever
                raise CommandError(
                    f"cannot connect to NATS at {redact(server)}: {_why(error)}"
                ) from None
            await outage.wait(error)
            continue
        try:
            reached = True
            await _print_stream(nc, subjects, cursor, count, outage)
            return
        except NotFoundError:
            raise CommandError(
                f"NATS at {redact(server)} has no stream {subjects.stream!r}; "
                "is provisio publishing there (PROVISIO_NATS_URL)?"
            ) from None
        except (NatsError, OSError, TimeoutError, _Lost) as error:
            await outage.wait(error)
        finally:
            await nc.close()


async def _print_stream(
    nc: Client, subjects: Subjects, cursor: Cursor, count: int | None, outage: Outage
) -> None:
    """Print until --count is reached; `_Lost` when the connection ends first."""
    subscription = await nc.jetstream().subscribe(
        filter_subject(subjects.prefix, subjects.organization_uid, subjects.types),
        stream=subjects.stream,
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=cursor.after + 1
        ),
    )
    outage.over()
    while count is None or cursor.printed < count:
        try:
            msg = await subscription.next_msg(timeout=1)
        except TimeoutError:
            if nc.is_closed:
                raise _Lost("connection closed") from None
            continue
        sequence = msg.metadata.sequence.stream
        if subjects.wanted(msg):
            cursor.print("sequence", sequence, json.loads(msg.data))
        else:
            cursor.after = sequence


async def _ignore(error: Exception) -> None:
    """nats-py reports each failed attempt here; the follower says what matters once."""


def _why(error: Exception) -> str:
    """The error as text for rich (its brackets are not markup)."""
    return escape(str(error) or type(error).__name__)
