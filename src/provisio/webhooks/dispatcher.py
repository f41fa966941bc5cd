"""The dispatcher: sends leased deliveries as signed POSTs and records what happened.

Each delivery runs as its own task, so a slow or failing endpoint for one recipe never holds
back the others; the next delivery about the same recipe becomes claimable only when the
previous one is finished (see DeliveryRepository.claim).
"""

import asyncio
import contextlib
import errno
import ipaddress
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from provisio.sdk.signatures import webhook_headers
from provisio.settings import Settings
from provisio.store.deliveries import Claimed, DeliveryRepository, Outcome
from provisio.store.signal import Signal, wait_any
from provisio.store.unit_of_work import Store
from provisio.webhooks.schedule import RetrySchedule, parse_retry_after
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy

log = structlog.get_logger(__name__)

GONE_REASON = "the endpoint answered 410 Gone"
FAILING_LIMIT = timedelta(days=5)
FAILING_REASON = "every delivery attempt failed for 5 days"
PER_HOST = 20
"""Requests in flight to one host and port at a time."""


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
                # errno + strerror: aiohttp's ClientConnectorDNSError shows only the strerror.
                raise OSError(errno.EACCES, f"refused: {error}") from None
        return results

    async def close(self) -> None:
        await self._resolver.close()


def check_literal_address(policy: UrlPolicy, url: str) -> tuple[str, int]:
    """The URL's form, and its host when that is an IP address: aiohttp connects to an address
    literal without asking the resolver, so PolicyResolver never sees it. Returns host, port."""
    host, port = policy.check_url(url)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host, port  # a name: PolicyResolver checks every address it resolves to
    policy.check_address(address)
    return host, port


class HostSlots:
    """At most `size` requests in flight per host and port. Deliveries wait for a slot here,
    before their timeout starts: waiting in aiohttp's connection pool would count against the
    timeout and record the dispatcher's own backlog as the endpoint's failure."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._slots: dict[tuple[str, int], tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str, port: int) -> AsyncIterator[None]:
        key = (host.lower(), port)
        semaphore, users = self._slots.get(key, (asyncio.Semaphore(self._size), 0))
        self._slots[key] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[key]
            if users == 1:
                del self._slots[key]
            else:
                self._slots[key] = (semaphore, users - 1)


def signed_headers(claimed: Claimed, timestamp: int) -> dict[str, str]:
    return webhook_headers(
        claimed.secret,
        claimed.url,
        claimed.event_id,
        timestamp,
        claimed.body,
        sequence_number=claimed.sequence_number,
        exporter_uid=claimed.exporter_uid,
    )


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
        lease: float | None = None,
    ) -> None:
        """`lease`: seconds a claimed delivery stays reserved to this dispatcher; if it dies
        mid-request, another one retries the delivery after that. A delivery is sent only while
        its request can end within the lease, so it must exceed `timeout` (default: `timeout`
        + 30 s)."""
        self._store = store
        self._policy = policy
        self._schedule = schedule
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._concurrency = concurrency
        self._finished = Signal()
        self._tasks: dict[asyncio.Task[None], int] = {}
        """In-flight delivery tasks → their delivery ids."""
        self._lease = timedelta(seconds=timeout + 30 if lease is None else lease)
        self._slots = HostSlots(PER_HOST)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set. Claims happen between transactions; deliveries still in flight
        are then cancelled, and their leases let another dispatcher take them over."""
        stop = stop or asyncio.Event()
        connector = aiohttp.TCPConnector(
            limit=self._concurrency,
            limit_per_host=PER_HOST,
            resolver=PolicyResolver(self._policy),
        )
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self._timeout)
        ) as session:
            try:
                while not stop.is_set():
                    queued = self._store.deliveries_queued.ticket()
                    finished = self._finished.ticket()
                    try:
                        await self._claim_and_start(session)
                    except Exception:  # the database may hiccup; try again shortly
                        log.exception("dispatcher.claim_failed")
                    await wait_any([queued, finished, stop], self._poll_interval)
                await self._interrupt()
            finally:
                for task in list(self._tasks):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _interrupt(self) -> None:
        """On a graceful stop: cancel the requests in flight and release their leases, so the
        next dispatcher to start sends them at once instead of after the lease."""
        interrupted = list(self._tasks.values())
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if interrupted:
            async with self._store.backend.write() as conn:
                await DeliveryRepository(conn).release(interrupted)

    async def _claim_and_start(self, session: aiohttp.ClientSession) -> None:
        free = self._concurrency - len(self._tasks)
        if free <= 0:
            return
        # Taken before the claim, so this dispatcher's idea of when its lease ends is early.
        lease_ends = asyncio.get_running_loop().time() + self._lease.total_seconds()
        async with self._store.backend.write() as conn:
            claimed = await DeliveryRepository(conn).claim(datetime.now(UTC), free, self._lease)
        for item in claimed:
            task = asyncio.create_task(self._deliver(session, item, lease_ends))
            self._tasks[task] = item.delivery_id
            task.add_done_callback(self._forget)

    def _forget(self, task: "asyncio.Task[None]") -> None:
        self._tasks.pop(task, None)

    async def _deliver(
        self, session: aiohttp.ClientSession, claimed: Claimed, lease_ends: float
    ) -> None:
        try:
            sent = await self._send(session, claimed, lease_ends)
            if sent is not None:
                await self._record(claimed, *sent)
        except Exception:
            log.exception("dispatcher.deliver_failed", delivery=claimed.delivery_id)
        finally:
            self._finished.notify()

    async def _send(
        self, session: aiohttp.ClientSession, claimed: Claimed, lease_ends: float
    ) -> tuple[Outcome, float | None] | None:
        """The attempt's outcome and any Retry-After; None when the delivery waited so long for
        a slot that the request could outlast the lease (it is claimed again once that ends)."""
        try:
            host, port = check_literal_address(self._policy, claimed.url)
        except UnsafeWebhookUrl as failure:
            outcome = Outcome(datetime.now(UTC), 0, error=f"{type(failure).__name__}: {failure}")
            return outcome, None
        async with self._slots.hold(host, port):
            if asyncio.get_running_loop().time() + self._timeout > lease_ends:
                log.info("dispatcher.lease_ran_out_in_queue", delivery=claimed.delivery_id)
                return None
            return await self._post(session, claimed)

    async def _post(
        self, session: aiohttp.ClientSession, claimed: Claimed
    ) -> tuple[Outcome, float | None]:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        headers = signed_headers(claimed, int(time.time()))
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            async with session.post(
                claimed.url, data=claimed.body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                if status in (429, 503):
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except (aiohttp.ClientError, OSError) as failure:
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
            elif not outcome.succeeded:
                since = await repository.failing_since(claimed.exporter_uid)
                if since is not None and now - since >= FAILING_LIMIT:
                    await repository.disable_exporter(claimed.exporter_uid, FAILING_REASON, now)


def dispatcher_for(store: Store, settings: Settings) -> Dispatcher:
    return Dispatcher(
        store,
        settings.url_policy,
        settings.schedule,
        timeout=settings.delivery_timeout,
        poll_interval=settings.relay_poll_interval,
    )
