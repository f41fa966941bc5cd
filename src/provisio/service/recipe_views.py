"""What the console's recipe screens read: one page of an organization's recipes with its
per-status counts, and one recipe with its history from the feed. Reads only: every change
goes through `provisio.service.recipes`."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from provisio.domain.errors import InvalidInput
from provisio.domain.identifiers import canonical_mac, serial_key
from provisio.domain.recipe import SPEC_FIELDS, Recipe
from provisio.domain.status import RecipeStatus
from provisio.service.tenancy import Principal, scope, target_organization
from provisio.store.recipes import RecipeFilter, RecipePage, Window
from provisio.store.unit_of_work import Store

HISTORY_LIMIT = 200
"""Events a recipe page lists (the newest); a recipe seldom has more than a handful."""

STATE_FIELDS = (*SPEC_FIELDS, "status", "errorMessage", "warningMessage")
"""A recipe's state as its Created and Updated events carry it, in the order it is shown;
`warningMessage` stands for `unsuccessfulRegisterAttemptStatus.warningMessage`."""


def recipe_filter(status: RecipeStatus | None, search: str | None) -> RecipeFilter:
    """The list's filter: a status, and a search that is a serial number or a MAC address.

    Text that reads as a MAC address in any accepted spelling finds the recipe with that MAC
    (and one whose serial number is written exactly so); any other text is a serial number,
    matched as registration matches it (trimmed, case-insensitive)."""
    text = (search or "").strip()
    if not text:
        return RecipeFilter(status=status)
    try:
        mac = canonical_mac(text)
    except InvalidInput:
        mac = None
    return RecipeFilter(status=status, serial_key=serial_key(text), mac_address=mac)


@dataclass(frozen=True)
class Overview:
    counts: Mapping[RecipeStatus, int]
    """The organization's recipes in each status, whatever the filter."""
    page: RecipePage

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def applied(self) -> int:
        return self.counts[RecipeStatus.APPLIED]


async def overview(
    store: Store, principal: Principal, where: RecipeFilter, window: Window, limit: int
) -> Overview:
    """The counts and one page of recipes, from one snapshot: neither reads more rows than
    the page (the counts are kept as recipes change, see `provisio.store.recipe_counts`)."""
    async with store.reader() as uow:
        organization_uid = await target_organization(uow, principal, None)
        counts = await uow.recipe_counts.of(organization_uid)
        page = await uow.recipes.newest(organization_uid, where, window, limit)
    return Overview(counts, page)


@dataclass(frozen=True)
class Change:
    """A field of the recipe and its value before and after an event (None: no value)."""

    field: str
    before: Any = None
    after: Any = None


@dataclass(frozen=True)
class HistoryEntry:
    position: int
    at: datetime
    type: str
    caused_by: str
    """`account <id>` (the originator of the event), or `system`."""
    changes: tuple[Change, ...]
    whole_state: bool = False
    """An Updated event whose previous state is not listed: `changes` is its whole state."""


@dataclass(frozen=True)
class RecipeHistory:
    recipe: Recipe
    entries: list[HistoryEntry]
    """Newest first."""
    more: bool
    """Older events exist than those listed."""


async def recipe_history(
    store: Store, principal: Principal, uid: str, limit: int = HISTORY_LIMIT
) -> RecipeHistory:
    """The recipe and its positioned events (those the feed shows), from one snapshot."""
    async with store.reader() as uow:
        recipe = await uow.recipes.get(uid, await scope(uow, principal, None))
        # One more than shown: the state an Updated event started from.
        rows = await uow.events.about(recipe.organization_uid, uid, limit + 1)
    entries = _history([(position, at, json.loads(body)) for position, at, body in rows])
    return RecipeHistory(recipe, entries[:limit], more=len(entries) > limit)


def _history(events: Sequence[tuple[int, datetime, dict[str, Any]]]) -> list[HistoryEntry]:
    """Entries for events given newest first; each says what its event changed."""
    entries: list[HistoryEntry] = []
    state: dict[str, Any] | None = None
    for position, at, envelope in reversed(events):
        payload = envelope.get("payload", {})
        kind = str(envelope.get("type", ""))
        changes: tuple[Change, ...] = ()
        whole = False
        if kind.endswith("ProvisioningRecipeCreated"):
            state = _state(payload)
            changes = tuple(Change(name, None, value) for name, value in state.items())
        elif kind.endswith("ProvisioningRecipeUpdated"):
            after = _state(payload)
            whole = state is None
            before = state or {}
            changes = tuple(
                Change(name, before.get(name), after.get(name))
                for name in STATE_FIELDS
                if before.get(name) != after.get(name)
            )
            state = after
        elif kind.endswith("ProvisioningRecipeStatusUpdated"):
            changes = (Change("status", None, payload.get("status")),)
        entries.append(HistoryEntry(position, at, kind, _caused_by(payload), changes, whole))
    entries.reverse()
    return entries


def _state(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe fields an event carries, by their wire names, in `STATE_FIELDS` order."""
    flat = dict(payload)
    warning = flat.get("unsuccessfulRegisterAttemptStatus")
    if isinstance(warning, dict) and "warningMessage" in warning:
        flat["warningMessage"] = warning["warningMessage"]
    if isinstance(flat.get("tagUids"), list):
        flat["tagUids"] = tuple(flat["tagUids"])
    return {name: flat[name] for name in STATE_FIELDS if flat.get(name) is not None}


def _caused_by(payload: Mapping[str, Any]) -> str:
    originator = payload.get("originator")
    if isinstance(originator, dict) and "accountId" in originator:
        return f"account {originator['accountId']}"
    return "system"
