"""A real HTTP webhook receiver on loopback, with programmable faults, for dispatcher tests.

The dispatcher is tested against a real socket rather than a mock so that timeouts, resets,
redirects and `Retry-After` reach it exactly as they would from a customer's endpoint::

    async with WebhookReceiver(secret=SECRET) as receiver:
        receiver.fail(times=2, status=503)                 # 503, 503, then the default 204
        receiver.hold(when=for_uid(stalled_recipe_uid))    # this recipe waits; others flow
        ...                                                # point an exporter at receiver.url
        await receiver.wait_for(3)
        assert receiver.event_ids() == [first, first, first]
        assert all(d.verified for d in receiver.deliveries())

Fault rules are kept in the order they were added; each request takes the first live rule whose
`when` predicate matches it (a rule with `times=None` never runs out), and requests no rule
takes are answered with the default status (204).
"""

import asyncio
import json
import math
import socket
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from provisio.sdk import verify_webhook

Predicate = Callable[["Delivery"], bool]
"""Decides whether a fault rule applies to a request (already recorded as a `Delivery`)."""

Action = Literal["fail", "delay", "reset", "redirect"]


@dataclass(slots=True)
class Delivery:
    """One request as the receiver saw it, kept so tests can assert on what was sent and when."""

    received_at: float
    """`time.monotonic()` when the request (headers and body) had arrived."""
    method: str
    path: str
    headers: CIMultiDictProxy[str]
    body: bytes
    json: Any
    """The parsed body, or None when the body is not JSON."""
    verified: bool | None = None
    """Whether `provisio.sdk.verify_webhook` accepted it; None when the receiver has no secret."""
    verification_error: str | None = None
    status: int | None = None
    """The status answered (after any delay); None when the connection was reset instead."""
    rule: "Rule | None" = None
    """The fault rule that decided the answer; None for the default answer."""
    answered_at: float | None = None
    """`time.monotonic()` when the handler finished, to check that deliveries did not overlap."""

    @property
    def event_id(self) -> str | None:
        """`webhook-id`, else the body's `id`: the same on every attempt of one event."""
        found = self.headers.get("webhook-id")
        if found is None and isinstance(self.json, dict):
            value = self.json.get("id")
            found = value if isinstance(value, str) else None
        return found

    @property
    def event_type(self) -> str | None:
        value = self.json.get("type") if isinstance(self.json, dict) else None
        return value if isinstance(value, str) else None

    @property
    def uid(self) -> str | None:
        """`payload.uid`: the recipe an event is about (None for device events)."""
        payload = self.json.get("payload") if isinstance(self.json, dict) else None
        value = payload.get("uid") if isinstance(payload, dict) else None
        return value if isinstance(value, str) else None

    @property
    def sequence(self) -> int | None:
        """`X-SOS-Sequence-Number` as an int (per exporter, kept on retries)."""
        value = self.headers.get("X-SOS-Sequence-Number")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def ok(self) -> bool:
        """Answered 2xx: the dispatcher should count this attempt as delivered."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(eq=False)
class Rule:
    """One programmed fault; returned so a test can cancel, release or inspect it."""

    action: Action
    when: Predicate | None
    times: int | None
    """Requests it still applies to; None means until cancelled."""
    status: int = 204
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    hits: int = 0
    """Requests it has answered so far."""
    _released: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def live(self) -> bool:
        return not self._released.is_set() and (self.times is None or self.times > 0)

    def cancel(self) -> None:
        """Stop applying to new requests (held ones keep waiting until `release`)."""
        self.times = 0

    def release(self) -> None:
        """Let held or delayed requests answer now, and stop applying to new ones."""
        self._released.set()


def for_uid(uid: str) -> Predicate:
    """Match events about one recipe (`payload.uid`), e.g. to stall it while others flow."""
    return lambda delivery: delivery.uid == uid


def for_event(event_id: str) -> Predicate:
    """Match every attempt of one event (`webhook-id`, else the body's `id`)."""
    return lambda delivery: delivery.event_id == event_id


class WebhookReceiver:
    """An aiohttp server on 127.0.0.1 (ephemeral port) that records requests and injects faults.

    Use it as an async context manager (or call `start` / `close`). Every path is served, so a
    redirect target on the same server is recorded too; `url` points at `path`.
    """

    def __init__(
        self,
        secret: str | None = None,
        *,
        signed_url: str | None = None,
        path: str = "/hook",
        status: int = 204,
    ) -> None:
        """`secret` turns on signature checking (recorded, never enforced); `signed_url` is the
        `config.url` the dispatcher signs when it differs from `url` (e.g. behind a proxy)."""
        self.secret = secret
        self.signed_url = signed_url
        self.path = path
        self.status = status
        self._rules: list[Rule] = []
        self._deliveries: list[Delivery] = []
        self._errors: list[BaseException] = []
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner: web.AppRunner | None = None
        self._base = ""

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind an ephemeral loopback port, so parallel tests never collide."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self._base = f"http://{host}:{port}"

    async def close(self) -> None:
        """Release held requests, stop the server, and surface errors raised by predicates."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # Handlers whose client already hung up are no longer tracked by aiohttp: wait for them
        # here so no task outlives the test's event loop.
        await asyncio.wait_for(self._idle.wait(), timeout=5.0)
        if self._errors:
            raise self._errors[0]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.close()
            return
        self._errors.clear()  # the test's own failure is the one worth reporting
        await self.close()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>/hook` (or the configured path)."""
        return self.url_for(self.path)

    def url_for(self, path: str) -> str:
        if not self._base:
            raise RuntimeError("the receiver is not started")
        return self._base + path

    # -- faults ------------------------------------------------------------------------------

    def fail(
        self,
        status: int = 503,
        *,
        times: int | None = 1,
        retry_after: str | None = None,
        headers: Mapping[str, str] | None = None,
        when: Predicate | None = None,
    ) -> Rule:
        """Answer `status` (with `Retry-After` when given) to the next `times` matching requests."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        return self._add(Rule("fail", when, times, status=status, headers=extra))

    def delay(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        status: int = 204,
        when: Predicate | None = None,
    ) -> Rule:
        """Wait `seconds` before answering `status`: longer than a client timeout, it times out."""
        return self._add(Rule("delay", when, times, status=status, seconds=seconds))

    def hold(
        self, *, times: int | None = None, status: int = 204, when: Predicate | None = None
    ) -> Rule:
        """Keep matching requests open until `rule.release()` (or close): stalls one recipe."""
        return self.delay(math.inf, times=times, status=status, when=when)

    def reset(self, *, times: int | None = 1, when: Predicate | None = None) -> Rule:
        """Abort the TCP connection (RST) without any HTTP response."""
        return self._add(Rule("reset", when, times, status=0))

    def redirect(
        self,
        to: str,
        *,
        status: int = 302,
        times: int | None = 1,
        when: Predicate | None = None,
    ) -> Rule:
        """Answer a redirect to `to`, which a webhook dispatcher must not follow."""
        return self._add(Rule("redirect", when, times, status=status, headers={"Location": to}))

    def clear(self) -> None:
        """Drop every rule and release held requests: from now on everything gets the default."""
        for rule in self._rules:
            rule.release()
        self._rules.clear()

    def _add(self, rule: Rule) -> Rule:
        if rule.times is not None and rule.times < 1:
            raise ValueError("times must be at least 1 (or None for until cancelled)")
        self._rules.append(rule)
        return rule

    def _take(self, delivery: Delivery) -> Rule | None:
        self._rules = [rule for rule in self._rules if rule.live]
        for rule in self._rules:
            if rule.when is None or rule.when(delivery):
                if rule.times is not None:
                    rule.times -= 1
                rule.hits += 1
                return rule
        return None

    # -- records -----------------------------------------------------------------------------

    def deliveries(self, when: Predicate | None = None) -> list[Delivery]:
        """Every request so far, in arrival order (optionally only those matching `when`)."""
        return [d for d in self._deliveries if when is None or when(d)]

    def event_ids(self, when: Predicate | None = None) -> list[str | None]:
        """The event id of every request, repeats included (one per attempt)."""
        return [d.event_id for d in self.deliveries(when)]

    async def wait_for(
        self,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded default keeps a stuck test short
        *,
        when: Predicate | None = None,
    ) -> list[Delivery]:
        """Wait until at least `count` (matching) requests arrived, and return them.

        Raises TimeoutError naming what did arrive, so a failing test says how far it got.
        """

        def enough() -> bool:
            return len(self.deliveries(when)) >= count

        try:
            async with asyncio.timeout(timeout), self._arrived:
                await self._arrived.wait_for(enough)
        except TimeoutError:
            got = [(d.method, d.path, d.event_id, d.status) for d in self.deliveries(when)]
            raise TimeoutError(
                f"expected {count} deliveries within {timeout}s, got {len(got)}: {got}"
            ) from None
        return self.deliveries(when)

    # -- the handler -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self._idle.clear()
        delivery: Delivery | None = None
        try:
            delivery = await self._record(request)
            try:
                rule = self._take(delivery)
            except Exception as error:  # a broken predicate must fail the test, not hide
                self._errors.append(error)
                delivery.status = 500
                return web.Response(status=500, text=f"predicate raised {error!r}")
            delivery.rule = rule
            return await self._answer(request, delivery, rule)
        finally:
            if delivery is not None:
                delivery.answered_at = time.monotonic()
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _record(self, request: web.Request) -> Delivery:
        body = await request.read()
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = None
        delivery = Delivery(
            received_at=time.monotonic(),
            method=request.method,
            path=request.path,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            body=body,
            json=parsed,
        )
        if self.secret is not None:
            try:
                verify_webhook(self.secret, self.signed_url or self.url, delivery.headers, body)
            except Exception as error:  # WebhookVerificationError, or a malformed header
                delivery.verified = False
                delivery.verification_error = str(error)
            else:
                delivery.verified = True
        self._deliveries.append(delivery)
        async with self._arrived:
            self._arrived.notify_all()
        return delivery

    async def _answer(
        self, request: web.Request, delivery: Delivery, rule: Rule | None
    ) -> web.StreamResponse:
        if rule is None:
            delivery.status = self.status
            return web.Response(status=self.status)
        if rule.action == "reset":
            _abort(request)
            # Nothing can be written any more; aiohttp treats the failed write as a client
            # disconnect and drops the connection quietly.
            return web.Response(status=204)
        if rule.action == "delay":
            await self._wait(rule)
        delivery.status = rule.status
        return web.Response(status=rule.status, headers=dict(rule.headers))

    async def _wait(self, rule: Rule) -> None:
        """Sleep for the rule's delay, cut short by `release()` or by the receiver closing."""
        waiters = [
            asyncio.ensure_future(rule._released.wait()),
            asyncio.ensure_future(self._closing.wait()),
        ]
        timeout = None if math.isinf(rule.seconds) else rule.seconds
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


def _abort(request: web.Request) -> None:
    """Close the socket with SO_LINGER 0 so the kernel sends RST: 'connection reset by peer'."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
