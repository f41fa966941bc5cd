"""`provisio events tail` against a real server: order, --count, --after, --type, Ctrl-C."""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from typer.testing import Result

from tests.cli.live import LiveServer, invoke, live_server, words
from tests.support import assert_valid_event, stored_event_bodies

CREATED = "Device.ProvisioningRecipeCreated"
DELETED = "Device.ProvisioningRecipeDeleted"
RECIPES = "/v1/provisioning-recipe"


def _tail(server: LiveServer, *options: str) -> Result:
    return invoke(
        "events", "tail", "--url", server.url, "--token", server.tenant.token, "--wait", "5",
        *options,
    )  # fmt: skip


def _printed(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _create(server: LiveServer, serial: str) -> dict[str, Any]:
    recipe: dict[str, Any] = server.ok("POST", RECIPES, {"brand": "lg", "serialNumber": serial})
    return recipe


def test_tail_prints_exactly_count_events_in_feed_order(server: LiveServer) -> None:
    for serial in ("LG-1", "LG-2", "LG-3", "LG-4"):
        _create(server, serial)
    feed = server.events(4)
    printed = _printed(_tail(server, "--count", "3", "--limit", "2"))
    assert printed == feed[:3]  # `{"position": n, "event": envelope}` lines, as the feed has them
    assert [item["event"]["payload"]["serialNumber"] for item in printed] == [
        "LG-1",
        "LG-2",
        "LG-3",
    ]


def test_tail_starts_after_the_given_position_and_filters_by_type(server: LiveServer) -> None:
    recipes = [_create(server, serial) for serial in ("LG-1", "LG-2", "LG-3")]
    server.ok("DELETE", f"{RECIPES}/{recipes[1]['uid']}")
    feed = server.events(4)
    assert [item["event"]["type"] for item in feed] == [CREATED, CREATED, CREATED, DELETED]
    first = str(feed[0]["position"])

    assert _printed(_tail(server, "--after", first, "--count", "2")) == feed[1:3]
    assert _printed(_tail(server, "--type", DELETED, "--count", "1")) == feed[3:]
    both = _printed(
        _tail(server, "--type", DELETED, "--type", CREATED, "--after", first, "--count", "3")
    )
    assert both == feed[1:]


def test_tail_waits_for_events_that_happen_later(server: LiveServer) -> None:
    _create(server, "LG-1")
    later = threading.Timer(0.5, _create, (server, "LG-2"))
    later.start()
    try:
        printed = _printed(_tail(server, "--count", "2"))
    finally:
        later.join()
    assert [item["event"]["payload"]["serialNumber"] for item in printed] == ["LG-1", "LG-2"]


def test_tail_refuses_an_unknown_event_type(server: LiveServer) -> None:
    result = _tail(server, "--type", "Device.Exploded")
    assert result.exit_code == 2
    assert "'Device.Exploded' is not an event type" in words(result.output)


def test_tail_with_a_wrong_token_is_a_clear_error(server: LiveServer) -> None:
    result = invoke("events", "tail", "--url", server.url, "--token", "x:y")
    assert result.exit_code == 1
    assert "error: 401 Unauthorized: invalid token" in result.stderr


def _follow(server: LiveServer) -> subprocess.Popen[str]:
    """`provisio events tail` as its own process, with no --count: it runs until stopped."""
    command = [sys.executable, "-m", "provisio.cli.main", "events", "tail", "--wait", "1"]
    env = {**os.environ, "PROVISIO_URL": server.url, "PROVISIO_TOKEN": server.tenant.token}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _next_line(process: subprocess.Popen[str], timeout: float = 30) -> dict[str, Any]:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no event line within {timeout} s"
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "stdout closed"
    item: dict[str, Any] = json.loads(line)
    return item


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    return process.returncode, stderr


def test_ctrl_c_stops_tail_cleanly_and_says_where_to_resume(server: LiveServer) -> None:
    _create(server, "LG-1")
    process = _follow(server)
    try:
        first = _next_line(process)
        code, stderr = _interrupt(process)
    finally:
        process.kill()
    assert first["event"]["type"] == CREATED
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert f"continue with --after {first['position']}" in stderr


def test_tail_keeps_following_across_a_server_restart(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/restart.db"
    with live_server(database) as before:
        _create(before, "LG-1")
        process = _follow(before)
        try:
            first = _next_line(process)
        except BaseException:
            process.kill()
            raise
    port = int(before.url.rsplit(":", 1)[1])
    try:
        time.sleep(0.5)  # the follower notices the server is gone
        with live_server(database, port=port) as after:
            _create(LiveServer(after.url, database, before.tenant), "LG-2")
            second = _next_line(process)
            code, stderr = _interrupt(process)
    finally:
        process.kill()
    assert first["event"]["payload"]["serialNumber"] == "LG-1"
    assert second["event"]["payload"]["serialNumber"] == "LG-2"
    assert second["position"] > first["position"]
    assert code == 0
    assert "feed unavailable" in stderr
    assert "reconnected" in stderr
    assert "Traceback" not in stderr
    for body in stored_event_bodies(database):
        assert_valid_event(body)
