"""The organization's tags, policies and locations as the console's forms offer them: one read
for the three selects of a recipe form, and their names for a page that shows references."""

from dataclasses import dataclass, field
from typing import Any

from provisio.domain.registry import Entry
from provisio.service.tenancy import Principal, scope
from provisio.store.unit_of_work import Store

CHOICES_LIMIT = 1000
"""Entries of each kind a select offers (the API's largest page)."""

Choice = tuple[str, str]
"""(uid, name), as the `select` macro takes its options."""


def _choices(rows: list[tuple[int, Entry[Any]]]) -> list[Choice]:
    return [(entry.uid, entry.spec.name) for _, entry in rows]


@dataclass(frozen=True)
class RegistryChoices:
    tags: list[Choice] = field(default_factory=list)
    policies: list[Choice] = field(default_factory=list)
    """Archived policies are not offered (they stay valid where they are referenced)."""
    locations: list[Choice] = field(default_factory=list)
    archived_policies: list[Choice] = field(default_factory=list)

    def name(self, uid: str | None) -> str:
        """The entry's name; its uid when it is gone (or beyond the first entries read)."""
        if uid is None:
            return ""
        names = dict(self.tags + self.policies + self.locations + self.archived_policies)
        return names.get(uid, uid)


async def registry_choices(store: Store, principal: Principal) -> RegistryChoices:
    """The first `CHOICES_LIMIT` tags, policies and locations of the principal's organization,
    in creation order, read in one transaction."""
    async with store.reader() as uow:
        organizations = await scope(uow, principal, None)
        registries = uow.registries
        tags = await registries.tags.find(organizations, 0, CHOICES_LIMIT)
        policies = await registries.policies.find_by_archived(
            organizations, 0, CHOICES_LIMIT, False
        )
        archived = await registries.policies.find_by_archived(organizations, 0, CHOICES_LIMIT, True)
        locations = await registries.locations.find(organizations, 0, CHOICES_LIMIT)
    return RegistryChoices(
        tags=_choices(tags),
        policies=_choices(policies),
        locations=_choices(locations),
        archived_policies=_choices(archived),
    )
