"""When to try a delivery again: the published schedule, jitter, and `Retry-After`."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


def parse_schedule(text: str) -> tuple[float, ...]:
    """`PROVISIO_RETRY_SCHEDULE`: the delay in seconds before each attempt, the first included."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise ValueError(f"PROVISIO_RETRY_SCHEDULE: {error}") from error
    if not delays or any(delay < 0 for delay in delays):
        raise ValueError("PROVISIO_RETRY_SCHEDULE needs at least one delay, none negative")
    return delays


@dataclass(frozen=True)
class RetrySchedule:
    delays: tuple[float, ...]
    jitter: float = 0.1
    """Each delay varies by up to this fraction, so retries of many deliveries spread out."""

    @property
    def attempts(self) -> int:
        return len(self.delays)

    def delay_before(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before attempt number `attempt` (1-based); None when none is left.

        A `Retry-After` from the receiver is honoured when it asks for longer than the schedule.
        """
        if attempt > self.attempts:
            return None
        base = self.delays[attempt - 1]
        spread = base * self.jitter
        delay = max(0.0, base + random.uniform(-spread, spread))
        return max(delay, retry_after) if retry_after is not None else delay


RETRY_AFTER_CAP = 24 * 3600.0
"""The longest wait a receiver's `Retry-After` can ask for."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as delta-seconds (ASCII digits) or an HTTP date, capped at 24 h; None when
    absent or unreadable (a negative number is unreadable; a past date asks for no wait)."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = float(min(int(text[:12]), RETRY_AFTER_CAP))  # 12 digits exceed the cap
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
    return min(seconds, RETRY_AFTER_CAP)
