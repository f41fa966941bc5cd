"""`provisio events tail --nats` against the shared NATS server: the stream in order, filtered by
type and organization, from a sequence; clear errors for an unreachable server or stream."""

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from provisio.nats.publisher import Publisher
from provisio.service import tenancy
from provisio.service.recipes import delete_recipe
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store
from tests.cli.live import free_port, invoke, words
from tests.nats.fleet import Fleet, feed
from tests.nats.support import Names, delete_stream, open_client, shared_nats

CREATED = "Device.ProvisioningRecipeCreated"
DELETED = "Device.ProvisioningRecipeDeleted"


@pytest.fixture
def names() -> Iterator[Names]:
    url = shared_nats()
    asyncio.run(_reachable(url))
    names = Names.unique()
    yield names
    asyncio.run(delete_stream(url, names.stream))


async def _reachable(url: str) -> None:
    await (await open_client(url)).close()


async def _publish(database_url: str, names: Names) -> tuple[list[dict[str, Any]], str]:
    """Two organizations' events, the last a deletion, published to the test's stream; returns
    the envelopes in feed order and the first organization's uid."""
    store = Store.open(database_url)
    try:
        await migrate(store.backend)
        lobby, hall = await Fleet.bootstrap(store, "Lobby"), await Fleet.bootstrap(store, "Hall")
        await lobby.create(2)
        await hall.create(1)
        first = json.loads((await feed(store))[0].body)
        principal = await tenancy.authenticate(store, lobby.token)
        await delete_recipe(store, principal, first["payload"]["uid"])
        await lobby.create(0)  # positions the deletion
        publisher = Publisher(
            store, shared_nats(), stream=names.stream, subject_prefix=names.prefix
        )
        await publisher.drain()
        return [json.loads(e.body) for e in await feed(store)], lobby.organization_uid
    finally:
        await store.close()


def _tail(names: Names, *options: str) -> Result:
    return invoke(
        "events", "tail", "--nats", shared_nats(), "--stream", names.stream,
        "--subject-prefix", names.prefix, *options,
    )  # fmt: skip


def _printed(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_tail_nats_prints_the_stream_in_order_and_filters_it(names: Names, tmp_path: Path) -> None:
    envelopes, lobby = asyncio.run(_publish(f"sqlite:///{tmp_path}/tail.db", names))
    assert [e["type"] for e in envelopes] == [CREATED, CREATED, CREATED, DELETED]
    everything: list[dict[str, Any]] = [
        {"sequence": n, "event": e} for n, e in enumerate(envelopes, start=1)
    ]

    assert _printed(_tail(names, "--count", "4")) == everything
    assert _printed(_tail(names, "--after", "1", "--count", "2")) == everything[1:3]
    assert _printed(_tail(names, "--type", DELETED, "--count", "1")) == everything[3:]
    both = _printed(_tail(names, "--type", DELETED, "--type", CREATED, "--count", "4"))
    assert both == everything
    mine = _printed(_tail(names, "--organization-uid", lobby, "--count", "3"))
    assert mine == [everything[0], everything[1], everything[3]]  # the other one is Hall's
    assert {item["event"]["payload"]["owner"]["organizationUid"] for item in mine} == {lobby}


def test_tail_nats_names_a_missing_stream(names: Names) -> None:
    result = _tail(names, "--count", "1")
    assert result.exit_code == 1
    assert f"has no stream '{names.stream}'" in words(result.stderr)


def test_tail_nats_unreachable_is_a_clear_error_without_the_password() -> None:
    url = f"nats://provisio:s3cret-password@127.0.0.1:{free_port()}"
    result = invoke("events", "tail", "--nats", url, "--count", "1")
    assert result.exit_code == 1
    assert "cannot connect to NATS at nats://127.0.0.1:" in words(result.stderr)
    assert "s3cret" not in result.output


def test_tail_help_explains_nats() -> None:
    result = invoke("events", "tail", "--help")
    assert result.exit_code == 0
    assert "--nats" in result.output
    assert "stream sequence" in words(result.output)
