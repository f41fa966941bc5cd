"""A broadcast wake-up: tasks wait for "something was committed" without polling."""

import asyncio
import contextlib
from enum import StrEnum


class Wake(StrEnum):
    """What a commit can give the background workers to do."""

    EVENTS_COMMITTED = "events_committed"
    """Outbox events wait for feed positions (the relay)."""
    POSITIONS_ASSIGNED = "positions_assigned"
    """New feed positions (feed long-polls, the JetStream publisher)."""
    DELIVERIES_QUEUED = "deliveries_queued"
    """Webhook deliveries are due (the dispatcher)."""
    TOKENS_REVOKED = "tokens_revoked"
    """API tokens were revoked (every process drops its cached token lookups)."""


class Signal:
    """Take a `ticket()` before checking for work, then `wait(ticket)`: no wake-up is lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(ticket: asyncio.Event, seconds: float) -> None:
        """Return when notified after the ticket was taken, or after `seconds`."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation that
        # arrives as the timeout fires, leaving the waiting task impossible to stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await ticket.wait()


async def wait_any(events: list[asyncio.Event], seconds: float) -> None:
    """Return when any of `events` is set, or after `seconds`."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
