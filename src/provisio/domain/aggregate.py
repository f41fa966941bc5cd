"""What every aggregate shares: it records the events its changes cause, in causal order."""

import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

from provisio.domain.events import AnyPayload, Event, Originator, Owner, make_event
from provisio.domain.ids import new_event_id

_causal_order = itertools.count()
"""One counter for all aggregates, so events that several aggregates record in one use case
(DeviceUnpaired → Updated → StatusUpdated → DevicePaired) are stored in the order they happened."""


class Recorded(NamedTuple):
    order: int
    event: Event


@dataclass(kw_only=True)
class Aggregate:
    recorded: list[Recorded] = field(default_factory=list, compare=False, repr=False)

    @property
    def events(self) -> list[Event]:
        return [item.event for item in self.recorded]

    def _record(self, payload: AnyPayload) -> None:
        self.recorded.append(Recorded(next(_causal_order), make_event(new_event_id(), payload)))


@dataclass(frozen=True)
class Actor:
    """Whose change this is: the owning organization and, for token holders, the originator
    (`None` when the system caused it: a device registering, an automatic transition)."""

    owner: Owner
    originator: Originator | None
