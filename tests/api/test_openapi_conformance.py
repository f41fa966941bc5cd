"""The API answers as its OpenAPI schema says: a schemathesis run over `/openapi.json`.

The app runs in-process (ASGI) with its lifespan started — migrations and the relay — on a
real SQLite file. Cases carry the `X-Auth` token of a bootstrapped tenant, so they get past
401 and reach validation and the use cases; positive cases for `{uid}` paths mostly name
resources that exist, so they reach the handlers' real work rather than a 404. A shorter run
without a token checks that nothing under `/v1` succeeds anonymously.

Checks: no 5xx; every status code, content type, response header and body is the declared
one; negative (schema-invalid) data is rejected; authentication is enforced. Every event the
run leaves in the database must match its committed JSON Schema.

`positive_data_acceptance` is deliberately NOT checked: brand rules (samsung needs a
`serialNumber`, android a `macAddress`, an unknown brand one of the two), the uniqueness of
live identifiers and account tokens having to name an organization cannot be expressed in
the schema, so bodies valid per the schema may legitimately answer 422 or 409.

The schema object is built at import from `app.openapi()` (pure: no database, no lifespan)
rather than with `schemathesis.pytest.from_fixture`, whose lazy integration in schemathesis
4.32.5 assigns `Node._nodeid`, which pytest 9.2 no longer has. Its ASGI app is a slot that
the `running` fixture fills with the real app; schemathesis starts that app's lifespan on the
first request and keeps it running until `shutdown_lifespans()`.
"""

import asyncio
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import AuthContext, BaseSchema, Case, CheckContext, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from starlette.types import Receive, Scope, Send

from provisio.api.app import create_app
from provisio.domain.brands import BrandRules
from provisio.domain.ids import new_uid
from provisio.domain.status import RecipeStatus
from provisio.service import recipes, tenancy
from provisio.settings import Settings
from provisio.store.migrate import migrate
from provisio.store.unit_of_work import Store
from tests.conftest import settings_for
from tests.support import assert_valid_event, stored_event_bodies

MAX_EXAMPLES = 40
"""Fuzzed cases per operation; the examples and coverage phases add their own on top."""


def negative_data_rejection_per_row(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """`negative_data_rejection`, except for a bulk import in `mode=partial`.

    There the contract is that bad rows are refused one by one and listed in the 200's
    `failed` (good rows are stored), so a 200 listing failed rows is the rejection.
    """
    if (
        case.path == "/v1/provisioning-recipe/bulk"
        and (case.query or {}).get("mode") == "partial"
        and response.status_code == 200
        and response.json()["failed"]
    ):
        return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


# Every check that is meaningful for this API, named explicitly (not schemathesis' defaults).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection_per_row,
    missing_required_header,
    ignored_auth,
    unsupported_method,  # 405, with an `Allow` header
]
# Not `allow_header_conformance`: where one path has several routes (GET and POST
# /v1/provisioning-recipe), Starlette's 405 names only the first route's methods in `Allow`.

SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # requests go through SQLite and the relay; timing is not what is tested
    suppress_health_check=[
        # Bodies and headers are built by schemathesis' strategies, not by this test: their
        # size, their filtering and their generation speed are not ours to tune.
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.data_too_large,
        hypothesis.HealthCheck.large_base_example,
    ],
)

Test = TypeVar("Test", bound=Callable[..., None])

AUTHENTICATED: list[int] = []
"""The status of every response to a `/v1` case sent with a real token."""

ORGANIZATION_TOKEN = "organization-token-placeholder"
ACCOUNT_TOKEN = "account-token-placeholder"


@dataclass(frozen=True)
class RunningApp:
    app: FastAPI
    organization_uid: str
    organization_token: str
    account_token: str
    recipe_uids: tuple[str, ...]
    """Pending, Failed and Applied recipes: targets of GET, PUT and retry."""
    doomed_recipe_uids: tuple[str, ...]
    """Targets of DELETE, which must not take the others away from the later operations."""


class AppSlot:
    """The ASGI app schemathesis calls: the app the `running` fixture put in."""

    running: RunningApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.running is not None, "no app is running: use the `running` fixture"
        await self.running.app(scope, receive, send)


SLOT = AppSlot()


def _schema(token: str | None) -> BaseSchema:
    """The app's schema, calling the slot's app; cases carry the `token` placeholder if given.

    Schemathesis builds the examples and coverage cases at collection, before any tenant
    exists, so its auth sets a placeholder that `_authenticate` swaps for the real token.
    Auth goes through schemathesis (not a `headers=` override on the call) so that a negative
    case whose X-Auth is deliberately missing or malformed is sent that way.
    """
    # The schema does not depend on the database: `openapi()` opens nothing.
    raw = create_app(Settings(database_url="sqlite://")).openapi()
    loaded = schemathesis.openapi.from_dict(
        raw, config=schemathesis.Config.from_dict({"generation": {"mode": "all"}})
    )
    loaded.app = SLOT  # what `schemathesis.openapi.from_asgi` does with the app it loaded
    if token is not None:
        placeholder = token

        @loaded.auth(refresh_interval=None)
        class XAuth:
            def get(self, case: Case[Any], ctx: AuthContext) -> str:
                return placeholder

            def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
                case.headers["X-Auth"] = data

    return loaded


def _parametrize(schema: BaseSchema) -> Callable[[Test], Test]:
    """`schema.parametrize()`, typed (schemathesis declares it as returning a bare Callable)."""
    decorator: Callable[[Test], Test] = schema.parametrize()
    return decorator


organization_api = _schema(ORGANIZATION_TOKEN)
account_api = _schema(ACCOUNT_TOKEN).include(path_regex="^/v1/(organization|provisioning-recipe$)")
anonymous_api = _schema(None).include(path_regex="^/v1/")


async def _seed(database_url: str) -> RunningApp:
    """A tenant (organization and account tokens) and recipes of different brands and states."""
    store = Store.open(database_url)
    try:
        await migrate(store.backend)
        made = await tenancy.bootstrap(store, "Acme", "Lobby")
        account = await tenancy.issue_account_token(store, made.account_id, "fuzzer")
        principal = await tenancy.authenticate(store, made.token.header)
        bodies: list[dict[str, Any]] = [
            {"brand": "samsung", "serialNumber": "SN-1", "deviceName": "Lobby"},
            {"brand": "android", "macAddress": "aa:bb:cc:dd:ee:01"},
            {"brand": "acme", "serialNumber": "SN-2", "macAddress": "aabbccddee02"},
            {"brand": "lg", "serialNumber": "SN-3", "confirmedOwnership": True},
            {"brand": "sony", "serialNumber": "SN-4", "model": "X1"},
            {"brand": "linux", "macAddress": "AA-BB-CC-DD-EE-05", "deviceName": "Hall"},
        ]
        rules = BrandRules()
        uids = [(await recipes.create_recipe(store, principal, b, rules)).uid for b in bodies]
        # No device registration yet: give two recipes the states a registration would.
        async with store.unit_of_work() as uow:
            failed = await uow.recipes.get(uids[2], [made.organization_uid], for_update=True)
            failed.status = RecipeStatus.FAILED
            failed.error_message = "the device's model is not X1"
            failed.last_device_uid = new_uid()
            await uow.recipes.save(failed)
            applied = await uow.recipes.get(uids[3], [made.organization_uid], for_update=True)
            applied.status = RecipeStatus.APPLIED
            applied.device_uid = applied.last_device_uid = new_uid()
            await uow.recipes.save(applied)
    finally:
        await store.close()
    # Long-polls wait at most 0.1 s, so `wait=60` cases do not stall the run.
    app = create_app(settings_for(database_url, feed_max_wait=0.1))
    return RunningApp(
        app=app,
        organization_uid=made.organization_uid,
        organization_token=made.token.header,
        account_token=account.header,
        recipe_uids=tuple(uids[:4]),
        doomed_recipe_uids=tuple(uids[4:]),
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """One app and SQLite file for the whole run; every event it leaves must be valid."""
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi')}/provisio.db"
    SLOT.running = asyncio.run(_seed(url))
    try:
        yield SLOT.running
    finally:
        shutdown_lifespans()  # stops the relay and closes the store
        SLOT.running = None
    # A broken token would make every case a 401, which passes every check. (405, 400, 415 or
    # 422 come before auth; these statuses only after it.)
    past_auth = [s for s in AUTHENTICATED if s < 300 or s in (403, 404, 409, 412)]
    assert not AUTHENTICATED or past_auth, "no case with a token ever got past authentication"
    for body in stored_event_bodies(url):
        assert_valid_event(body)


def _authenticate(case: Case[Any], running: RunningApp) -> bool:
    """The real token where schemathesis' auth put the placeholder (not where it negated it)."""
    real = {ORGANIZATION_TOKEN: running.organization_token, ACCOUNT_TOKEN: running.account_token}
    sent = case.headers.get("X-Auth") if case.headers else None
    if not isinstance(sent, str) or sent not in real:
        return False
    case.headers["X-Auth"] = real[sent]
    return True


def _swap(generated: object) -> int | None:
    """Three in four generated values are swapped for a known one (`pick` says which).

    The choice is a function of the generated value, so Hypothesis replays a case exactly.
    """
    pick = zlib.crc32(repr(generated).encode())
    return pick if pick % 4 else None


def _aim_at_existing(case: Case[Any], running: RunningApp) -> None:
    """Positive cases mostly name what exists, so they get past 404 to the real work: the
    `{uid}` in the path, `organizationUid` in the query and body. Valid values replace valid
    values; negative cases are sent as generated."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    uid = case.path_parameters.get("uid") if case.path_parameters else None
    if uid is not None:
        if case.path.startswith("/v1/organization/"):
            known: tuple[str, ...] = (running.organization_uid,)
        elif case.operation.method.upper() == "DELETE":
            known = running.doomed_recipe_uids
        else:
            known = running.recipe_uids
        pick = _swap(uid)
        if pick is not None:
            case.path_parameters["uid"] = known[pick % len(known)]
    items = case.body if isinstance(case.body, list) else [case.body]
    for container in [case.query, *items]:
        organization_uid = container.get("organizationUid") if isinstance(container, dict) else None
        if organization_uid is not None and _swap(organization_uid) is not None:
            container["organizationUid"] = running.organization_uid
    # A generated If-Match never matches: half the updates go without one.
    if_match = case.headers.get("If-Match") if case.headers else None
    if if_match is not None and zlib.crc32(repr(if_match).encode()) % 2:
        del case.headers["If-Match"]


def _never_succeeds_without_auth(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """Every `/v1` operation needs a token: without one, nothing may succeed."""
    if response.status_code < 300:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} anonymously")


@_parametrize(organization_api)
@SETTINGS
def test_api_with_an_organization_token(case: Case[Any], running: RunningApp) -> None:
    """Every operation, as the tenant's organization token."""
    authenticated = _authenticate(case, running)
    _aim_at_existing(case, running)
    response = case.call_and_validate(checks=CHECKS)
    if authenticated and case.path.startswith("/v1/"):
        AUTHENTICATED.append(response.status_code)


@_parametrize(account_api)
@SETTINGS
def test_api_with_an_account_token(case: Case[Any], running: RunningApp) -> None:
    """Account tokens create organizations and issue tokens, and must name the organization."""
    authenticated = _authenticate(case, running)
    _aim_at_existing(case, running)
    response = case.call_and_validate(checks=CHECKS)
    if authenticated and case.path.startswith("/v1/"):
        AUTHENTICATED.append(response.status_code)


@_parametrize(anonymous_api)
@hypothesis.settings(SETTINGS, max_examples=10)
def test_api_without_a_token(case: Case[Any], running: RunningApp) -> None:
    # Whatever X-Auth schemathesis generates (or none) is sent: never a valid token.
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            _never_succeeds_without_auth,
        ],
    )
