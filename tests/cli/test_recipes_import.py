"""`provisio recipes import` against a real server: what is stored, what is reported, exit codes."""

from pathlib import Path

import pytest
from rich.filesize import decimal
from typer.testing import Result

from provisio.cli.recipes import CHUNK_BYTES
from tests.cli.conftest import StartServer
from tests.cli.live import LiveServer, free_port, invoke, words

GOOD = """brand,model,serialNumber,macAddress,deviceName,tagUids
samsung,QM55R,SN-1,,Lobby,
lg,,LG-2,,Kitchen,
android,,,aa-bb-cc-dd-ee-01,Door,
raspberrypi,Raspberry Pi 5,,aabb.ccdd.ee02,"Hall, left",
"""

# Row 2: a MAC that is not one; row 4: samsung needs a serial number; row 5: both wrong.
BAD = """brand,serialNumber,macAddress,deviceName
samsung,SN-1,,Lobby
android,,not-a-mac,Door
lg,LG-2,,Kitchen
samsung,,,Nowhere
android,,zz:zz,Nowhere either
"""


def _csv(tmp_path: Path, text: str, name: str = "recipes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _import(server: LiveServer, path: Path, *options: str) -> Result:
    return invoke(
        "recipes",
        "import",
        str(path),
        "--url",
        server.url,
        "--token",
        server.tenant.token,
        *options,
    )


def test_import_stores_every_row_of_a_good_csv(server: LiveServer, tmp_path: Path) -> None:
    result = _import(server, _csv(tmp_path, GOOD))
    assert result.exit_code == 0, result.output
    assert "created 4 recipe(s)" in result.stdout
    stored = {r["deviceName"]: r for r in server.recipes()}
    assert set(stored) == {"Lobby", "Kitchen", "Door", "Hall, left"}
    assert stored["Door"]["macAddress"] == "AA:BB:CC:DD:EE:01"
    assert stored["Lobby"]["model"] == "QM55R"
    assert {r["status"] for r in stored.values()} == {"Pending"}


def test_atomic_import_reports_every_bad_row_and_stores_nothing(
    server: LiveServer, tmp_path: Path
) -> None:
    result = _import(server, _csv(tmp_path, BAD))
    assert result.exit_code == 1, result.output
    assert "3 bad row(s); nothing was stored" in result.output
    lines = result.output.splitlines()
    assert any("row 2" in line and "macAddress" in line for line in lines), result.output
    assert any("row 4" in line and "serialNumber" in line for line in lines), result.output
    assert any("row 5" in line and "macAddress" in line for line in lines), result.output
    assert not any("row 1 " in line or "row 3 " in line for line in lines), result.output
    assert "Traceback" not in result.output
    assert server.recipes() == []


def test_partial_import_stores_the_good_rows_and_reports_the_bad(
    server: LiveServer, tmp_path: Path
) -> None:
    result = _import(server, _csv(tmp_path, BAD), "--mode", "partial")
    assert result.exit_code == 1, result.output
    assert "created 2 recipe(s)" in result.stdout
    assert "3 row(s) were not stored" in result.stderr
    for row, field in [(2, "macAddress"), (4, "serialNumber"), (5, "macAddress")]:
        assert any(f"row {row}" in line and field in line for line in result.stderr.splitlines())
    assert sorted(r["deviceName"] for r in server.recipes()) == ["Kitchen", "Lobby"]


def test_an_import_with_more_bad_rows_than_are_listed_reports_their_count(
    server: LiveServer, tmp_path: Path
) -> None:
    text = "brand,serialNumber\nlg,LG-1\n" + "samsung,\n" * 1200
    result = _import(server, _csv(tmp_path, text), "--mode", "partial")
    assert result.exit_code == 1, result.output
    assert "created 1 recipe(s)" in result.stdout
    assert "1200 row(s) were not stored (the first 1000 are listed)" in result.stderr


def test_a_second_import_of_the_same_rows_is_refused_row_by_row(
    server: LiveServer, tmp_path: Path
) -> None:
    path = _csv(tmp_path, GOOD)
    assert _import(server, path).exit_code == 0
    again = _import(server, path, "--mode", "partial")
    assert again.exit_code == 1
    assert "created 0 recipe(s)" in again.stdout
    assert again.stderr.count("already claims") == 4
    assert len(server.recipes()) == 4


def test_a_csv_with_an_unknown_column_is_refused_with_the_servers_reasons(
    server: LiveServer, tmp_path: Path
) -> None:
    result = _import(server, _csv(tmp_path, "brand,colour\nsamsung,red\n"))
    assert result.exit_code == 1
    assert "error: 422 Unprocessable Entity: invalid CSV header" in result.stderr
    assert "colour: is not a recipe column" in result.stderr
    assert server.recipes() == []


def test_the_progress_bar_counts_the_bytes_of_a_file_sent_in_many_chunks(
    server: LiveServer, tmp_path: Path
) -> None:
    path = tmp_path / "fleet.csv"
    assert invoke("simulate", "fleet", "--count", "3000", "--out", str(path)).exit_code == 0
    size = path.stat().st_size
    assert size > 2 * CHUNK_BYTES
    result = _import(server, path)
    assert result.exit_code == 0, result.output
    number, unit = decimal(size).split()
    assert "uploaded" in result.stderr
    assert f"{number}/{number} {unit}" in result.stderr  # every byte of the file went out
    assert len(server.recipes()) == 3000


def test_import_with_a_wrong_token_is_a_clear_error(server: LiveServer, tmp_path: Path) -> None:
    result = invoke(
        "recipes", "import", str(_csv(tmp_path, GOOD)), "--url", server.url, "--token", "x:y"
    )
    assert result.exit_code == 1
    assert "error: 401 Unauthorized: invalid token" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    assert server.recipes() == []


def test_import_of_a_file_over_the_servers_limit_shows_its_message(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(max_bulk_bytes=100)
    result = _import(server, _csv(tmp_path, GOOD * 2))
    assert result.exit_code == 1
    assert "413 Request Entity Too Large: request body exceeds 100 bytes" in result.stderr
    assert server.recipes() == []


def test_an_account_token_names_the_organization(server: LiveServer, tmp_path: Path) -> None:
    account = invoke(
        "admin",
        "account-token",
        "--account-id",
        str(server.tenant.account_id),
        "--database-url",
        server.database_url,
    )
    assert account.exit_code == 0, account.output
    token = account.stdout.strip()
    path = _csv(tmp_path, GOOD)
    args = ["recipes", "import", str(path), "--url", server.url, "--token", token]
    named = invoke(*args, "--organization-uid", server.tenant.organization_uid)
    assert named.exit_code == 0, named.output
    assert len(server.recipes()) == 4


@pytest.mark.parametrize(
    "command",
    [
        ["recipes", "import", "{csv}", "--token", "x:y"],
        ["events", "tail", "--token", "x:y"],
        ["simulate", "devices", "--from", "{csv}", "--device-key", "k"],
    ],
    ids=["recipes import", "events tail", "simulate devices"],
)
def test_commands_say_clearly_when_the_server_is_unreachable(
    command: list[str], tmp_path: Path
) -> None:
    csv = str(_csv(tmp_path, GOOD))
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = invoke(*[csv if arg == "{csv}" else arg for arg in command], "--url", url)
    assert result.exit_code == 1
    assert f"error: cannot connect to {url}: connection refused; is the server running?" in (
        result.stderr
    )
    assert "Traceback" not in result.output


def test_a_url_without_a_scheme_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(
        "recipes", "import", str(_csv(tmp_path, GOOD)), "--token", "x:y", "--url", "localhost:8080"
    )
    assert result.exit_code == 2
    assert "'localhost:8080' is not an http(s) URL" in words(result.output)
