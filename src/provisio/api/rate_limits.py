"""Request rate limits: token buckets per key (a token, an organization, a source address).

Each process keeps its own buckets in memory: with several API processes behind a balancer, a
client may reach each of them at the full rate.
"""

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.exceptions import HTTPException

from provisio.settings import Rate, Settings

Clock = Callable[[], float]

PRUNE_AT = 10_000
"""Buckets kept before refilled ones (the same as no bucket at all) are dropped."""


def _too_many(what: str, wait: float) -> HTTPException:
    """A 429 whose `Retry-After` (whole seconds, at least 1) is when one more will pass."""
    seconds = max(1, math.ceil(wait))
    return HTTPException(
        429, f"too many {what}; retry in {seconds} s", headers={"Retry-After": str(seconds)}
    )


class TokenBuckets:
    """A token bucket per key, full (`burst` tokens) at first and refilled at the rate; None as
    the rate lets everything pass."""

    def __init__(self, rate: Rate | None, what: str, clock: Clock = time.monotonic) -> None:
        self._rate = rate
        self._what = what
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        """key → (tokens, when they were counted)."""
        self._prune_at = PRUNE_AT

    def check(self, key: str) -> None:
        """429 if `key` has no token left; spends nothing."""
        if self._rate is not None:
            self._available(key, self._clock())

    def spend(self, key: str) -> None:
        """Spend one of `key`'s tokens, or 429 (spending nothing) if it has none left."""
        if self._rate is not None:
            now = self._clock()
            self._buckets[key] = (self._available(key, now) - 1, now)
            self._prune(now)

    def give_back(self, key: str) -> None:
        """Return a token spent on something that should not count (a successful attempt)."""
        if self._rate is not None and key in self._buckets:
            tokens, counted = self._buckets[key]
            self._buckets[key] = (min(tokens + 1, self._rate.burst), counted)

    @contextmanager
    def attempt(self, key: str) -> Iterator[None]:
        """Spends a token on the block inside; the token comes back if the block succeeds, so
        only failures count."""
        self.spend(key)
        yield
        self.give_back(key)

    def _available(self, key: str, now: float) -> float:
        """`key`'s tokens now; 429 if fewer than one."""
        assert self._rate is not None
        rate = self._rate
        tokens, counted = self._buckets.get(key, (rate.burst, now))
        level = min(rate.burst, tokens + (now - counted) * rate.per_second)
        if level < 1:
            raise _too_many(self._what, (1 - level) / rate.per_second)
        return level

    def _prune(self, now: float) -> None:
        """Drop buckets that have refilled since they were last used: memory stays bounded by
        the keys active within one refill time, whatever keys clients invent."""
        if len(self._buckets) <= self._prune_at:
            return
        assert self._rate is not None
        rate = self._rate
        self._buckets = {
            key: (tokens, counted)
            for key, (tokens, counted) in self._buckets.items()
            if tokens + (now - counted) * rate.per_second < rate.burst
        }
        self._prune_at = max(PRUNE_AT, 2 * len(self._buckets))


@dataclass(frozen=True)
class RateLimits:
    """The limits of one API process."""

    requests: TokenBuckets
    """Per token, on every authenticated request."""
    pairing: TokenBuckets
    """Failed verification-code attempts per organization."""
    wrong_device_keys: TokenBuckets
    """Missing or wrong `X-Device-Key`s per source address."""

    @classmethod
    def of(cls, settings: Settings, clock: Clock = time.monotonic) -> "RateLimits":
        return cls(
            requests=TokenBuckets(settings.rate_limit, "requests with this token", clock),
            pairing=TokenBuckets(settings.pairing_rate_limit, "verification-code attempts", clock),
            wrong_device_keys=TokenBuckets(
                settings.device_key_rate_limit, "wrong device keys from this address", clock
            ),
        )
