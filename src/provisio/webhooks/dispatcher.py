"""The dispatcher: sends leased deliveries as signed POSTs and records what happened.

Each delivery runs as its own task, so a slow or failing endpoint for one recipe never holds
back the others; the next delivery about the same recipe becomes claimable only when the
previous one is finished (see DeliveryRepository.claim).
"""

import asyncio
import contextlib
import ipaddress
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from provisio.sdk.signatures import sign_sos, sign_standard
from provisio.settings import Settings
from provisio.store.deliveries import Claimed, DeliveryRepository, Outcome
from provisio.store.signal import Signal
from provisio.store.unit_of_work import Store
from provisio.webhooks.schedule import RetrySchedule, parse_retry_after
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy

log = structlog.get_logger(__name__)

GONE_REASON = "the endpoint answered 410 Gone"


class PolicyResolver(AbstractResolver):
    """DNS at connect time, refusing any address the URL policy forbids (DNS rebinding)."""

    def __init__(self, policy: UrlPolicy) -> None:
        self._policy = policy
        self._resolver = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        for result in results:
            try:
                self._policy.check_address(ipaddress.ip_address(result["host"]))
            except UnsafeWebhookUrl as error:
                raise OSError(str(error)) from None
        return results

    async def close(self) -> None:
        await self._resolver.close()


def signed_headers(claimed: Claimed, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-SOS-Sequence-Number": str(claimed.sequence_number),
        "X-SOS-Exporter-Config-Uid": claimed.exporter_uid,
        "X-SOS-Timestamp": str(timestamp),
        "X-SOS-Signature": sign_sos(claimed.secret, claimed.url, timestamp, claimed.body),
        "webhook-id": claimed.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard(
            claimed.secret, claimed.event_id, timestamp, claimed.body
        ),
    }


class Dispatcher:
    def __init__(
        self,
        store: Store,
        policy: UrlPolicy,
        schedule: RetrySchedule,
        *,
        timeout: float,
        poll_interval: float,
        concurrency: int = 100,
    ) -> None:
        self._store = store
        self._policy = policy
        self._schedule = schedule
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._concurrency = concurrency
        self._finished = Signal()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lease = timedelta(seconds=timeout + 30)

    async def run(self) -> None:
        connector = aiohttp.TCPConnector(limit_per_host=20, resolver=PolicyResolver(self._policy))
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout)
        ) as session:
            try:
                while True:
                    ticket = self._store.positions_assigned.ticket()
                    finished = self._finished.ticket()
                    try:
                        await self._claim_and_start(session)
                    except Exception:  # the database may hiccup; try again shortly
                        log.exception("dispatcher.claim_failed")
                    await _first(ticket, finished, self._poll_interval)
            finally:
                for task in list(self._tasks):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _claim_and_start(self, session: aiohttp.ClientSession) -> None:
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return
        async with self._store.backend.write() as conn:
            claimed = await DeliveryRepository(conn).claim(datetime.now(UTC), free, self._lease)
        for item in claimed:
            task = asyncio.create_task(self._deliver(session, item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, session: aiohttp.ClientSession, claimed: Claimed) -> None:
        try:
            outcome, retry_after = await self._send(session, claimed)
            await self._record(claimed, outcome, retry_after)
        except Exception:
            log.exception("dispatcher.deliver_failed", delivery=claimed.delivery_id)
        finally:
            self._finished.notify()

    async def _send(
        self, session: aiohttp.ClientSession, claimed: Claimed
    ) -> tuple[Outcome, float | None]:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        headers = signed_headers(claimed, int(time.time()))
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            self._policy.check_url(claimed.url)
            async with session.post(
                claimed.url, data=claimed.body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                if status in (429, 503):
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except (aiohttp.ClientError, OSError, UnsafeWebhookUrl) as failure:
            error = f"{type(failure).__name__}: {failure}"
        duration = int((time.perf_counter() - clock) * 1000)
        return Outcome(started, duration, status, error), retry_after

    async def _record(self, claimed: Claimed, outcome: Outcome, retry_after: float | None) -> None:
        now = datetime.now(UTC)
        gone = outcome.http_status == 410
        delay = None if gone else self._schedule.delay_before(claimed.attempts + 2, retry_after)
        next_at = None if outcome.succeeded or delay is None else now + timedelta(seconds=delay)
        async with self._store.backend.write() as conn:
            repository = DeliveryRepository(conn)
            await repository.record(claimed, outcome, next_at)
            if gone:
                await repository.disable_exporter(claimed.exporter_uid, GONE_REASON, now)


def dispatcher_for(store: Store, settings: Settings) -> Dispatcher:
    return Dispatcher(
        store,
        settings.url_policy,
        settings.schedule,
        timeout=settings.delivery_timeout,
        poll_interval=settings.relay_poll_interval,
    )


async def _first(first: asyncio.Event, second: asyncio.Event, seconds: float) -> None:
    """Wait until either event is set, or `seconds` pass."""
    waiters: list[asyncio.Task[Any]] = [
        asyncio.create_task(first.wait()),
        asyncio.create_task(second.wait()),
    ]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
