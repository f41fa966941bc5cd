"""The provisioning decision, without a database: branches, transitions and causal order."""

import json
from datetime import UTC, datetime

from provisio.domain.aggregate import Actor
from provisio.domain.brands import BrandRules
from provisio.domain.device import (
    MAX_KNOWN_MACS,
    MAX_MACS,
    Device,
    DeviceReport,
    normalise_verification_hash,
)
from provisio.domain.events import Owner
from provisio.domain.ids import new_uid
from provisio.domain.provisioning import OWNED_ELSEWHERE, Decision, Outcome, provision
from provisio.domain.recipe import Recipe, build_spec
from provisio.domain.status import RecipeStatus
from tests.support import assert_valid_event

NOW = datetime(2026, 11, 25, tzinfo=UTC)
RULES = BrandRules()
HOME, AWAY = new_uid(), new_uid()


def _system(organization_uid: str) -> Actor:
    owner = Owner(
        ownership_type="organization",
        organization_uid=organization_uid,
        parent_company_uid="c" * 32,
    )
    return Actor(owner=owner, originator=None)


def _recipe(organization_uid: str = HOME, **fields: object) -> Recipe:
    spec = build_spec({"brand": "samsung", "serialNumber": "SN-1", **fields}, RULES)
    recipe = Recipe.create(new_uid(), organization_uid, spec, NOW, _system(organization_uid))
    recipe.recorded.clear()
    return recipe


def _device(model: str | None = "QM55", organization_uid: str | None = None) -> Device:
    report = DeviceReport.of(brand="samsung", serial_number="SN-1", model=model)
    return Device(new_uid(), report, "ABCD2345", NOW, NOW, organization_uid=organization_uid)


def _run(device: Device, *candidates: Recipe, vanished: dict[str, str] | None = None) -> Decision:
    return provision(
        device,
        candidates,
        vanished=vanished or {},
        system=_system,
        new_hash=lambda: "NEWC0DE1",
        now=NOW,
    )


def _types(*aggregates: Recipe | Device) -> list[str]:
    recorded = sorted(item for aggregate in aggregates for item in aggregate.recorded)
    for item in recorded:
        assert_valid_event(item.event.to_json())
    return [item.event.type.rsplit(".", 1)[1] for item in recorded]


def test_no_candidate_changes_nothing() -> None:
    device = _device()
    assert _run(device) == Decision(Outcome.NO_RECIPE)
    assert (device.paired, device.recorded) == (False, [])


def test_a_fitting_recipe_is_applied_and_the_device_paired() -> None:
    recipe = _recipe(model="qm55 ", deviceName="Lobby")
    device = _device()
    assert _run(device, recipe) == Decision(Outcome.APPLIED, recipe)
    assert (recipe.status, recipe.device_uid) == (RecipeStatus.APPLIED, device.uid)
    assert (device.organization_uid, device.configuration.name) == (HOME, "Lobby")
    assert _types(recipe, device) == [
        "ProvisioningRecipeUpdated",
        "ProvisioningRecipeStatusUpdated",
        "DevicePaired",
    ]
    assert all("originator" not in json.loads(e.to_json())["payload"] for e in recipe.events)


def test_a_device_already_in_the_organization_is_configured_without_pairing_again() -> None:
    recipe = _recipe(deviceName="Hall")
    device = _device(organization_uid=HOME)
    assert _run(device, recipe) == Decision(Outcome.APPLIED, recipe)
    assert device.configuration.name == "Hall"
    assert _types(recipe, device) == [
        "ProvisioningRecipeUpdated",
        "ProvisioningRecipeStatusUpdated",
    ]


def test_a_move_unpairs_first_and_the_device_shows_a_new_code() -> None:
    recipe = _recipe(confirmedOwnership=True)
    device = _device(organization_uid=AWAY)
    assert _run(device, recipe) == Decision(Outcome.APPLIED, recipe)
    assert _types(recipe, device) == [
        "DeviceUnpaired",
        "ProvisioningRecipeUpdated",
        "ProvisioningRecipeStatusUpdated",
        "DevicePaired",
    ]
    unpaired, paired = (json.loads(e.to_json())["payload"] for e in device.events)
    assert unpaired["owner"]["organizationUid"] == AWAY
    assert paired["owner"]["organizationUid"] == HOME
    assert unpaired["verificationHash"] == paired["verificationHash"] == "NEWC0DE1"


def test_without_confirmed_ownership_the_device_stays_and_the_recipe_is_warned_once() -> None:
    recipe = _recipe()
    device = _device(organization_uid=AWAY)
    assert _run(device, recipe) == _run(device, recipe) == Decision(Outcome.OWNED_ELSEWHERE)
    assert recipe.warning_message == OWNED_ELSEWHERE
    assert recipe.status is RecipeStatus.PENDING
    assert device.organization_uid == AWAY
    assert _types(recipe, device) == ["ProvisioningRecipeUpdated"]


def test_ambiguity_warns_every_candidate_and_applies_none() -> None:
    mine, theirs = _recipe(HOME), _recipe(AWAY)
    device = _device()
    assert _run(device, mine, theirs) == Decision(Outcome.AMBIGUOUS)
    assert mine.warning_message == theirs.warning_message
    assert mine.warning_message is not None
    assert "2 organizations" in mine.warning_message
    assert not device.paired


def test_a_model_mismatch_fails_and_a_vanished_reference_invalidates() -> None:
    failed = _recipe(model="QM65")
    device = _device()
    assert _run(device, failed) == Decision(Outcome.MODEL_MISMATCH)
    assert failed.status is RecipeStatus.FAILED
    assert failed.last_device_uid == device.uid
    invalid = _recipe()
    decision = _run(device, invalid, vanished={invalid.uid: "policyUid: gone"})
    assert decision == Decision(Outcome.VANISHED_REFERENCE)
    assert (invalid.status, invalid.error_message) == (RecipeStatus.INVALID, "policyUid: gone")
    assert not device.paired


def test_codes_are_read_case_insensitively() -> None:
    assert normalise_verification_hash("  abcd2345 ") == "ABCD2345"


def test_a_device_keeps_the_first_macs_it_reported_up_to_a_bound() -> None:
    device = _device()
    for batch in range(5):
        macs = [f"02:00:00:00:{batch:02x}:{n:02x}" for n in range(MAX_MACS)]
        report = DeviceReport.of(brand="samsung", serial_number="SN-1", mac_addresses=macs)
        device.registered(report, report.mac_addresses, NOW)
    known = device.report.mac_addresses
    assert len(known) == MAX_KNOWN_MACS
    assert known[0] == "02:00:00:00:00:00"
    assert device.report.serial_number == "SN-1"
