"""The dispatcher: sends leased deliveries as signed POSTs and records what happened.

Each delivery runs as its own task, so a slow or failing endpoint for one recipe never holds
back the others; the next delivery about the same recipe becomes claimable only when the
previous one is finished (see DeliveryRepository.claim).
"""

import asyncio
import collections
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import structlog

from provisio.domain.ids import new_uid
from provisio.sdk.signatures import webhook_headers
from provisio.settings import Settings
from provisio.store.deliveries import Claimed, Outcome, Result
from provisio.store.signal import wait_any
from provisio.store.unit_of_work import Store, UnitOfWork
from provisio.webhooks.schedule import RetrySchedule
from provisio.webhooks.sending import (
    PER_HOST,
    check_literal_address,
    client_session,
    internal_error,
    post,
    refused,
)
from provisio.webhooks.url_policy import UnsafeWebhookUrl, UrlPolicy

log = structlog.get_logger(__name__)

GONE_REASON = "the endpoint answered 410 Gone"
FAILING_LIMIT = timedelta(days=5)
FAILING_REASON = "every delivery attempt failed for 5 days"


@functools.lru_cache(maxsize=4096)
def checked_destination(policy: UrlPolicy, url: str) -> tuple[str, int]:
    """`check_literal_address`, once per exporter URL (it depends on nothing else): the lane
    (host in lower case, port) its deliveries queue in."""
    host, port = check_literal_address(policy, url)
    return host.lower(), port


Lane = tuple[str, int]
"""A destination: host (lower case) and port."""


class HostLanes:
    """Per host and port, a queue of claimed deliveries served by at most `size` senders.

    Deliveries wait here, before their timeout starts: waiting in aiohttp's connection pool
    would count against the timeout and record the dispatcher's own backlog as the endpoint's
    failure. A queue served by a few senders costs nothing per waiting delivery (a task parked
    on a semaphore per delivery cost more than the request when hundreds waited).
    """

    def __init__(self, size: int, send: Callable[[Claimed, float], Awaitable[None]]) -> None:
        self._size = size
        self._send = send
        self._queues: dict[Lane, collections.deque[tuple[Claimed, float]]] = {}
        self._senders: collections.Counter[Lane] = collections.Counter()
        self.tasks: set[asyncio.Task[None]] = set()
        """Senders running now (cancelled when the dispatcher stops)."""

    def put(self, lane: Lane, claimed: Claimed, lease_ends: float) -> None:
        self._queues.setdefault(lane, collections.deque()).append((claimed, lease_ends))
        if self._senders[lane] < self._size:
            self._senders[lane] += 1
            task = asyncio.create_task(self._serve(lane))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _serve(self, lane: Lane) -> None:
        queue = self._queues[lane]
        try:
            while queue:
                await self._send(*queue.popleft())
        finally:
            self._senders[lane] -= 1
            if not self._senders[lane]:
                del self._senders[lane]
                if not queue:
                    del self._queues[lane]


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
    """Claims due deliveries, sends each as its own task, and records their outcomes.

    Bookkeeping is batched (group commit): one transaction records every outcome that arrived
    since the last one and, in the same transaction, claims as many new deliveries as there are
    free slots; while it runs, the next outcomes gather for the next.
    """

    def __init__(
        self,
        store: Store,
        policy: UrlPolicy,
        schedule: RetrySchedule,
        *,
        timeout: float,
        poll_interval: float,
        concurrency: int = 200,
        lease: float | None = None,
        owner: str | None = None,
    ) -> None:
        """`lease`: seconds a claimed delivery stays reserved to this dispatcher; if it dies
        mid-request, another one retries the delivery after that. A delivery is sent only while
        its request can end within the lease, so it must exceed `timeout` (default: `timeout`
        + 30 s). `owner`: the name its leases are held under; a stable name (a restarted
        process) takes back at start what its previous life left leased, a fresh one (the
        default) waits for those leases to run out."""
        self._store = store
        self._policy = policy
        self._schedule = schedule
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._concurrency = concurrency
        self._owner = owner or new_uid()
        self._resume = owner is not None
        self._answered = asyncio.Event()
        """Set when an outcome joins `_results` (level-triggered: cheap to set per answer)."""
        self._results: list[Result] = []
        """Outcomes waiting for the next bookkeeping transaction."""
        self._claimed: set[int] = set()
        """Deliveries this dispatcher holds: claimed, their outcome not yet recorded."""
        self._lease = timedelta(seconds=timeout + 30 if lease is None else lease)
        self._lanes: HostLanes | None = None
        """Senders per destination, bound to the HTTP session while `run` runs."""

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set. Claims happen between transactions; deliveries still in flight
        are then cancelled, and their leases let another dispatcher take them over."""
        stop = stop or asyncio.Event()
        async with client_session(self._policy, self._timeout, limit=self._concurrency) as session:
            self._lanes = HostLanes(
                PER_HOST, lambda claimed, ends: self._deliver(session, claimed, ends)
            )
            try:
                if self._resume:
                    await self._take_back_leases()
                while not stop.is_set():
                    queued = self._store.deliveries_queued.ticket()
                    self._answered.clear()
                    try:
                        await self._bookkeep()
                    except Exception:  # the database may hiccup; try again shortly
                        log.exception("dispatcher.bookkeeping_failed")
                    await wait_any([queued, self._answered, stop], self._poll_interval)
                await self._interrupt()
            finally:
                await self._cancel_senders()

    async def _cancel_senders(self) -> None:
        assert self._lanes is not None
        for task in list(self._lanes.tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._lanes.tasks, return_exceptions=True)

    async def _take_back_leases(self) -> None:
        async with self._store.unit_of_work() as uow:
            resumed = await uow.deliveries.release_all(self._owner)
        if resumed:
            log.info("dispatcher.resumed", deliveries=resumed, owner=self._owner)

    async def _interrupt(self) -> None:
        """On a graceful stop: cancel the requests in flight, record what already came back,
        and release the other leases, so the next dispatcher sends them at once instead of
        after the lease."""
        await self._cancel_senders()
        results, self._results = self._results, []
        recorded = {r.claimed.delivery_id for r in results}
        interrupted = [i for i in self._claimed if i not in recorded]
        self._claimed.clear()
        async with self._store.unit_of_work() as uow:
            if results:
                await self._write(uow, results)
            if interrupted:
                await uow.deliveries.release(interrupted, self._owner)

    async def _bookkeep(self) -> None:
        """One transaction: record the outcomes gathered so far, claim new work."""
        results, self._results = self._results, []
        free = self._concurrency - len(self._claimed) + len(results)
        if not results and free <= 0:
            return
        # Taken before the claim, so this dispatcher's idea of when its lease ends is early.
        lease_ends = asyncio.get_running_loop().time() + self._lease.total_seconds()
        try:
            async with self._store.unit_of_work() as uow:
                if results:
                    await self._write(uow, results)
                claimed = (
                    await uow.deliveries.claim(datetime.now(UTC), free, self._lease, self._owner)
                    if free > 0
                    else []
                )
        except Exception:
            await self._write_one_by_one(results)
            raise
        finally:
            for result in results:
                self._claimed.discard(result.claimed.delivery_id)
        assert self._lanes is not None
        for item in claimed:
            self._claimed.add(item.delivery_id)
            try:
                lane = checked_destination(self._policy, item.url)
            except UnsafeWebhookUrl as failure:
                self._answer(item, refused(failure), None)
                continue
            self._lanes.put(lane, item, lease_ends)

    async def _write(self, uow: UnitOfWork, results: list[Result]) -> None:
        now = datetime.now(UTC)
        kept = await uow.deliveries.record(results, self._owner)
        if len(kept) < len(results):
            log.warning("dispatcher.lease_lost", deliveries=len(results) - len(kept))
        if not kept:
            return
        failing = await uow.deliveries.track_failures(kept)  # locks what the batch may disable
        gone = {r.claimed.exporter_uid for r in kept if r.outcome.http_status == 410}
        too_long = {uid for uid, since in failing.items() if now - since >= FAILING_LIMIT}
        for exporter_uid in sorted(gone | too_long):
            reason = GONE_REASON if exporter_uid in gone else FAILING_REASON
            await uow.deliveries.disable_exporter(exporter_uid, reason, now)

    async def _write_one_by_one(self, results: list[Result]) -> None:
        """When a batch cannot be written, each outcome is tried alone, so one that the
        database refuses neither loses the others nor goes unrecorded: it is stored as an
        attempt that failed inside provisio, and its schedule goes on."""
        for result in results:
            try:
                async with self._store.unit_of_work() as uow:
                    await self._write(uow, [result])
            except Exception as failure:
                log.error("dispatcher.record_failed", delivery=result.claimed.delivery_id)
                fallback = replace(
                    result,
                    outcome=Outcome(
                        result.outcome.attempted_at,
                        result.outcome.duration_ms,
                        error=internal_error("recording the answer", failure),
                    ),
                )
                with contextlib.suppress(Exception):
                    async with self._store.unit_of_work() as uow:
                        await self._write(uow, [fallback])

    async def _deliver(
        self, session: aiohttp.ClientSession, claimed: Claimed, lease_ends: float
    ) -> None:
        """Send one delivery now that its destination has a free sender, unless it waited so
        long that the request could outlast its lease (it is claimed again once that ends)."""
        if asyncio.get_running_loop().time() + self._timeout > lease_ends:
            log.info("dispatcher.lease_ran_out_in_queue", delivery=claimed.delivery_id)
            self._claimed.discard(claimed.delivery_id)
            return
        try:
            outcome, retry_after = await self._post(session, claimed)
        except Exception as failure:  # a failure inside provisio is this attempt's outcome
            log.error("dispatcher.send_failed", delivery=claimed.delivery_id)
            outcome = Outcome(datetime.now(UTC), 0, error=internal_error("sending", failure))
            retry_after = None
        self._answer(claimed, outcome, retry_after)

    def _answer(self, claimed: Claimed, outcome: Outcome, retry_after: float | None) -> None:
        """Hand an attempt's outcome to the next bookkeeping transaction."""
        self._results.append(self._result(claimed, outcome, retry_after))
        self._answered.set()

    def _result(self, claimed: Claimed, outcome: Outcome, retry_after: float | None) -> Result:
        delay = (
            None
            if outcome.http_status == 410
            else self._schedule.delay_before(claimed.attempts + 2, retry_after)
        )
        next_at = None if delay is None else datetime.now(UTC) + timedelta(seconds=delay)
        return Result(claimed, outcome, next_at)

    async def _post(
        self, session: aiohttp.ClientSession, claimed: Claimed
    ) -> tuple[Outcome, float | None]:
        headers = signed_headers(claimed, int(time.time()))
        return await post(session, claimed.url, claimed.body, headers)


def dispatcher_for(store: Store, settings: Settings, owner: str | None = None) -> Dispatcher:
    """`owner`: the name leases are held under when `PROVISIO_WORKER_ID` names none."""
    return Dispatcher(
        store,
        settings.url_policy,
        settings.schedule,
        timeout=settings.delivery_timeout,
        poll_interval=settings.relay_poll_interval,
        lease=settings.delivery_lease,
        owner=settings.worker_id or owner,
    )
