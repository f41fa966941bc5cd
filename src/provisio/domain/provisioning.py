"""Matching a registering device to its recipe: every branch of the provisioning rules.

Pure: the service layer loads the device, the candidate recipes (Pending or Failed, same brand,
same serial number or one of the device's MACs) and which references have vanished, and stores
whatever this decides together with the events the aggregates recorded.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from provisio.domain.aggregate import Actor
from provisio.domain.device import Configuration, Device
from provisio.domain.recipe import Recipe


class Outcome(StrEnum):
    """What a registration did; one per branch of the provisioning rules."""

    APPLIED = "applied"
    NO_RECIPE = "no_recipe"
    AMBIGUOUS = "ambiguous"
    OWNED_ELSEWHERE = "owned_elsewhere"
    MODEL_MISMATCH = "model_mismatch"
    VANISHED_REFERENCE = "vanished_reference"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    applied: Recipe | None = None


def ambiguous_organizations(count: int) -> str:
    return (
        f"ambiguous: this device matches recipes in {count} organizations, so none was "
        "applied; keep a recipe for it in one organization only"
    )


def ambiguous_recipes(count: int) -> str:
    return (
        f"ambiguous: this device matches {count} recipes of this organization (by serial "
        "number and by MAC address), so none was applied; keep one of them"
    )


OWNED_ELSEWHERE = (
    "the device is owned by another organization; confirm ownership "
    "(confirmedOwnership: true) to move it to this one"
)


def model_mismatch(expected: str, reported: str | None) -> str:
    if reported is None:
        return f"the recipe expects model {expected!r} but the device reported no model"
    return f"the recipe expects model {expected!r} but the device reported {reported!r}"


def _same_model(expected: str, reported: str | None) -> bool:
    return reported is not None and expected.strip().casefold() == reported.strip().casefold()


def provision(
    device: Device,
    candidates: Sequence[Recipe],
    *,
    vanished: Mapping[str, str],
    system: Callable[[str], Actor],
    new_hash: Callable[[], str],
    now: datetime,
) -> Decision:
    """Apply the one recipe that fits the device, or record on the candidates why not.

    `vanished` maps a candidate's uid to a message naming the references of it that no longer
    exist; `system(organization_uid)` is the system actor of an organization.
    """
    if not candidates:
        return Decision(Outcome.NO_RECIPE)
    if len(candidates) > 1:
        organizations = {recipe.organization_uid for recipe in candidates}
        message = (
            ambiguous_organizations(len(organizations))
            if len(organizations) > 1
            else ambiguous_recipes(len(candidates))
        )
        for recipe in candidates:
            recipe.warn(message, now, system(recipe.organization_uid))
        return Decision(Outcome.AMBIGUOUS)
    (recipe,) = candidates
    actor = system(recipe.organization_uid)
    moving = device.organization_uid not in (None, recipe.organization_uid)
    if moving and not recipe.spec.confirmed_ownership:
        recipe.warn(OWNED_ELSEWHERE, now, actor)
        return Decision(Outcome.OWNED_ELSEWHERE)
    expected_model = recipe.spec.model
    if expected_model is not None and not _same_model(expected_model, device.report.model):
        recipe.fail(device.uid, model_mismatch(expected_model, device.report.model), now, actor)
        return Decision(Outcome.MODEL_MISMATCH)
    if recipe.uid in vanished:
        recipe.invalidate(device.uid, vanished[recipe.uid], now, actor)
        return Decision(Outcome.VANISHED_REFERENCE)
    if moving:
        assert device.organization_uid is not None
        device.unpair(system(device.organization_uid), new_hash(), now)
    recipe.apply(device.uid, now, actor)
    device.configure(Configuration.of(recipe.spec, now), recipe.uid, now)
    if device.organization_uid is None:
        device.pair(actor, now)
    return Decision(Outcome.APPLIED, recipe)
