from datetime import UTC, datetime

import pytest

from provisio.webhooks.schedule import (
    DEFAULT_SCHEDULE,
    RetrySchedule,
    parse_retry_after,
    parse_schedule,
)


def test_the_default_schedule_is_the_published_one() -> None:
    assert parse_schedule(DEFAULT_SCHEDULE) == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


@pytest.mark.parametrize("text", ["", "5,-1", "a,b"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="PROVISIO_RETRY_SCHEDULE"):
        parse_schedule(text)


def test_delays_stay_within_the_jitter_and_end_after_the_last_attempt() -> None:
    schedule = RetrySchedule(parse_schedule("0,10,100"), jitter=0.1)
    assert schedule.attempts == 3
    assert schedule.delay_before(1) == 0
    delays = {schedule.delay_before(3) for _ in range(200)}
    assert all(d is not None and 90 <= d <= 110 for d in delays)
    assert len(delays) > 1, "no jitter"
    assert schedule.delay_before(4) is None


def test_retry_after_wins_when_it_asks_for_longer() -> None:
    schedule = RetrySchedule((0, 5), jitter=0)
    assert schedule.delay_before(2, retry_after=60) == 60
    assert schedule.delay_before(2, retry_after=1) == 5


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 25 Nov 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("99999999999999999999", 86400),  # overflowed a float conversion before
        ("86401", 86400),
        (" 3600 ", 3600),
        ("Fri, 31 Dec 9999 23:59:59 GMT", 86400),
        ("\u00b2", None),  # a superscript two: str.isdigit() says yes, float() says no
        ("\u0661\u0662", None),  # Arabic-Indic digits
        ("-5", None),
        ("1e3", None),
        ("Wed, 99 Foo 2026 99:99:99 GMT", None),
        ("", None),
    ],
)
def test_hostile_retry_after_values_are_capped_or_ignored(value: str, seconds: int | None) -> None:
    assert parse_retry_after(value) == seconds
