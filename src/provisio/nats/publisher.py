"""The JetStream publisher: every organization's events, in feed order, each exactly once.

Exactly once, whatever the outage: the stream's own last message says how far publishing got.
Before each batch the publisher reads it (stream info → last sequence → that message's
`Nats-Msg-Id`), finds that event's feed position, and continues after it when it is ahead of the
saved cursor — as it is after a crash between a publish and the cursor's save. One publisher at a
time (the backend's publisher lock) sends events in position order on one connection, which the
server stores in the order it reads them, so the stream always holds a prefix of the feed and its
last message tells exactly where that prefix ends. JetStream's duplicate window (`Nats-Msg-Id`)
is only a second line of defence, for the moments when a lost connection leaves a batch's fate
unknown; it is never needed across an outage, however long.
"""

import asyncio
from collections.abc import Sequence

import structlog
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck, StreamConfig
from nats.js.errors import NotFoundError
from prometheus_client import Counter

from provisio.nats.stream import MSG_ID, STREAM, SUBJECT_PREFIX, connect, redact, subject
from provisio.store.events import Outbound
from provisio.store.signal import wait_any
from provisio.store.unit_of_work import Store

log = structlog.get_logger(__name__)
PUBLISHED = Counter("provisio_jetstream_published_total", "Events published to NATS JetStream")

CURSOR = "jetstream"
"""The publisher's row in `publish_cursors`."""
BATCH = 500
ACK_TIMEOUT = 10.0
"""Seconds a batch's acknowledgements may take before the connection is given up."""
FIRST_RETRY = 0.5
MAX_RETRY = 30.0


class Publisher:
    """Publishes positioned events to JetStream; wakes when the relay assigns positions and
    polls for the positions other processes assign."""

    def __init__(
        self,
        store: Store,
        url: str,
        *,
        stream: str = STREAM,
        subject_prefix: str = SUBJECT_PREFIX,
        duplicate_window: float | None = None,
        cursor: str = CURSOR,
        poll_interval: float = 1.0,
        batch: int = BATCH,
        ack_timeout: float = ACK_TIMEOUT,
        max_retry: float = MAX_RETRY,
    ) -> None:
        """`duplicate_window` (seconds) is used only when the stream is created; None keeps the
        server's default (2 minutes)."""
        self._store = store
        self._url = url
        self._stream = stream
        self._prefix = subject_prefix
        self._duplicate_window = duplicate_window
        self._cursor = cursor
        self._poll_interval = poll_interval
        self._batch = batch
        self._ack_timeout = ack_timeout
        self._max_retry = max_retry
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set. A failure (NATS or database unreachable) is logged and retried
        with backoff on a fresh connection; it never ends the loop."""
        retry = 0.0
        try:
            while not stop.is_set():
                ticket = self._store.positions_assigned.ticket()
                try:
                    await self.drain()
                except Exception as error:
                    retry = min(self._max_retry, max(FIRST_RETRY, retry * 2))
                    self._report(error, retry)
                    await self._disconnect()
                    await wait_any([stop], retry)
                    continue
                if retry:
                    log.info("jetstream.resumed", server=redact(self._url))
                    retry = 0.0
                await wait_any([ticket, stop], self._poll_interval)
        finally:
            await self._disconnect()

    async def drain(self) -> int:
        """Publish everything positioned so far; how many events were published."""
        total = 0
        while count := await self.publish_once():
            total += count
        return total

    async def publish_once(self) -> int:
        """Publish the next batch and save the cursor after it; how many events were published
        (0 when there is nothing new, or another publisher holds the lock)."""
        async with self._store.backend.lock_publisher() as held:
            if not held:
                return 0
            js = await self._jetstream()
            async with self._store.reader() as uow:
                saved = await uow.publish_cursors.position(self._cursor)
                pending = await uow.events.read_all(saved, self._batch)
            if not pending:
                return 0
            start = max(saved, await self._stream_reached(js))
            if start > saved:
                log.info("jetstream.reconciled", cursor=saved, stream_reached=start)
                async with self._store.reader() as uow:
                    pending = await uow.events.read_all(start, self._batch)
            await self._publish(js, pending)
            async with self._store.unit_of_work() as uow:
                await uow.publish_cursors.save(
                    self._cursor, pending[-1].position if pending else start
                )
        PUBLISHED.inc(len(pending))
        return len(pending)

    async def _jetstream(self) -> JetStreamContext:
        """The live connection's JetStream context; a new connection makes sure the stream
        exists."""
        if self._nc is None or self._nc.is_closed or self._js is None:
            await self._disconnect()
            self._nc = await connect(self._url, name="provisio-publisher", on_error=_quiet)
            self._js = self._nc.jetstream()
            await self._ensure_stream(self._js)
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self._stream,
                    subjects=[f"{self._prefix}.>"],
                    duplicate_window=self._duplicate_window or 0,  # 0: the server's default
                )
            )
            log.info("jetstream.stream_created", stream=self._stream)

    async def _stream_reached(self, js: JetStreamContext) -> int:
        """The feed position of the stream's last message (0 when it has none provisio knows)."""
        state = (await js.stream_info(self._stream)).state
        if not state.messages:
            return 0
        try:
            last = await js.get_msg(self._stream, seq=state.last_seq)
        except NotFoundError:  # the last message was deleted by hand
            last = None
        event_id = (last.headers or {}).get(MSG_ID) if last is not None else None
        position = None
        if event_id is not None:
            async with self._store.reader() as uow:
                position = await uow.events.position_of(event_id)
        if position is None:
            log.warning(
                "jetstream.unknown_last_message",
                stream=self._stream,
                sequence=state.last_seq,
                event_id=event_id,
            )
            return 0
        return position

    async def _publish(self, js: JetStreamContext, batch: Sequence[Outbound]) -> None:
        """Send the whole batch, then await the acknowledgements in order. On one connection the
        server stores messages in the order it reads them, so a failure leaves a prefix of the
        batch in the stream, which the next reconciliation continues after."""
        acks: list[asyncio.Future[PubAck]] = []
        try:
            for event in batch:
                acks.append(
                    await js.publish_async(
                        subject(self._prefix, event.organization_uid, event.type),
                        event.body,
                        headers={MSG_ID: event.event_id},
                        stream=self._stream,
                    )
                )
            async with asyncio.timeout(self._ack_timeout):
                for ack in acks:
                    await ack
        finally:
            for ack in acks:
                ack.cancel()
            await asyncio.gather(*acks, return_exceptions=True)

    async def _disconnect(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception as error:  # a connection that is already broken
                log.debug("jetstream.close_failed", error=_describe(error))

    def _report(self, error: Exception, retry: float) -> None:
        """A warning without a traceback for an outage; a traceback for anything else."""
        if isinstance(error, NatsError | OSError | TimeoutError):
            log.warning(
                "jetstream.unavailable",
                server=redact(self._url),
                error=_describe(error),
                retry_in=retry,
            )
        else:
            log.exception("jetstream.failed", retry_in=retry)


async def _quiet(error: Exception) -> None:
    """nats-py reports each failed connection attempt here; `run` logs the outcome once."""
    log.debug("jetstream.connection_error", error=_describe(error))


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
