"""The API answers as its OpenAPI schema says: a schemathesis run over `/openapi.json`.

The app runs in-process (ASGI) with its lifespan started — migrations and the relay — on a
real SQLite file. Cases carry the `X-Auth` token of a bootstrapped tenant, and cases for
`/v1/device/register` the fleet's `X-Device-Key` instead, so they get past 401 and reach
validation and the use cases. The tenant is seeded through the use cases, as in production:
tags, policies and locations, recipes referring to them, and devices whose real registrations
left recipes Pending, Failed, Invalid and Applied, plus devices paired by code. Positive cases
for `{uid}` paths mostly name resources that exist (DELETE and deprovision their own doomed
ones; each call that takes something from a device its own configured devices; device
verifications the records of those pairings by code), a device's tag, policy or location (in
the path, or the policy `uid` of an assignment) mostly the entries recipes gave their devices,
and verification cases often the code an unpaired device shows, so they reach the handlers'
real work rather than a 404. A shorter run without a token (nor device key) checks that
nothing under `/v1` succeeds anonymously — registration included.

Checks: no 5xx; every status code, content type, response header and body is the declared
one; negative (schema-invalid) data is rejected; authentication is enforced, and each
operation declares the credential it really takes. Every event the run leaves in the database
must match its committed JSON Schema.

`positive_data_acceptance` is deliberately NOT checked: brand rules (samsung needs a
`serialNumber`, android a `macAddress`, an unknown brand one of the two; a registering device
one of the two), the uniqueness of live identifiers, account tokens having to name an
organization, recipes' `tagUids`/`policyUid`/`locationUid` having to name existing entries,
a verification code having to be one an unpaired device shows right now, and a device being
deprovisioned only while it is paired cannot be expressed in the schema, so bodies valid per
the schema may legitimately answer 422, 409 or 404.

The schema object is built at import from `app.openapi()` (pure: no database, no lifespan)
rather than with `schemathesis.pytest.from_fixture`, whose lazy integration in schemathesis
4.32.5 assigns `Node._nodeid`, which pytest 9.2 no longer has. Its ASGI app is a slot that
the `running` fixture fills with the real app; schemathesis starts that app's lifespan on the
first request and keeps it running until `shutdown_lifespans()`.
"""

import asyncio
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from provisio.domain.device import DeviceReport
from provisio.domain.registry import (
    Coordinates,
    LocationSpec,
    PolicyItem,
    PolicySpec,
    RegistryKind,
    Spec,
    TagSpec,
)
from provisio.domain.status import RecipeStatus
from provisio.service import devices, recipes, registries, tenancy
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

REGISTER = "/v1/device/register"
"""The one `/v1` operation that takes the fleet's device key (`X-Device-Key`), not a token."""

AUTHENTICATED: list[int] = []
"""The status of every response to a `/v1` case sent with a real token."""
DEVICE_CALLS: dict[str, set[int]] = {}
"""The statuses each operation on a paired device (`/v1/device/{uid}…`) answered to cases sent
with a real token."""
REGISTRATIONS: list[tuple[bool, int]] = []
"""Every registration case of the runs with credentials: whether it carried the real device
key, and the status it got."""

ORGANIZATION_TOKEN = "organization-token-placeholder"
ACCOUNT_TOKEN = "account-token-placeholder"
DEVICE_KEY_PLACEHOLDER = "device-key-placeholder"

REGISTRY_PATHS = {
    RegistryKind.TAG: "/v1/organization-tag",
    RegistryKind.POLICY: "/v1/policy",
    RegistryKind.LOCATION: "/v1/location",
}
REFERENCES = {
    "tagUids": REGISTRY_PATHS[RegistryKind.TAG],
    "parentTagUid": REGISTRY_PATHS[RegistryKind.TAG],
    "policyUid": REGISTRY_PATHS[RegistryKind.POLICY],
    "locationUid": REGISTRY_PATHS[RegistryKind.LOCATION],
}
"""Body field (of a recipe, a tag, a location) → the registry its uids name."""
OPERATION_REFERENCES = {"/v1/device/{uid}/policy": {"uid": REGISTRY_PATHS[RegistryKind.POLICY]}}
"""Path → body fields of its operations that name registry entries, beside the recipe fields."""
PATH_REFERENCES = {
    "tagUid": REGISTRY_PATHS[RegistryKind.TAG],
    "policyUid": REGISTRY_PATHS[RegistryKind.POLICY],
    "locationUid": REGISTRY_PATHS[RegistryKind.LOCATION],
}
"""Path parameter (a device's tag, policy or location, a location's tag) → the registry its
uid names."""
STRIPPING = (
    "/location",
    "/location/{locationUid}",
    "/organization-tag/{tagUid}",
    "/policy/{policyUid}",
)
"""What follows `/v1/device/{uid}` in the paths of the DELETEs that take from a device."""


@dataclass(frozen=True)
class RunningApp:
    app: FastAPI
    device_key: str
    organization_uid: str
    organization_token: str
    account_token: str
    recipe_uids: tuple[str, ...]
    """Pending, Failed, Applied and Invalid recipes: targets of GET and PUT."""
    failed_recipe_uids: tuple[str, ...]
    """The Failed ones: targets of retry (which turns them Pending)."""
    doomed_recipe_uids: tuple[str, ...]
    """Targets of DELETE, which must not take the others away from the later operations."""
    device_uids: tuple[str, ...]
    """Devices paired by a recipe and by code: targets of GET and of the managing calls."""
    doomed_device_uids: tuple[str, ...]
    """Paired devices for deprovisioning, which must not unpair the others."""
    stripped_device_uids: Mapping[str, tuple[str, ...]]
    """What follows `/v1/device/{uid}` in the path of a DELETE (`/location`, …) → devices that
    its recipe gave a tag, policy and location for that DELETE alone to take away."""
    verification_hashes: tuple[str, ...]
    """The codes unpaired devices show: what pairing by code pairs."""
    verification_uids: tuple[str, ...]
    """The records of the seeded pairings by code: targets of GET, readable also once their
    device is deprovisioned."""
    entry_uids: Mapping[str, tuple[str, ...]]
    """Registry path (`/v1/policy`, …) → entries the Applied recipe refers to: targets of GET
    and of the references in recipe bodies."""
    doomed_entry_uids: Mapping[str, tuple[str, ...]]
    """Registry path → entries no recipe refers to: targets of DELETE."""


class AppSlot:
    """The ASGI app schemathesis calls: the app the `running` fixture put in."""

    running: RunningApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.running is not None, "no app is running: use the `running` fixture"
        await self.running.app(scope, receive, send)


SLOT = AppSlot()


def _openapi() -> dict[str, Any]:
    """The app's schema. It does not depend on the database: `openapi()` opens nothing."""
    raw: dict[str, Any] = create_app(Settings(database_url="sqlite://")).openapi()
    return raw


def _schema(token: str | None) -> BaseSchema:
    """The app's schema, calling the slot's app. With a `token` placeholder, cases carry it in
    `X-Auth`, except registrations, which carry the device key placeholder in `X-Device-Key`;
    without one, cases carry neither.

    Schemathesis builds the examples and coverage cases at collection, before any tenant
    exists, so its auth sets placeholders that `_authenticate` swaps for the real credentials.
    Auth goes through schemathesis (not a `headers=` override on the call) so that a negative
    case whose credential is deliberately missing or malformed is sent that way. Schemathesis
    asks its auth providers in order and uses the first whose filter admits the operation.
    """
    loaded = schemathesis.openapi.from_dict(
        _openapi(), config=schemathesis.Config.from_dict({"generation": {"mode": "all"}})
    )
    loaded.app = SLOT  # what `schemathesis.openapi.from_asgi` does with the app it loaded
    if token is not None:
        placeholder = token

        @loaded.auth(refresh_interval=None).apply_to(path=REGISTER)
        class XDeviceKey:
            def get(self, case: Case[Any], ctx: AuthContext) -> str:
                return DEVICE_KEY_PLACEHOLDER

            def set(self, case: Case[Any], data: str, ctx: AuthContext) -> None:
                case.headers["X-Device-Key"] = data

        @loaded.auth(refresh_interval=None).skip_for(path=REGISTER)
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
    """A tenant (organization and account tokens) with registry entries, recipes of different
    brands, and devices, all made through the use cases: each recipe's state is the one a real
    registration left, and each paired device was paired by its recipe or by code."""
    store = Store.open(database_url)
    try:
        await migrate(store.backend)
        made = await tenancy.bootstrap(store, "Acme", "Lobby")
        account = await tenancy.issue_account_token(store, made.account_id, "fuzzer")
        principal = await tenancy.authenticate(store, made.token.header)
        rules = BrandRules()

        async def entry(spec: Spec) -> str:
            return (await registries.create_entry(store, principal, spec, None)).uid

        async def entries(name: str) -> dict[RegistryKind, str]:
            """One entry of each kind, every field set: a location with a tag."""
            tag = await entry(TagSpec(f"{name} tag", color="#ff0000"))
            item = PolicyItem("VOLUME", {"level": 40, "muted": None}, "tizen")
            policy = await entry(PolicySpec(f"{name} policy", note="nightly", items=(item,)))
            place = Coordinates(50.0755, 14.4378)
            location = LocationSpec(f"{name} location", place, "L-1", "hall", (tag,))
            return {
                RegistryKind.TAG: tag,
                RegistryKind.POLICY: policy,
                RegistryKind.LOCATION: await entry(location),
            }

        async def recipe(**body: Any) -> str:
            return (await recipes.create_recipe(store, principal, body, rules)).uid

        async def register(
            brand: str,
            serial: str | None = None,
            macs: Sequence[str] = (),
            model: str | None = None,
        ) -> devices.Registration:
            report = DeviceReport.of(brand, model=model, serial_number=serial, mac_addresses=macs)
            return await devices.register_device(store, report)

        kept = await entries("Lobby")
        doomed_entries = await entries("Spare")
        retired = await entry(TagSpec("Retired"))
        pending = [
            await recipe(brand="samsung", serialNumber="SN-1", deviceName="Lobby"),
            await recipe(brand="android", macAddress="aa:bb:cc:dd:ee:01"),
        ]
        to_fail = [
            await recipe(brand="acme", serialNumber="SN-2", macAddress="aabbccddee02", model="X1"),
            await recipe(brand="samsung", serialNumber="SN-7", model="QM55R"),
        ]
        references = {
            "tagUids": [kept[RegistryKind.TAG]],
            "policyUid": kept[RegistryKind.POLICY],
            "locationUid": kept[RegistryKind.LOCATION],
        }
        to_apply = await recipe(
            brand="lg",
            serialNumber="SN-3",
            confirmedOwnership=True,
            deviceName="Hall",
            **references,
        )
        stripped = {
            rest: await recipe(brand="lg", serialNumber=f"SN-1{n}", **references)
            for n, rest in enumerate(STRIPPING)
        }
        to_invalidate = await recipe(brand="philips", serialNumber="SN-4", tagUids=[retired])
        doomed_recipes = [
            await recipe(brand="sony", serialNumber="SN-5", model="X1"),
            await recipe(brand="linux", macAddress="AA-BB-CC-DD-EE-06", deviceName="Hall"),
        ]
        await registries.delete_entry(store, principal, RegistryKind.TAG, retired)

        unpaired = [
            await register("acme", "SN-2", model="Y9"),  # its recipe expects model X1
            await register("samsung", "SN-7", model="QM49R"),  # its recipe expects QM55R
            await register("philips", "SN-4"),  # its recipe's tag is gone
            await register("brightsign", "SN-8"),  # no recipe
        ]
        applied = await register("lg", " sn-3", model="65UH5F")
        stripped_devices = {
            rest: (await register("lg", f"SN-1{n}")).device.uid for n, rest in enumerate(stripped)
        }
        by_code = [
            await devices.pair_by_code(store, principal, shown.device.verification_hash, None)
            for shown in [
                await register("windows", macs=["aa:bb:cc:dd:ee:07"]),
                await register("raspberrypi", macs=["aabb.ccdd.ee08"]),
                await register("windows", macs=["AA-BB-CC-DD-EE-09"]),
            ]
        ]
        states = dict.fromkeys(pending, RecipeStatus.PENDING)
        states |= dict.fromkeys(to_fail, RecipeStatus.FAILED)
        states |= {to_apply: RecipeStatus.APPLIED, to_invalidate: RecipeStatus.INVALID}
        for uid, state in states.items():
            assert (await recipes.get_recipe(store, principal, uid)).status == state
        assert applied.device.paired
        assert not any(registration.device.paired for registration in unpaired)
    finally:
        await store.close()
    # Long-polls wait at most 0.1 s, so `wait=60` cases do not stall the run. No limit on wrong
    # device keys or codes: schemathesis sends hundreds, which would turn the answers it checks
    # into 429s (the limits have tests of their own).
    settings = settings_for(
        database_url, feed_max_wait=0.1, device_key_rate_limit=None, pairing_rate_limit=None
    )
    assert settings.device_key is not None
    return RunningApp(
        app=create_app(settings),
        device_key=settings.device_key,
        organization_uid=made.organization_uid,
        organization_token=made.token.header,
        account_token=account.header,
        recipe_uids=tuple(states),
        failed_recipe_uids=tuple(to_fail),
        doomed_recipe_uids=tuple(doomed_recipes),
        device_uids=(applied.device.uid, by_code[0].device_uid),
        doomed_device_uids=tuple(verification.device_uid for verification in by_code[1:]),
        stripped_device_uids={rest: (uid,) for rest, uid in stripped_devices.items()},
        verification_hashes=tuple(shown.device.verification_hash for shown in unpaired),
        verification_uids=tuple(verification.uid for verification in by_code),
        entry_uids={REGISTRY_PATHS[kind]: (uid,) for kind, uid in kept.items()},
        doomed_entry_uids={REGISTRY_PATHS[kind]: (uid,) for kind, uid in doomed_entries.items()},
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
    # Each of them names a device, and most name its tag, policy or location: seeding and aim
    # that went wrong would leave an operation answering only 404s and 422s.
    unreached = [label for label, statuses in DEVICE_CALLS.items() if min(statuses) >= 300]
    assert not unreached, f"no case got past the checks of {unreached}"
    # Likewise a broken device key: only the use case answers a registration with 200.
    keyed = [status for with_key, status in REGISTRATIONS if with_key]
    assert not REGISTRATIONS or 200 in keyed, "no registration with the device key got a 200"
    for body in stored_event_bodies(url):
        assert_valid_event(body)


def _authenticate(case: Case[Any], running: RunningApp) -> str | None:
    """The real credential where schemathesis' auth put a placeholder (not where it negated
    it): which header that was, if any."""
    real = {
        "X-Auth": {
            ORGANIZATION_TOKEN: running.organization_token,
            ACCOUNT_TOKEN: running.account_token,
        },
        "X-Device-Key": {DEVICE_KEY_PLACEHOLDER: running.device_key},
    }
    for header, credentials in real.items():
        sent = case.headers.get(header) if case.headers else None
        if isinstance(sent, str) and sent in credentials:
            case.headers[header] = credentials[sent]
            return header
    return None


def _swap(generated: object) -> int | None:
    """Three in four generated values are swapped for a known one (`pick` says which).

    The choice is a function of the generated value, so Hypothesis replays a case exactly.
    """
    pick = zlib.crc32(repr(generated).encode())
    return pick if pick % 4 else None


def _targets(case: Case[Any], running: RunningApp) -> tuple[str, ...]:
    """The uids that exist for the `{uid}` of the case's path; none where nothing is seeded
    (exporters)."""
    family, _, rest = case.path.partition("/{uid}")
    deleting = case.operation.method.upper() == "DELETE"
    if family == "/v1/organization":
        return (running.organization_uid,)
    if family == "/v1/provisioning-recipe":
        if rest == "/retry":
            return running.failed_recipe_uids
        return running.doomed_recipe_uids if deleting else running.recipe_uids
    if family == "/v1/device":
        if rest == "/deprovision":
            return running.doomed_device_uids
        if deleting and rest in running.stripped_device_uids:
            return running.stripped_device_uids[rest]
        return running.device_uids
    if family == "/v1/device/verification":
        return running.verification_uids
    if family in running.entry_uids:
        # Deleting the entry itself takes a doomed one; unassigning a location's tag does not.
        doomed = deleting and not rest
        return (running.doomed_entry_uids if doomed else running.entry_uids)[family]
    return ()


def _aim_at_existing(case: Case[Any], running: RunningApp) -> None:
    """Positive cases mostly name what exists, so they get past 404 (and a recipe past 422) to
    the real work: the `{uid}` in the path and the tags, policies and locations named in it,
    `organizationUid` in the query and body, the tags, policies and locations of recipes and
    devices, a tag's parent, a location's tags, and the `verificationHash` an unpaired device
    shows. Valid values replace valid values; negative cases are sent as generated."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    uid = case.path_parameters.get("uid") if case.path_parameters else None
    known = _targets(case, running)
    pick = _swap(uid)
    if uid is not None and known and pick is not None:
        case.path_parameters["uid"] = known[pick % len(known)]
    for name, registry in PATH_REFERENCES.items():
        reference = case.path_parameters.get(name) if case.path_parameters else None
        if reference is not None and _swap(reference) is not None:
            (case.path_parameters[name],) = running.entry_uids[registry]
    items = case.body if isinstance(case.body, list) else [case.body]
    for container in [case.query, *items]:
        if not isinstance(container, dict):
            continue
        organization_uid = container.get("organizationUid")
        if organization_uid is not None and _swap(organization_uid) is not None:
            container["organizationUid"] = running.organization_uid
        code = container.get("verificationHash")
        pick = _swap(code)
        if code is not None and pick is not None:
            codes = running.verification_hashes
            container["verificationHash"] = codes[pick % len(codes)]
        for field, registry in (REFERENCES | OPERATION_REFERENCES.get(case.path, {})).items():
            reference = container.get(field)
            if reference and _swap(reference) is not None:
                (entry,) = running.entry_uids[registry]
                container[field] = [entry] if isinstance(reference, list) else entry
    # A generated If-Match never matches: half the updates go without one.
    if_match = case.headers.get("If-Match") if case.headers else None
    if if_match is not None and zlib.crc32(repr(if_match).encode()) % 2:
        del case.headers["If-Match"]


def _call_with_credentials(case: Case[Any], running: RunningApp) -> None:
    """Send the case with the real credentials and check the response; counted before the
    checks run, so that a failing check does not hide the statuses from the fixture's asserts."""
    credential = _authenticate(case, running)
    _aim_at_existing(case, running)
    response = case.call()
    if case.path == REGISTER:
        REGISTRATIONS.append((credential == "X-Device-Key", response.status_code))
    elif credential == "X-Auth" and case.path.startswith("/v1/"):
        AUTHENTICATED.append(response.status_code)
        if case.path.startswith("/v1/device/{uid}"):
            DEVICE_CALLS.setdefault(case.operation.label, set()).add(response.status_code)
    case.validate_response(response, checks=CHECKS)


def _never_succeeds_without_auth(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """Every `/v1` operation needs a token (registration the device key): without, nothing may
    succeed."""
    if response.status_code < 300:
        raise AssertionError(f"{case.operation.label} answered {response.status_code} anonymously")


def _register_needs_the_device_key(ctx: CheckContext, response: Response, case: Case[Any]) -> None:
    """A registration without the device key is refused with 401 before its body is validated
    (400, 413 and 415 refuse the request's bytes before any credential is read)."""
    if case.path != REGISTER or case.method.upper() != "POST":
        return
    if response.status_code not in (400, 401, 413, 415):
        raise AssertionError(f"{case.operation.label} answered {response.status_code}, not 401")


def test_each_operation_declares_the_credential_it_takes() -> None:
    """Registration declares the `X-Device-Key` header as its one security scheme, every other
    `/v1` operation the `X-Auth` header: what schemathesis (and any client generated from the
    schema) sends. Two `APIKeyHeader`s need distinct `scheme_name`s: FastAPI names a scheme
    after its class, and schemes of the same name collapse into one."""
    raw = _openapi()
    schemes = raw.get("components", {}).get("securitySchemes", {})
    for path, operations in raw["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            declared = [
                (schemes[name]["type"], schemes[name]["in"], schemes[name]["name"])
                for requirement in operation.get("security", [])
                for name in requirement
            ]
            header = "X-Device-Key" if path == REGISTER else "X-Auth"
            assert declared == [("apiKey", "header", header)], f"{method.upper()} {path}"


@_parametrize(organization_api)
@SETTINGS
def test_api_with_an_organization_token(case: Case[Any], running: RunningApp) -> None:
    """Every operation, as the tenant's organization token (registration: the device key)."""
    _call_with_credentials(case, running)


@_parametrize(account_api)
@SETTINGS
def test_api_with_an_account_token(case: Case[Any], running: RunningApp) -> None:
    """Account tokens create organizations and issue tokens, and must name the organization."""
    _call_with_credentials(case, running)


@_parametrize(anonymous_api)
@hypothesis.settings(SETTINGS, max_examples=10)
def test_api_without_a_token(case: Case[Any], running: RunningApp) -> None:
    # Whatever X-Auth or X-Device-Key schemathesis generates (or none) is sent: never a valid
    # one.
    device_key = case.headers.get("X-Device-Key") if case.headers else None
    assert device_key != running.device_key
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            _never_succeeds_without_auth,
            _register_needs_the_device_key,
        ],
    )
