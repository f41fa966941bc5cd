"""NATS fixtures: the shared server with a stream of the test's own, and private servers."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.nats.support import Names, PrivateNats, delete_stream, open_client, shared_nats


@pytest.fixture
async def nats_url() -> str:
    """The shared server, checked reachable (a failure, not a skip, when it is not)."""
    url = shared_nats()
    await (await open_client(url)).close()
    return url


@pytest.fixture
async def names(nats_url: str) -> AsyncIterator[Names]:
    """Unique stream name and subject prefix on the shared server, deleted afterwards."""
    names = Names.unique()
    yield names
    await delete_stream(nats_url, names.stream)


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[PrivateNats]:
    """A running nats-server of the test's own, stopped at the end."""
    shared_nats()  # the NATS tests run together or not at all
    server = PrivateNats(tmp_path / "nats")
    server.start()
    try:
        yield server
    finally:
        server.stop()
