"""The `provisio` command line, run as a user would."""

import asyncio
import json
import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provisio.cli.main import app
from provisio.service import tenancy
from provisio.store.unit_of_work import Store
from tests.processes import demo_server
from tests.support import SCHEMAS

runner = CliRunner()


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/cli.db"


def test_bootstrap_json_prints_a_working_token(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    result = runner.invoke(
        app,
        [
            "admin",
            "bootstrap",
            "--company",
            "Acme",
            "--org",
            "Lobby",
            "--json",
            "--database-url",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert set(made) == {"companyUid", "organizationUid", "accountId", "token"}

    async def check() -> tenancy.Principal:
        store = Store.open(url)
        try:
            return await tenancy.authenticate(store, made["token"])
        finally:
            await store.close()

    principal = asyncio.run(check())
    assert principal.organization_uid == made["organizationUid"]
    assert principal.company_uid == made["companyUid"]


def test_account_token_acts_on_the_company(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    made = json.loads(
        runner.invoke(
            app,
            ["admin", "bootstrap", "--company", "A", "--org", "B", "--json", "--database-url", url],
        ).output
    )
    result = runner.invoke(
        app,
        ["admin", "account-token", "--account-id", str(made["accountId"]), "--database-url", url],
    )
    assert result.exit_code == 0, result.output
    missing = runner.invoke(
        app, ["admin", "account-token", "--account-id", "999", "--database-url", url]
    )
    assert missing.exit_code != 0
    assert "no account 999" in missing.output


def test_schema_export_writes_the_committed_schemas(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    assert written == {p.name: p.read_text() for p in SCHEMAS.glob("*.json")}


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["migrate", "--database-url", _sqlite(tmp_path)])
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["migrate"],
        ["admin", "bootstrap"],
        ["admin", "account-token"],
        ["schema", "export"],
        ["recipes"],
        ["recipes", "import"],
        ["events"],
        ["events", "tail"],
        ["simulate"],
        ["simulate", "fleet"],
        ["simulate", "devices"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_serve_demo_prints_a_curl_that_works(tmp_path: Path) -> None:
    """A new user's first minute: start the demo, paste the printed curls, get a recipe and a
    provisioned device."""
    with demo_server(_sqlite(tmp_path)) as output:
        curls = re.findall(r"^\s*(curl .*?)(?=^\S|^\s*curl|\Z)", output, flags=re.M | re.S)
        create = next(c for c in curls if "-X POST" in c)
        answer = subprocess.run(
            ["bash", "-c", create], capture_output=True, text=True, timeout=30, check=True
        )
        recipe = json.loads(answer.stdout)
        assert recipe["status"] == "Pending"
        assert recipe["serialNumber"] == "SN-0001"
        read = next(c for c in curls if "event-stream" in c)
        events = json.loads(
            subprocess.run(["bash", "-c", read], capture_output=True, text=True, timeout=30).stdout
        )
        assert events == [] or events[0]["event"]["type"] == "Device.ProvisioningRecipeCreated"
        register = next(c for c in curls if "/v1/device/register" in c)
        registration = json.loads(
            subprocess.run(
                ["bash", "-c", register], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        )
        assert (registration["provisioned"], registration["recipeUid"]) == (True, recipe["uid"])


def test_serve_demo_keeps_its_device_key_across_restarts(tmp_path: Path) -> None:
    """Devices configured with the demo's key must still register after a restart."""
    with demo_server(_sqlite(tmp_path)) as first:
        assert "token" in first
        key = re.search(r"device key\s+(\S+)", first)
        assert key is not None, first
    with demo_server(_sqlite(tmp_path)) as again:
        assert "database already set up" in again
        same = re.search(r"device key\s+(\S+)", again)
        assert same is not None, again
        assert same.group(1) == key.group(1)
    stored = tmp_path / "cli.db.device-key"
    assert stored.read_text().strip() == key.group(1)
    assert stored.stat().st_mode & 0o077 == 0  # readable by its owner only
