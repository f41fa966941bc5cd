"""The organization's tags, policies and locations, which recipes (and devices) reference."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from provisio.domain.errors import FieldProblem
from provisio.domain.recipe import RecipeSpec


class RegistryKind(StrEnum):
    TAG = "tag"
    POLICY = "policy"
    LOCATION = "location"


@dataclass(frozen=True)
class RegistryEntry:
    """A named tag, policy or location of one organization."""

    uid: str
    organization_uid: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Reference:
    """One uid a recipe field points at."""

    field: str
    kind: RegistryKind
    uid: str

    def unknown(self) -> FieldProblem:
        return FieldProblem(self.field, f"no {self.kind} {self.uid} in this organization")

    def vanished(self) -> str:
        return f"{self.field}: {self.kind} {self.uid} no longer exists"


def vanished_message(missing: Iterable[Reference]) -> str | None:
    """What makes a recipe Invalid: each of its references that points at nothing any more."""
    return "; ".join(reference.vanished() for reference in missing) or None


def references(spec: RecipeSpec, fields: Iterable[str] | None = None) -> list[Reference]:
    """The references of a spec, optionally only those of some (wire-named) fields."""
    found = [Reference("tagUids", RegistryKind.TAG, uid) for uid in spec.tag_uids]
    if spec.policy_uid is not None:
        found.append(Reference("policyUid", RegistryKind.POLICY, spec.policy_uid))
    if spec.location_uid is not None:
        found.append(Reference("locationUid", RegistryKind.LOCATION, spec.location_uid))
    if fields is None:
        return found
    wanted = set(fields)
    return [reference for reference in found if reference.field in wanted]
