from __future__ import annotations

from datetime import UTC, datetime

import pytest
from inventory_api.schedule import ScheduleError, next_scheduled_sync, parse_schedule


def nxt(expression: str, now: datetime, tz: str = "UTC") -> datetime | None:
    return next_scheduled_sync(expression, tz, now)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 11, 25, 1, 59), at(2026, 11, 25, 2, 0)),
        (at(2026, 11, 25, 2, 0), at(2026, 11, 26, 2, 0)),
        (at(2026, 12, 31, 23, 0), at(2027, 1, 1, 2, 0)),
        (at(2028, 2, 28, 3, 0), at(2028, 2, 29, 2, 0)),
    ],
)
def test_the_default_schedule_runs_daily_at_two_utc(now: datetime, expected: datetime) -> None:
    assert nxt("cron(0 2 * * ? *)", now) == expected


def test_question_mark_in_day_of_month_defers_to_day_of_week() -> None:
    # 2026-11-25 is a Wednesday; MON-FRI at 18:30
    assert nxt("cron(30 18 ? * MON-FRI *)", at(2026, 11, 27, 19, 0)) == at(2026, 11, 30, 18, 30)
    # EventBridge numbers Sunday as 1
    assert nxt("cron(0 8 ? * 1 *)", at(2026, 11, 25)) == at(2026, 11, 29, 8, 0)


def test_lists_ranges_steps_and_month_names() -> None:
    assert nxt("cron(0/15 9-10 * * ? *)", at(2026, 11, 25, 9, 50)) == at(2026, 11, 25, 10, 0)
    assert nxt("cron(0 0 1 JAN,JUL ? *)", at(2026, 11, 25)) == at(2027, 1, 1, 0, 0)
    assert nxt("cron(5 4 1 * ? 2030)", at(2026, 11, 25)) == at(2030, 1, 1, 4, 5)


def test_last_day_nearest_weekday_and_nth_weekday() -> None:
    assert nxt("cron(0 12 L * ? *)", at(2026, 2, 3)) == at(2026, 2, 28, 12, 0)
    # 2026-11-15 is a Sunday: 15W is Monday the 16th
    assert nxt("cron(0 12 15W * ? *)", at(2026, 11, 1)) == at(2026, 11, 16, 12, 0)
    # the second Tuesday (3#2) of December 2026 is the 8th
    assert nxt("cron(0 6 ? * 3#2 *)", at(2026, 12, 1)) == at(2026, 12, 8, 6, 0)
    # the last Friday (6L) of November 2026 is the 27th
    assert nxt("cron(0 6 ? * 6L *)", at(2026, 11, 1)) == at(2026, 11, 27, 6, 0)


def test_a_timezone_shifts_the_run_in_utc() -> None:
    assert nxt("cron(0 2 * * ? *)", at(2026, 7, 1, 12), "Europe/Berlin") == at(2026, 7, 2, 0, 0)


def test_a_local_time_skipped_by_spring_forward_is_skipped_not_shifted() -> None:
    # Europe/Berlin jumps from 02:00 to 03:00 on 2027-03-28: 02:30 does not exist that day, so
    # EventBridge Scheduler skips that run; the next one is 02:30 CEST on the 29th (00:30 UTC).
    assert nxt("cron(30 2 * * ? *)", at(2027, 3, 27, 12), "Europe/Berlin") == at(2027, 3, 29, 0, 30)
    # the day before is a normal day: 02:30 CET = 01:30 UTC
    assert nxt("cron(30 2 * * ? *)", at(2027, 3, 26, 12), "Europe/Berlin") == at(2027, 3, 27, 1, 30)


def test_a_repeated_local_time_on_fall_back_runs_once_at_its_first_occurrence() -> None:
    # Europe/Berlin repeats 02:00-03:00 on 2026-10-25; 02:30 first happens at 00:30 UTC (CEST)
    assert nxt("cron(30 2 * * ? *)", at(2026, 10, 24, 12), "Europe/Berlin") == at(2026, 10, 25, 0, 30)
    # after the first occurrence the next run is the following day, not the repeat an hour later
    assert nxt("cron(30 2 * * ? *)", at(2026, 10, 25, 0, 45), "Europe/Berlin") == at(2026, 10, 26, 1, 30)
    # during the repeated hour (02:15 CET, fold=1) the first 02:30 is already past
    assert nxt("cron(30 2 * * ? *)", at(2026, 10, 25, 1, 15), "Europe/Berlin") == at(2026, 10, 26, 1, 30)


def test_at_expressions_run_once_and_rate_expressions_have_no_fixed_time() -> None:
    assert nxt("at(2027-03-01T04:00:00)", at(2026, 11, 25)) == at(2027, 3, 1, 4, 0)
    assert nxt("at(2020-03-01T04:00:00)", at(2026, 11, 25)) is None
    assert nxt("rate(12 hours)", at(2026, 11, 25)) is None


def test_a_schedule_in_a_past_year_never_runs() -> None:
    assert nxt("cron(0 2 * * ? 2020)", at(2026, 11, 25)) is None


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("cron(0 2 * * * *)", "exactly one"),
        ("cron(0 2 ? * ? *)", "exactly one"),
        ("cron(0 2 * * ?)", "6 fields"),
        ("cron(61 2 * * ? *)", "outside 0-59"),
        ("cron(0 2 * FOO ? *)", "not a number"),
        ("cron(0 5-2 * * ? *)", "backwards"),
        ("every day", "not cron"),
    ],
)
def test_invalid_expressions_are_rejected_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_schedule(expression)


def test_a_wrong_schedule_or_time_zone_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory_api.settings import ApiSettings
    from pydantic import ValidationError

    for name in ("APP_TABLE_NAME", "AUDIT_TABLE_NAME", "INVENTORY_BUCKET", "SCAN_REQUESTS_QUEUE_URL"):
        monkeypatch.setenv(name, "x")
    assert ApiSettings().sync_schedule_expression == "cron(0 2 * * ? *)"
    monkeypatch.setenv("SYNC_SCHEDULE_EXPRESSION", "cron(0 2 * * * *)")
    with pytest.raises(ValidationError, match="exactly one"):
        ApiSettings()
    monkeypatch.setenv("SYNC_SCHEDULE_EXPRESSION", "cron(0 2 * * ? *)")
    monkeypatch.setenv("SYNC_SCHEDULE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        ApiSettings()
    monkeypatch.setenv("SYNC_SCHEDULE_TIMEZONE", "UTC")
    monkeypatch.setenv("AUTH_MODE", "oidc")
    with pytest.raises(ValidationError, match="OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL"):
        ApiSettings()
