"""No secret in any log line: tracebacks never show local variables, where secrets live, and a
whole run of the server prints none of the secrets it was given or made."""

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import structlog

from provisio.logs import LogFormat, configure_logging
from tests.api.helpers import DEVICES, RECIPES
from tests.cli.live import free_port
from tests.processes import eventually, provisio_json, run_provisio, serving
from tests.support import fetch_rows
from tests.webhooks.receiver import WebhookReceiver

SECRET = "whsec-never-in-a-log-0123456789abcdef"
EXPORTERS = "/v1/event-stream/exporter"
HIDE_EXPORTERS = "ALTER TABLE exporters RENAME TO exporters_hidden"
RESTORE_EXPORTERS = "ALTER TABLE exporters_hidden RENAME TO exporters"


def _fail_holding_a_secret() -> None:
    secret = SECRET
    raise RuntimeError(f"a failure next to a secret of {len(secret)} characters")


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_logged_traceback_shows_no_local_variables(
    log_format: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(log_format)
    try:
        _fail_holding_a_secret()
    except RuntimeError:
        structlog.get_logger("test").exception("dispatcher.bookkeeping_failed")
    out = capsys.readouterr().err
    assert "_fail_holding_a_secret" in out, out  # the traceback is there
    assert "characters" in out
    assert SECRET not in out
    if log_format == "json":
        assert json.loads(out)["event"] == "dispatcher.bookkeeping_failed"


def _exporter(name: str, url: str, secret: str) -> dict[str, Any]:
    return {
        "name": name,
        "subscribedEventTypes": ["Device.ProvisioningRecipeCreated"],
        "enabled": True,
        "config": {
            "configType": "webhook",
            "url": url,
            "auth": {
                "authType": "httpSignedBody",
                "signing": {"algorithm": "HS256", "secret": secret},
            },
        },
    }


def _new_secret(label: str) -> str:
    return f"{label}-{secrets.token_hex(20)}"


async def _attempted(http: httpx.AsyncClient, headers: dict[str, str], exporter: str) -> bool:
    answer = await http.get(f"{EXPORTERS}/{exporter}/deliveries", headers=headers)
    return any(delivery["attempts"] for delivery in answer.json())


@pytest.mark.parametrize("log_format", ["console", "json"])
async def test_a_whole_run_logs_no_secret(
    database_url: str, tmp_path: Path, log_format: LogFormat
) -> None:
    """`provisio serve` through bootstrap, tokens, exporters and their rotation, deliveries that
    succeed and fail, registrations and auth failures with wrong secrets, and a database error:
    none of the secrets it saw is anywhere in what it printed."""
    device_key = _new_secret("device-key")
    env = {
        "PROVISIO_DATABASE_URL": database_url,
        "PROVISIO_LOG_FORMAT": log_format,
        "PROVISIO_DEVICE_KEY": device_key,
        "PROVISIO_WEBHOOK_ALLOW_HTTP": "true",
        "PROVISIO_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROVISIO_RETRY_SCHEDULE": "0,0.2",
        "PROVISIO_RELAY_POLL_INTERVAL": "0.05",
    }
    boot = provisio_json(["admin", "bootstrap", "--company", "A", "--org", "B", "--json"], env)
    account = run_provisio(["admin", "account-token", "--account-id", str(boot["accountId"])], env)
    org_token, account_token = boot["token"], account.strip()
    seen = [device_key, org_token.split(":")[1], account_token.split(":")[1]]
    with serving(env, tmp_path) as (server, url):
        ok, failing, refused = (_new_secret(name) for name in ("ok", "failing", "refused"))
        rotated, lost = _new_secret("rotated"), _new_secret("lost")
        seen += [ok, failing, refused, rotated, lost]
        org = {"X-Auth": org_token}
        async with (
            WebhookReceiver(secret=ok) as receiver,
            httpx.AsyncClient(base_url=url, timeout=60) as http,
        ):
            receiver.fail(times=None, status=500, when=lambda d: d.path == "/failing")
            minted = await http.post(
                f"/v1/organization/{boot['organizationUid']}/security-token",
                json={"name": "ci"},
                headers={"X-Auth": account_token},
            )
            seen.append(minted.json()["securityToken"])
            uids = []
            for name, hook, secret in (
                ("ok", receiver.url, ok),
                ("failing", receiver.url_for("/failing"), failing),
                ("refused", f"http://127.0.0.1:{free_port()}/closed", refused),
            ):
                made = await http.post(EXPORTERS, json=_exporter(name, hook, secret), headers=org)
                assert made.status_code == 201, made.text
                uids.append(made.json()["uid"])
            rotation = {"config": {"auth": {"signing": {"secret": rotated}}}}
            assert (await http.put(f"{EXPORTERS}/{uids[0]}", json=rotation, headers=org)).is_success
            recipe = {"brand": "samsung", "serialNumber": "SN-LOGS"}
            assert (await http.post(RECIPES, json=recipe, headers=org)).status_code == 201
            await receiver.wait_for(1, timeout=60, when=lambda d: d.path == "/hook")
            await receiver.wait_for(2, timeout=60, when=lambda d: d.path == "/failing")
            await eventually(lambda: _attempted(http, org, uids[2]), "a refused delivery tried")

            wrong_key, wrong_secret = _new_secret("wrong-key"), _new_secret("wrong-secret")
            seen += [wrong_key, wrong_secret]
            device = {"brand": "samsung", "serialNumber": "SN-LOGS"}
            register = f"{DEVICES}/register"
            right = await http.post(register, json=device, headers={"X-Device-Key": device_key})
            assert right.status_code == 200, right.text
            wrong = await http.post(register, json=device, headers={"X-Device-Key": wrong_key})
            assert wrong.status_code == 401
            token_id = org_token.split(":")[0]
            for header in (f"{token_id}:{wrong_secret}", wrong_secret, f"{token_id}:{ok}"):
                assert (await http.get(RECIPES, headers={"X-Auth": header})).status_code == 401

            await asyncio.to_thread(fetch_rows, database_url, HIDE_EXPORTERS)
            try:
                broken = _exporter("lost", receiver.url, lost)
                answer = await http.post(EXPORTERS, json=broken, headers=org)
                assert answer.status_code == 500
            finally:
                await asyncio.to_thread(fetch_rows, database_url, RESTORE_EXPORTERS)
    output = server.output()
    assert "http.request_failed" in output  # the database error was logged, with its traceback
    assert "Traceback" in output or '"exception"' in output
    leaked = [secret for secret in seen if secret in output]
    assert leaked == [], output
