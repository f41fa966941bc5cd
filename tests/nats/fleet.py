"""Events to publish: recipes created in real organizations, given feed positions by the relay."""

from dataclasses import dataclass

from provisio.domain.brands import BrandRules
from provisio.nats.publisher import CURSOR
from provisio.service import tenancy
from provisio.service.recipes import create_recipe
from provisio.service.relay import Relay
from provisio.store.events import Outbound
from provisio.store.unit_of_work import Store

RULES = BrandRules()


@dataclass
class Fleet:
    """An organization that creates recipes; `serials` counts them across the test."""

    store: Store
    token: str
    organization_uid: str
    serials: int = 0

    @classmethod
    async def bootstrap(cls, store: Store, org: str = "Lobby") -> "Fleet":
        made = await tenancy.bootstrap(store, "Acme", org)
        return cls(store, made.token.header, made.organization_uid)

    async def create(self, count: int, *, position: bool = True) -> None:
        """Commit `count` recipe creations; with `position`, let the relay position them."""
        principal = await tenancy.authenticate(self.store, self.token)
        for _ in range(count):
            self.serials += 1
            body = {"brand": "lg", "serialNumber": f"SN-{self.organization_uid[:6]}-{self.serials}"}
            await create_recipe(self.store, principal, body, RULES)
        if position:
            await Relay(self.store, 60).drain()


async def feed(store: Store) -> list[Outbound]:
    """Every positioned event of every organization, in feed order."""
    async with store.reader() as uow:
        return await uow.events.read_all(0, 100_000)


async def set_cursor(store: Store, position: int) -> None:
    """Put the publisher's saved cursor back, as a crash after a publish and before the
    cursor's save leaves it."""
    async with store.unit_of_work() as uow:
        await uow.publish_cursors.save(CURSOR, position)
