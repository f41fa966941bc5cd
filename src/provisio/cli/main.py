"""`provisio`: serve, worker, migrate, admin and schema commands.

The operator tools that talk to a running server over HTTP live in their own modules:
`recipes import`, `events tail` and `simulate fleet|devices`. The server's machinery (FastAPI,
the store, uvicorn) is imported by the commands that use it, so those tools start quickly.
"""

import asyncio
import json
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from provisio.cli import events, recipes, simulate
from provisio.domain.errors import DomainError
from provisio.domain.events import PAYLOAD_MODELS, envelope_schema

if TYPE_CHECKING:
    from provisio.settings import Settings
    from provisio.store.unit_of_work import Store

app = typer.Typer(
    help="provisio: device provisioning with a signed domain-event stream.",
    no_args_is_help=True,
    rich_markup_mode="markdown",  # help paragraphs are re-wrapped to the terminal's width
)
admin = typer.Typer(help="Administration without the API.", no_args_is_help=True)
schema = typer.Typer(help="The events' JSON Schemas.", no_args_is_help=True)
app.add_typer(admin, name="admin")
app.add_typer(schema, name="schema")
app.add_typer(recipes.app, name="recipes")
app.add_typer(events.app, name="events")
app.add_typer(simulate.app, name="simulate")
console = Console(soft_wrap=True)
T = TypeVar("T")

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Overrides PROVISIO_DATABASE_URL.")
]


def _settings(database_url: str | None) -> "Settings":
    """The process's settings; logging is configured from them once, here."""
    from provisio.logs import configure_logging
    from provisio.settings import Settings

    settings = Settings()
    configure_logging(settings.log_format)
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def _run(settings: "Settings", work: Callable[["Store"], Awaitable[T]]) -> T:
    """Open the store, migrate it, do the work, close it."""
    from provisio.store.migrate import migrate as run_migrations
    from provisio.store.unit_of_work import Store

    async def main() -> T:
        store = Store.open(settings.database_url)
        try:
            await run_migrations(store.backend)
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except DomainError as error:
        console.print(f"[red]error:[/] {error.message}")
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    database_url: DatabaseUrl = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="On an empty database, create a demo tenant and token.")
    ] = False,
    no_background: Annotated[
        bool, typer.Option("--no-background", help="API only: no relay (scale-out API nodes).")
    ] = False,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Do not migrate the database on start.")
    ] = False,
) -> None:
    """Run the HTTP API (and, in embedded mode, the relay)."""
    settings = _settings(database_url)
    if demo:
        if settings.device_key is None:
            settings = settings.model_copy(update={"device_key": _demo_device_key(settings)})
        _run(settings, lambda store: _demo(store, settings, host, port))
    from provisio.api.app import create_app
    from provisio.api.server import Server

    api = create_app(settings, background=not no_background, run_migrations=not no_migrate)
    server = Server(api, host, port)
    server.run()
    if not server.started:
        raise typer.Exit(3)  # uvicorn's exit status for a failed start


def _demo_device_key(settings: "Settings") -> str:
    """The demo's device key, kept next to its SQLite file so that devices configured with it
    still register after a restart (other databases get a new key on each start)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return secrets.token_urlsafe(24)
    path = Path(f"{url.database}.device-key")
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(24)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


async def _demo(store: "Store", settings: "Settings", host: str, port: int) -> None:
    from provisio.service import tenancy

    url = f"http://{host}:{port}"
    async with store.reader() as uow:
        empty = await uow.tenancy.is_empty()
    if not empty:
        console.print(
            f"[bold]provisio[/] on {url} — database already set up; use the token printed at "
            "its first start, or `provisio admin bootstrap` for a new one.\n"
            f"  console       {url}/console/\n"
            f"  device key    {settings.device_key}"
        )
        return
    made = await tenancy.bootstrap(store, "Demo Company", "Demo Organization")
    token = made.token.header
    account = await tenancy.issue_account_token(store, made.account_id, "demo account token")
    console.print(f"""
[bold green]provisio demo[/] on {url}   (API docs: {url}/docs)
  console       {url}/console/   (sign in with the token below)
  organization  {made.organization_uid}
  token         {token}
  account token {account.header}   (organizations and their tokens)
  device key    {settings.device_key}

Try it:
  curl -s -X POST {url}/v1/provisioning-recipe \\
    -H 'X-Auth: {token}' -H 'Content-Type: application/json' \\
    -d '{{"brand": "samsung", "serialNumber": "SN-0001", "deviceName": "Lobby screen"}}'
  curl -s '{url}/v1/event-stream/events' -H 'X-Auth: {token}'

Then register the device as its agent would, and it is provisioned:
  curl -s -X POST {url}/v1/device/register \
    -H 'X-Device-Key: {settings.device_key}' -H 'Content-Type: application/json' \
    -d '{{"brand": "samsung", "serialNumber": "SN-0001"}}'
""")


@app.command()
def worker(database_url: DatabaseUrl = None) -> None:
    """Run the relay and the webhook dispatcher (scale-out worker)."""
    settings = _settings(database_url)
    console.print("provisio worker: relay and dispatcher running (Ctrl-C to stop)")

    from provisio.background import background
    from provisio.collector import freeze_startup

    async def work(store: "Store") -> None:
        # SIGTERM (systemd's stop) ends the worker as gracefully as Ctrl-C: requests in flight
        # are cancelled and their leases released, for the next worker to send at once.
        terminated = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
        freeze_startup()
        async with store.listening(), background(store, settings) as tasks:
            until = asyncio.ensure_future(terminated.wait())
            await asyncio.wait([*tasks, until], return_when=asyncio.FIRST_COMPLETED)
            until.cancel()

    try:
        _run(settings, work)
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def migrate(database_url: DatabaseUrl = None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(database_url)

    async def done(_: "Store") -> None:
        return None

    _run(settings, done)
    console.print("database is up to date")


@admin.command()
def bootstrap(
    company: Annotated[str, typer.Option(help="Company name.")],
    org: Annotated[str, typer.Option(help="First organization's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a company, an organization, an account and an organization token."""
    from provisio.service import tenancy

    made = _run(_settings(database_url), lambda store: tenancy.bootstrap(store, company, org))
    result = {
        "companyUid": made.company_uid,
        "organizationUid": made.organization_uid,
        "accountId": made.account_id,
        "token": made.token.header,
    }
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        console.print(f"{key:16} {value}")
    console.print("The token's secret is shown only now.")


@admin.command("account-token")
def account_token(
    account_id: Annotated[int, typer.Option("--account-id", help="The account (see bootstrap).")],
    name: Annotated[str, typer.Option(help="A name for the token.")] = "account token",
    database_url: DatabaseUrl = None,
) -> None:
    """Issue an account token: it acts on every organization of the account's company."""
    from provisio.service import tenancy

    token = _run(
        _settings(database_url), lambda store: tenancy.issue_account_token(store, account_id, name)
    )
    typer.echo(token.header)


@schema.command("export")
def export_schemas(directory: Path) -> None:
    """Write one JSON Schema file per event type into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    for model in PAYLOAD_MODELS:
        document = envelope_schema(model)
        path = directory / f"{document['title']}.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        console.print(f"wrote {path}")


if __name__ == "__main__":
    app()
