import json
from datetime import UTC, datetime

import pytest

from provisio.domain.aggregate import Actor
from provisio.domain.brands import BrandRules
from provisio.domain.errors import Conflict, InvalidInput
from provisio.domain.events import Originator, Owner
from provisio.domain.ids import new_uid
from provisio.domain.recipe import Recipe, build_spec, clean_changes
from provisio.domain.status import RecipeStatus
from tests.support import assert_valid_event

RULES = BrandRules()
NOW = datetime(2026, 11, 25, tzinfo=UTC)
ORG = new_uid()
ACTOR = Actor(
    owner=Owner(ownership_type="organization", organization_uid=ORG, parent_company_uid=new_uid()),
    originator=Originator(account_id=7, organization_uid=ORG),
)


def _recipe(**fields: object) -> Recipe:
    body = {"brand": "samsung", "serialNumber": "SN-1", **fields}
    return Recipe.create(new_uid(), ORG, build_spec(body, RULES), NOW, ACTOR)


def _payloads(recipe: Recipe) -> list[dict[str, object]]:
    for event in recipe.events:
        assert_valid_event(event.to_json())
    return [json.loads(event.to_json())["payload"] for event in recipe.events]


def test_create_records_created_with_the_full_state() -> None:
    recipe = _recipe(macAddress="aa-bb-cc-dd-ee-ff", tagUids=[], deviceName=" Lobby ")
    (payload,) = _payloads(recipe)
    assert payload == {
        "owner": ACTOR.owner.model_dump(by_alias=True),
        "uid": recipe.uid,
        "originator": {"accountId": 7, "organizationUid": ORG},
        "type": "Device.ProvisioningRecipeCreated",
        "organizationUid": ORG,
        "status": "Pending",
        "confirmedOwnership": False,
        "serialNumber": "SN-1",
        "macAddress": "AA:BB:CC:DD:EE:FF",
        "brand": "samsung",
        "deviceName": "Lobby",
    }


def test_update_records_the_full_state_after_the_change() -> None:
    recipe = _recipe(deviceName="Lobby", model="QM55")
    recipe.recorded.clear()
    assert recipe.update(clean_changes({"deviceName": "Hall", "model": None}), RULES, NOW, ACTOR)
    (payload,) = _payloads(recipe)
    assert payload["type"] == "Device.ProvisioningRecipeUpdated"
    assert payload["deviceName"] == "Hall"
    assert "model" not in payload
    assert payload["serialNumber"] == "SN-1"
    assert recipe.version == 2


def test_an_update_that_changes_nothing_records_nothing() -> None:
    recipe = _recipe(deviceName="Lobby")
    recipe.recorded.clear()
    assert not recipe.update(
        clean_changes({"deviceName": "Lobby", "serialNumber": " SN-1 "}), RULES, NOW, ACTOR
    )
    assert recipe.events == []
    assert recipe.version == 1


def test_an_update_may_not_break_the_brand_rules() -> None:
    recipe = _recipe()
    with pytest.raises(InvalidInput) as caught:
        recipe.update(clean_changes({"serialNumber": None}), RULES, NOW, ACTOR)
    assert caught.value.details[0].field == "serialNumber"


def test_applied_recipes_are_read_only() -> None:
    recipe = _recipe()
    recipe.status = RecipeStatus.APPLIED
    with pytest.raises(Conflict):
        recipe.update(clean_changes({"deviceName": "x"}), RULES, NOW, ACTOR)


def test_retry_moves_failed_to_pending_and_names_the_device() -> None:
    recipe = _recipe()
    recipe.recorded.clear()
    recipe.status, recipe.error_message, recipe.last_device_uid = (
        RecipeStatus.FAILED,
        "model",
        "d" * 32,
    )
    recipe.retry(NOW, ACTOR)
    updated, status = _payloads(recipe)
    assert updated["status"] == "Pending"
    assert "errorMessage" not in updated
    assert status == {
        "owner": ACTOR.owner.model_dump(by_alias=True),
        "uid": recipe.uid,
        "originator": {"accountId": 7, "organizationUid": ORG},
        "type": "Device.ProvisioningRecipeStatusUpdated",
        "deviceIdentityHash": "d" * 32,
        "status": "Pending",
    }
    with pytest.raises(Conflict):
        recipe.retry(NOW, ACTOR)


def test_delete_records_deleted_with_the_identifiers() -> None:
    recipe = _recipe(macAddress="aabbccddeeff", model="QM55")
    recipe.recorded.clear()
    recipe.delete(ACTOR)
    (payload,) = _payloads(recipe)
    assert {
        k: payload[k] for k in ("type", "status", "brand", "serialNumber", "macAddress", "model")
    } == {
        "type": "Device.ProvisioningRecipeDeleted",
        "status": "Pending",
        "brand": "samsung",
        "serialNumber": "SN-1",
        "macAddress": "AA:BB:CC:DD:EE:FF",
        "model": "QM55",
    }


def test_clean_changes_reports_every_bad_field_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        clean_changes(
            {
                "brand": None,
                "macAddress": "nope",
                "tagUids": ["x", "x"],
                "policyUid": "ABC",
                "deviceName": "  ",
            }
        )
    assert sorted(p.field for p in caught.value.details) == [
        "brand",
        "deviceName",
        "macAddress",
        "policyUid",
        "tagUids",
    ]


def test_system_caused_events_carry_no_originator() -> None:
    system = Actor(owner=ACTOR.owner, originator=None)
    recipe = Recipe.create(
        new_uid(), ORG, build_spec({"brand": "lg", "serialNumber": "1"}, RULES), NOW, system
    )
    (payload,) = _payloads(recipe)
    assert "originator" not in payload
