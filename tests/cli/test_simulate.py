"""`provisio simulate fleet` and `provisio simulate devices` against a real server."""

import csv
import io
import re
from pathlib import Path

from typer.testing import Result

from provisio.cli.fleet import BRANDS, HEADER, fleet_rows
from provisio.domain.brands import DEFAULT_BRAND_RULES, BrandRules, Requirement
from tests.cli.conftest import StartServer
from tests.cli.live import LiveServer, invoke, words

MAC = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")
KEY = "fleet-device-key"


def test_fleet_rows_are_unique_deterministic_and_pass_the_brand_rules() -> None:
    rows = list(fleet_rows(5000, seed=3))
    assert rows == list(fleet_rows(5000, seed=3))
    assert rows != list(fleet_rows(5000, seed=4))
    assert set(BRANDS) == set(DEFAULT_BRAND_RULES)  # the generator knows every default brand
    assert {row[0] for row in rows} == set(BRANDS)
    serials = [(brand, serial.upper()) for brand, _, serial, _, _ in rows if serial]
    macs = [mac for _, _, _, mac, _ in rows if mac]
    assert len(serials) + len(macs) == len(rows)
    assert len(set(serials)) == len(serials)
    assert len(set(macs)) == len(macs)
    rules = BrandRules()
    for brand, model, serial, mac, name in rows:
        rules.check(brand, serial or None, mac or None)  # raises if the server would refuse it
        needs_serial = DEFAULT_BRAND_RULES[brand] is Requirement.SERIAL_NUMBER
        assert bool(serial) is needs_serial
        assert not mac or MAC.match(mac)
        assert model in BRANDS[brand].models
        assert name


def test_simulate_fleet_writes_a_csv_the_server_imports_whole(
    server: LiveServer, tmp_path: Path
) -> None:
    path = tmp_path / "fleet.csv"
    made = invoke("simulate", "fleet", "--count", "1000", "--out", str(path), "--seed", "7")
    assert made.exit_code == 0, made.output
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == ",".join(HEADER) == "brand,model,serialNumber,macAddress,deviceName"
    assert len(lines) == 1001
    again = tmp_path / "again.csv"
    rerun = invoke("simulate", "fleet", "--count", "1000", "--out", str(again), "--seed", "7")
    assert rerun.exit_code == 0, rerun.output
    assert again.read_text() == text

    result = invoke(
        "recipes", "import", str(path), "--url", server.url, "--token", server.tenant.token
    )
    assert result.exit_code == 0, result.output
    assert "created 1000 recipe(s)" in result.stdout
    stored = server.recipes()
    assert len(stored) == 1000
    assert {r["brand"] for r in stored} == set(BRANDS)


def test_simulate_fleet_writes_to_stdout_with_the_chosen_brands() -> None:
    result = invoke("simulate", "fleet", "--count", "50", "--brand", "lg", "--brand", "android")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 50
    assert {row["brand"] for row in rows} == {"lg", "android"}
    unknown = invoke("simulate", "fleet", "--brand", "nokia")
    assert unknown.exit_code == 2
    assert "'nokia' is not one of samsung" in words(unknown.output)


def _fleet(tmp_path: Path, count: int) -> tuple[Path, list[str]]:
    path = tmp_path / "fleet.csv"
    result = invoke("simulate", "fleet", "--count", str(count), "--out", str(path), "--seed", "11")
    assert result.exit_code == 0, result.output
    return path, path.read_text().splitlines(keepends=True)


def _import(server: LiveServer, path: Path) -> None:
    result = invoke(
        "recipes", "import", str(path), "--url", server.url, "--token", server.tenant.token
    )
    assert result.exit_code == 0, result.output


def _simulate(server: LiveServer, path: Path, *options: str) -> Result:
    return invoke("simulate", "devices", "--from", str(path), "--url", server.url, *options)


def test_simulate_devices_provisions_every_device_that_has_a_recipe(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(device_key=KEY)
    devices, lines = _fleet(tmp_path, 200)
    recipes = tmp_path / "recipes.csv"
    recipes.write_text("".join(lines[:-10]))  # the last 10 devices have no recipe
    _import(server, recipes)

    result = _simulate(server, devices, "--device-key", KEY, "--concurrency", "50")
    assert result.exit_code == 0, result.output
    summary = words(result.stdout)
    for expected in ("registered 200", "provisioned 190", "unpaired (no matching recipe) 10"):
        assert expected in summary, result.stdout
    assert "errors 0" in summary
    applied = server.recipes(status="Applied")
    assert len(applied) == 190
    assert all(recipe.get("deviceUid") for recipe in applied)
    assert server.recipes(status="Pending") == []

    again = _simulate(server, devices, "--device-key", KEY)  # registering is idempotent
    assert again.exit_code == 0, again.output
    assert "provisioned 190" in words(again.stdout)
    assert len(server.recipes(status="Applied")) == 190


def test_simulate_devices_reports_the_rows_the_server_refuses(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(device_key=KEY)
    devices = tmp_path / "devices.csv"
    devices.write_text(
        "brand,serialNumber,macAddress\nsamsung,SN-1,\nandroid,,not-a-mac\nlg,LG-1,\n"
    )
    result = _simulate(server, devices, "--device-key", KEY)
    assert result.exit_code == 1
    assert "registered 2" in words(result.stdout)
    assert "errors 1" in words(result.stdout)
    assert "1 device(s) could not register" in result.stderr
    assert re.search(r"row 2 .*422 .*macAddresses", result.stderr), result.stderr


def test_simulate_devices_with_a_wrong_key_stops_and_registers_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(device_key=KEY)
    devices, _ = _fleet(tmp_path, 30)
    _import(server, devices)

    result = _simulate(server, devices, "--device-key", "not-the-key")
    assert result.exit_code == 1
    assert "error: the server refused the device key" in result.stderr
    assert "check --device-key" in result.stderr
    assert "Traceback" not in result.output
    assert server.recipes(status="Applied") == []
    assert server.ok("GET", "/v1/device") == []
