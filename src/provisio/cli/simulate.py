"""`provisio simulate`: make a fleet's recipes CSV, and register its devices like device agents."""

import asyncio
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from provisio.cli.client import (
    DEFAULT_URL,
    ApiError,
    CommandError,
    Problem,
    UrlOption,
    answer,
    endpoint,
    err,
    out,
    report,
    run,
    session,
)
from provisio.cli.fleet import BRANDS, HEADER, fleet_rows

app = typer.Typer(
    help="Try provisio with a made-up fleet: its recipes CSV, and its devices registering.",
    no_args_is_help=True,
)

REGISTER_PATH = "/v1/device/register"
FIRMWARE: dict[str, str] = {
    "samsung": "T-KTM2ELAKUC-2340.5",
    "lg": "webOS 6.3.1-0416",
    "philips": "FB02.12.10",
    "sony": "PKG6.7080.0301",
    "brightsign": "9.0.145",
    "android": "11 (RP1A.201005.001)",
    "raspberrypi": "2024-07-04 (bookworm)",
    "linux": "Ubuntu 24.04.1 LTS",
    "windows": "10.0.19045",
}
DEFAULT_FIRMWARE = "1.0.0"
KEY_REFUSED = (401, 403)
NO_ENDPOINT = (404, 405)


def _known_brands(brands: list[str] | None) -> list[str]:
    for name in brands or []:
        if name not in BRANDS:
            raise typer.BadParameter(f"{name!r} is not one of {', '.join(BRANDS)}")
    return brands or []


@app.command()
def fleet(
    count: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many devices.")] = 1000,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="The CSV file to write (default: stdout)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="The same seed writes the same fleet.")] = 1,
    brands: Annotated[
        list[str] | None,
        typer.Option(
            "--brand",
            metavar="BRAND",
            callback=_known_brands,
            help=f"Only this brand (repeat for several); default a mix of {', '.join(BRANDS)}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a recipes CSV for a made-up fleet (brand,model,serialNumber,macAddress,deviceName).

    Serial-number brands (samsung, lg, …) get serial numbers and MAC brands (android,
    raspberrypi, …) get MAC addresses, as the server's brand rules require; every identifier is
    unique and the same seed always gives the same file. Import it with `provisio recipes import`
    and register its devices with `provisio simulate devices`.
    """
    rows = fleet_rows(count, seed=seed, brands=brands or ())
    if out_path is None:
        _write_csv(sys.stdout, rows)
        return
    with out_path.open("w", newline="", encoding="utf-8") as stream:
        _write_csv(stream, rows)
    err.print(f"wrote {count} devices to {escape(str(out_path))}")


def _write_csv(stream: Any, rows: Iterator[tuple[str, ...]]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)


@dataclass(frozen=True)
class Device:
    """One CSV row as the body a device agent sends to register."""

    row: int
    body: dict[str, Any]


@dataclass
class Tally:
    registered: int = 0
    provisioned: int = 0
    unpaired: int = 0
    errors: list[Problem] = field(default_factory=list)

    def count(self, answer: Any) -> None:
        self.registered += 1
        if not isinstance(answer, dict):
            return
        if answer.get("provisioned"):  # the device belongs to an organization
            self.provisioned += 1
        else:
            self.unpaired += 1


@app.command()
def devices(
    from_file: Annotated[
        Path,
        typer.Option(
            "--from",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A recipes-style CSV: brand, model, serialNumber, macAddress (others ignored).",
        ),
    ],
    device_key: Annotated[
        str,
        typer.Option(
            "--device-key",
            envvar="PROVISIO_DEVICE_KEY",
            help="The fleet's device key (PROVISIO_DEVICE_KEY); sent as X-Device-Key.",
            show_default=False,
        ),
    ],
    url: UrlOption = DEFAULT_URL,
    concurrency: Annotated[
        int, typer.Option(min=1, max=1000, help="Devices registering at the same time.")
    ] = 20,
    firmware_version: Annotated[
        str | None,
        typer.Option(
            "--firmware-version",
            help="Firmware every device reports (default: a plausible one per brand).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Register each row's device (POST /v1/device/register) as its agent would on first boot.

    A device whose recipe matches is provisioned; one without a recipe stays unpaired. Prints how
    many were registered, provisioned (in an organization), unpaired and refused. Exit code 0 when
    every device registered, 1 otherwise; a wrong device key stops at the first answer.
    """
    fleet_devices = _read_devices(from_file, firmware_version)
    tally = run(_register_all(fleet_devices, url, device_key, concurrency), url=url)
    table = Table(title="devices", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("registered", str(tally.registered))
    table.add_row("provisioned", str(tally.provisioned))
    table.add_row("unpaired (no matching recipe)", str(tally.unpaired))
    table.add_row("errors", str(len(tally.errors)))
    out.print(table)
    if tally.errors:
        report(f"{len(tally.errors)} device(s) could not register", tally.errors)
        raise typer.Exit(1)


def _read_devices(path: Path, firmware_version: str | None) -> list[Device]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            records = list(csv.DictReader(stream))
    except (UnicodeDecodeError, csv.Error) as error:
        raise CommandError(f"{path} is not a readable CSV file: {error}") from None
    if records and "brand" not in records[0]:
        raise CommandError(f"{path} has no brand column")
    fleet_devices = []
    for row, record in enumerate(records, start=1):
        cells = {k.strip(): (v or "").strip() for k, v in record.items() if k is not None}
        if not any(cells.values()):
            continue
        body: dict[str, Any] = {"brand": cells.get("brand", "")}
        if cells.get("model"):
            body["model"] = cells["model"]
        if cells.get("serialNumber"):
            body["serialNumber"] = cells["serialNumber"]
        if cells.get("macAddress"):
            body["macAddresses"] = [cells["macAddress"]]
        brand = body["brand"].lower()
        body["firmwareVersion"] = firmware_version or FIRMWARE.get(brand, DEFAULT_FIRMWARE)
        fleet_devices.append(Device(row, body))
    return fleet_devices


async def _register_all(
    fleet_devices: list[Device], url: str, device_key: str, concurrency: int
) -> Tally:
    tally = Tally()
    queue = iter(fleet_devices)
    headers = {"X-Device-Key": device_key}
    columns = (
        TextColumn("[bold]registering[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("register", total=len(fleet_devices))
        async with session(read_timeout=60) as client:

            async def agent() -> None:
                for device in queue:  # shared: each device is taken by exactly one agent
                    try:
                        tally.count(await _register(client, url, headers, device))
                    except ApiError as error:
                        _stop_on_fleet_wide(error)
                        tally.errors.append(_problem(device, error))
                    progress.advance(task)

            agents = [asyncio.create_task(agent()) for _ in range(concurrency)]
            try:
                await asyncio.gather(*agents)
            finally:
                for running in agents:
                    running.cancel()
                await asyncio.gather(*agents, return_exceptions=True)
    tally.errors.sort(key=lambda problem: problem.row or 0)
    return tally


async def _register(
    client: aiohttp.ClientSession, url: str, headers: dict[str, str], device: Device
) -> Any:
    async with client.post(
        endpoint(url, REGISTER_PATH), json=device.body, headers=headers
    ) as response:
        return await answer(response)


def _stop_on_fleet_wide(error: ApiError) -> None:
    """A wrong key or a missing endpoint fails every device alike: stop at the first one."""
    if error.status in KEY_REFUSED:
        raise CommandError(
            f"the server refused the device key ({error.message}); check --device-key "
            "(it must equal the server's PROVISIO_DEVICE_KEY)"
        )
    if error.status in NO_ENDPOINT:
        raise CommandError(
            f"the server has no device registration endpoint {REGISTER_PATH} ({error.message})"
        )


def _problem(device: Device, error: ApiError) -> Problem:
    if error.problems:
        details = "; ".join(
            f"{p.field}: {p.message}" if p.field else p.message for p in error.problems
        )
        return Problem("", f"{error.message} ({details})", device.row)
    return Problem("", error.message, device.row)
