"""A real server for the operator commands' tests; its events are checked against the schemas."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.cli.live import LiveServer, live_server
from tests.support import assert_valid_event, stored_event_bodies

StartServer = Callable[..., LiveServer]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers (each on its own SQLite file) with setting overrides; all stop at the end."""
    urls: list[str] = []
    with ExitStack() as running:

        def start(**settings: object) -> LiveServer:
            url = f"sqlite:///{tmp_path}/live-{len(urls)}.db"
            urls.append(url)
            return running.enter_context(live_server(url, 0, **settings))

        yield start
    for url in urls:
        for body in stored_event_bodies(url):
            assert_valid_event(body)


@pytest.fixture
def server(start_server: StartServer) -> LiveServer:
    return start_server()
