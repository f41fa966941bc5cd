"""`provisio events tail` against a real server: order, --count, --after, --type, Ctrl-C."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

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
    with _Follower(server, "--count", "2") as follower:
        first = follower.next_event()
        _create(server, "LG-2")  # only once the first event is out: tail must wait for it
        second = follower.next_event()
        code, notes = follower.wait()
    assert code == 0, notes
    assert [item["event"]["payload"]["serialNumber"] for item in (first, second)] == [
        "LG-1",
        "LG-2",
    ]


def test_tail_refuses_an_unknown_event_type(server: LiveServer) -> None:
    result = _tail(server, "--type", "Device.Exploded")
    assert result.exit_code == 2
    assert "'Device.Exploded' is not an event type" in words(result.output)


def test_tail_with_a_wrong_token_is_a_clear_error(server: LiveServer) -> None:
    result = invoke("events", "tail", "--url", server.url, "--token", "x:y")
    assert result.exit_code == 1
    assert "error: 401 Unauthorized: invalid token" in result.stderr


PATIENCE = 120
"""Seconds a test waits for the follower to do something: generous, for a busy machine; a
working follower answers in well under one."""


@contextmanager
def _interruptible() -> Iterator[None]:
    """Processes started inside get Ctrl-C as from a terminal. A shell without job control (a CI
    script's background job) starts commands with SIGINT ignored, and children inherit an
    ignored signal, but not a handled one."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Follower:
    """`provisio events tail` as its own process (by default with no --count: it runs until
    stopped). Threads read what it prints, so tests wait for lines, never for time."""

    def __init__(self, server: LiveServer, *options: str) -> None:
        command = [sys.executable, "-m", "provisio.cli.main", "events", "tail", "--wait", "1"]
        env = {**os.environ, "PROVISIO_URL": server.url, "PROVISIO_TOKEN": server.tenant.token}
        with _interruptible():
            self.process = subprocess.Popen(
                [*command, *options],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        self._events: queue.Queue[str | None] = queue.Queue()
        """Lines printed on stdout; None once it is closed."""
        self._notes: list[str] = []
        self._noted = threading.Condition()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._events.put)),
            threading.Thread(target=self._read, args=(self.process.stderr, self._note)),
        ]
        for reader in self._readers:
            reader.start()

    def __enter__(self) -> "_Follower":
        return self

    def __exit__(self, *_: object) -> None:
        self.process.kill()
        self.wait()

    @staticmethod
    def _read(stream: IO[str], take: Callable[[str | None], None]) -> None:
        for line in stream:
            take(line)
        take(None)

    def _note(self, line: str | None) -> None:
        if line is None:
            return
        with self._noted:
            self._notes.append(line)
            self._noted.notify_all()

    def next_event(self) -> dict[str, Any]:
        try:
            line = self._events.get(timeout=PATIENCE)
        except queue.Empty:
            raise AssertionError(f"no event line within {PATIENCE} s: {self.notes}") from None
        if line is None:
            self.wait()
            raise AssertionError(f"tail stopped before the next event: {self.notes}")
        item: dict[str, Any] = json.loads(line)
        return item

    @property
    def notes(self) -> str:
        with self._noted:
            return "".join(self._notes)

    def wait_for_note(self, text: str) -> None:
        with self._noted:
            noted = self._noted.wait_for(lambda: text in "".join(self._notes), PATIENCE)
        assert noted, f"{text!r} not printed within {PATIENCE} s: {self.notes}"

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit code and everything printed on stderr."""
        self.process.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self) -> tuple[int, str]:
        code = self.process.wait(timeout=PATIENCE)
        for reader in self._readers:
            reader.join(timeout=PATIENCE)
        return code, self.notes


def test_ctrl_c_stops_tail_cleanly_and_says_where_to_resume(server: LiveServer) -> None:
    _create(server, "LG-1")
    with _Follower(server) as follower:
        first = follower.next_event()
        code, stderr = follower.interrupt()
    assert first["event"]["type"] == CREATED
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert f"continue with --after {first['position']}" in stderr


def test_tail_keeps_following_across_a_server_restart(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/restart.db"
    with ExitStack() as stack:
        with live_server(database) as before:
            _create(before, "LG-1")
            follower = stack.enter_context(_Follower(before))
            first = follower.next_event()
        follower.wait_for_note("feed unavailable")  # it noticed the server is gone
        port = int(before.url.rsplit(":", 1)[1])
        with live_server(database, port=port) as after:
            _create(LiveServer(after.url, database, before.tenant), "LG-2")
            second = follower.next_event()
            code, stderr = follower.interrupt()
    assert first["event"]["payload"]["serialNumber"] == "LG-1"
    assert second["event"]["payload"]["serialNumber"] == "LG-2"
    assert second["position"] > first["position"]
    assert code == 0
    assert "feed unavailable" in stderr
    assert "reconnected" in stderr
    assert "Traceback" not in stderr
    for body in stored_event_bodies(database):
        assert_valid_event(body)
