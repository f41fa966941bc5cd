"""`provisio recipes import`: stream a recipes CSV to a running server's bulk endpoint."""

import asyncio
import os
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from provisio.cli.client import (
    DEFAULT_URL,
    CommandError,
    OrganizationOption,
    Problem,
    TokenOption,
    UrlOption,
    answer,
    auth_headers,
    endpoint,
    err,
    out,
    report,
    run,
    session,
)

app = typer.Typer(
    help="Provisioning recipes on a running server.",
    no_args_is_help=True,
)

CHUNK_BYTES = 64 * 1024
BULK_PATH = "/v1/provisioning-recipe/bulk"


class Mode(StrEnum):
    atomic = "atomic"
    partial = "partial"


@app.command("import")
def import_csv(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="The recipes CSV (header row first)."
        ),
    ],
    token: TokenOption,
    url: UrlOption = DEFAULT_URL,
    mode: Annotated[
        Mode,
        typer.Option(help="atomic: any bad row stores nothing; partial: the good rows are stored."),
    ] = Mode.atomic,
    organization_uid: OrganizationOption = None,
) -> None:
    """Upload FILE to the bulk endpoint as a stream and report every row that was refused.

    Exit code 0 when every row was stored, 1 when any row was refused or the request failed.
    """
    with file.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        result = run(_upload(stream, size, url, token, mode, organization_uid), url=url)
    created = int(result.get("created", 0))
    failed = [Problem.of(entry) for entry in result.get("failed") or []]
    out.print(f"[green]created {created} recipe(s)[/] from {escape(str(file))}")
    if failed:
        listed = len({problem.row for problem in failed})
        rows = int(result.get("failedCount", listed))  # the answer lists the first 1,000 only
        more = f" (the first {listed} are listed)" if rows > listed else ""
        report(f"{rows} row(s) were not stored{more}", failed)
        raise typer.Exit(1)


async def _upload(
    stream: BinaryIO, size: int, url: str, token: str, mode: Mode, organization_uid: str | None
) -> dict[str, Any]:
    """POST the file as a stream of chunks, `size` bytes in all; the bar follows the chunks sent."""
    params = {"mode": mode.value}
    if organization_uid:
        params["organizationUid"] = organization_uid
    headers = {
        **auth_headers(token),
        "Content-Type": "text/csv",
        "Content-Length": str(size),
    }
    columns = (
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
    )
    # The server answers once it has checked every row: no read timeout for that answer.
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("uploading", total=size)

        async def chunks() -> AsyncIterator[bytes]:
            left = size
            while left > 0:
                chunk = await asyncio.to_thread(stream.read, min(CHUNK_BYTES, left))
                if not chunk:
                    raise CommandError("the file got shorter while it was being sent")
                yield chunk  # resumed once aiohttp has written it
                left -= len(chunk)
                progress.advance(task, len(chunk))
            progress.update(task, description="sent; the server is checking the rows")

        async with (
            session(read_timeout=None) as client,
            client.post(
                endpoint(url, BULK_PATH), params=params, headers=headers, data=chunks()
            ) as response,
        ):
            body = await answer(response)
        progress.update(task, description="uploaded")
    if not isinstance(body, dict):
        raise CommandError(f"the answer of {url} is not a bulk result; is it a provisio server?")
    return body
