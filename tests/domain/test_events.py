"""The event models, the committed JSON Schemas and the authoritative signageOS sample."""

import json

import pytest

from provisio.domain.events import (
    PAYLOAD_MODELS,
    ProvisioningRecipeUpdated,
    envelope_schema,
    parse_event,
)
from tests.support import SCHEMAS, SEED, assert_valid_event


def test_committed_schemas_match_the_models() -> None:
    """Regenerate with `provisio schema export schemas/events` when a model changes."""
    committed = {path.name for path in SCHEMAS.glob("*.json")}
    expected = set()
    for model in PAYLOAD_MODELS:
        schema = envelope_schema(model)
        name = f"{schema['title']}.json"
        expected.add(name)
        assert json.loads((SCHEMAS / name).read_text()) == schema, f"{name} drifted from its model"
    assert committed == expected


def test_the_seed_example_validates_against_the_committed_schema() -> None:
    assert_valid_event(SEED.read_text())


def test_the_seed_example_round_trips_through_the_model_unchanged() -> None:
    original = json.loads(SEED.read_text())
    event = parse_event(SEED.read_text())
    assert isinstance(event.payload, ProvisioningRecipeUpdated)
    again = json.loads(event.to_json())
    assert again == original
    assert list(again["payload"]) == list(original["payload"]), "field order differs from the seed"


def test_an_envelope_with_an_unknown_field_is_refused() -> None:
    original = json.loads(SEED.read_text())
    original["payload"]["surprise"] = 1
    with pytest.raises(ValueError, match="surprise"):
        parse_event(json.dumps(original))
