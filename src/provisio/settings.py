"""All configuration in one place, read from PROVISIO_* environment variables."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from provisio.domain.brands import BrandRules, Requirement
from provisio.logs import LogFormat
from provisio.webhooks.schedule import DEFAULT_SCHEDULE, RetrySchedule, parse_schedule
from provisio.webhooks.url_policy import UrlPolicy, parse_networks


@dataclass(frozen=True)
class Rate:
    """A rate limit: `count` per `period` seconds on average, up to `burst` at once."""

    count: float
    burst: int
    period: float

    @property
    def per_second(self) -> float:
        return self.count / self.period


RATE_FORMAT = "expected <rate>/<burst> (e.g. 100/400), or 0 to turn the limit off"


def _rate_per(period: float) -> Callable[[object], object]:
    """Reads `<rate>/<burst>` (`rate` per `period` seconds), or `0`: no limit (None)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value  # already a Rate, or None
        text = value.strip()
        if text == "0":
            return None
        count, _, burst = text.partition("/")
        try:
            rate = Rate(float(count), int(burst), period)
        except ValueError:
            raise ValueError(RATE_FORMAT) from None
        if not (math.isfinite(rate.count) and rate.count > 0 and rate.burst >= 1):
            raise ValueError(RATE_FORMAT)
        return rate

    return parse


RatePerSecond = Annotated[Rate | None, NoDecode, BeforeValidator(_rate_per(1.0))]
RatePerMinute = Annotated[Rate | None, NoDecode, BeforeValidator(_rate_per(60.0))]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROVISIO_", extra="ignore")

    database_url: str = "sqlite:///./provisio.db"
    nats_url: str | None = None
    device_key: str | None = None
    webhook_allow_http: bool = False
    webhook_allowed_networks: str = ""
    retry_schedule: str = DEFAULT_SCHEDULE
    delivery_timeout: float = Field(default=15.0, gt=0)
    delivery_lease: float | None = Field(default=None, gt=0)
    """Seconds a claimed delivery stays reserved to its worker (default: timeout + 30 s)."""
    worker_id: str | None = Field(default=None, min_length=1, max_length=32)
    """A stable name for this process's dispatcher: a restart under the same name resumes the
    deliveries it was sending at once instead of after their lease (`serve` uses `embedded`)."""
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    max_bulk_bytes: int = Field(default=256 * 1_048_576, gt=0)
    brand_rules: dict[str, Requirement] = Field(default_factory=dict)
    relay_poll_interval: float = Field(default=0.5, gt=0)
    feed_max_wait: float = Field(default=60.0, gt=0)
    log_format: LogFormat = "console"
    console: bool = True
    """The operator console at /console/ (`PROVISIO_CONSOLE=false` turns it off)."""
    rate_limit: RatePerSecond = Rate(100, 400, 1.0)
    """Requests per second per token."""
    pairing_rate_limit: RatePerMinute = Rate(10, 20, 60.0)
    """Failed verification-code attempts per minute per organization."""
    device_key_rate_limit: RatePerMinute = Rate(10, 20, 60.0)
    """Missing or wrong device keys per minute per source address."""
    forwarded_allow_ips: str = ""
    """Comma-separated addresses or networks (or `*`) of reverse proxies whose
    `X-Forwarded-Proto`, `-For` and `-Host` are honoured; none by default."""

    @field_validator("retry_schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        parse_networks(value)  # a typo in the CIDR list fails at start-up, not at first use
        return value

    @cached_property
    def rules(self) -> BrandRules:
        return BrandRules(self.brand_rules)

    @cached_property
    def schedule(self) -> RetrySchedule:
        return RetrySchedule(parse_schedule(self.retry_schedule))

    @cached_property
    def url_policy(self) -> UrlPolicy:
        return UrlPolicy(
            allow_http=self.webhook_allow_http,
            allowed_networks=parse_networks(self.webhook_allowed_networks),
        )
