"""EventBridge schedule expressions: when is the next scheduled sync?

Supports the forms EventBridge Scheduler accepts: ``cron(min hour day-of-month month day-of-week year)``
with ``, - * / ?`` and ``L``, ``W``, ``#``; ``at(yyyy-mm-ddThh:mm:ss)``; ``rate(n unit)`` (which has no
fixed phase, so no next time can be computed from the expression alone).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {
    name: i
    for i, name in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
LAST_YEAR = 2199


class ScheduleError(ValueError):
    """The expression is not a valid EventBridge schedule expression."""


DayMatcher = Callable[[date], bool]


def _number(text: str, lo: int, hi: int, names: dict[str, int] | None, what: str) -> int:
    value = names.get(text.upper()) if names else None
    if value is None:
        if not text.isdigit():
            raise ScheduleError(f"{what}: {text!r} is not a number")
        value = int(text)
    if not lo <= value <= hi:
        raise ScheduleError(f"{what}: {value} is outside {lo}-{hi}")
    return value


def _values(text: str, lo: int, hi: int, what: str, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, 1, hi, None, what) if step_text else 1
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _number(a, lo, hi, names, what), _number(b, lo, hi, names, what)
            if first > last:
                raise ScheduleError(f"{what}: range {base} runs backwards")
        else:
            first = _number(base, lo, hi, names, what)
            last = hi if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _eb_weekday(day: date) -> int:
    """EventBridge numbering: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, dom: int) -> int:
    last = calendar.monthrange(year, month)[1]
    dom = min(dom, last)
    weekday = date(year, month, dom).weekday()
    if weekday == 5:  # Saturday -> Friday, unless that leaves the month
        return dom - 1 if dom > 1 else dom + 2
    if weekday == 6:  # Sunday -> Monday, unless that leaves the month
        return dom + 1 if dom < last else dom - 2
    return dom


def _day_of_month(text: str) -> DayMatcher:
    if text in ("*", "?"):
        return lambda _d: True
    if text == "L":
        return lambda d: d.day == calendar.monthrange(d.year, d.month)[1]
    if text == "LW":
        return lambda d: d.day == _nearest_weekday(d.year, d.month, 31)
    if text.endswith("W"):
        target = _number(text[:-1], 1, 31, None, "day-of-month")
        return lambda d: d.day == _nearest_weekday(d.year, d.month, target)
    days = _values(text, 1, 31, "day-of-month")
    return lambda d: d.day in days


def _day_of_week(text: str) -> DayMatcher:
    if text in ("*", "?"):
        return lambda _d: True
    if "#" in text:
        day_text, _, nth_text = text.partition("#")
        weekday = _number(day_text, 1, 7, DAYS, "day-of-week")
        nth = _number(nth_text, 1, 5, None, "day-of-week")
        return lambda d: _eb_weekday(d) == weekday and (d.day - 1) // 7 + 1 == nth
    if text.endswith("L"):
        weekday = _number(text[:-1], 1, 7, DAYS, "day-of-week") if text != "L" else 7
        return lambda d: _eb_weekday(d) == weekday and d.day + 7 > calendar.monthrange(d.year, d.month)[1]
    days = _values(text, 1, 7, "day-of-week", DAYS)
    return lambda d: _eb_weekday(d) in days


def _exists(local: datetime) -> bool:
    """False for a wall time skipped by a daylight-saving spring-forward (EventBridge Scheduler skips it too).

    A repeated wall time (fall-back) exists; ``fold=0`` picks its first occurrence, as the scheduler runs once.
    """
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: DayMatcher

    def next_after(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        local_now = now.astimezone(tz)
        day = local_now.date()
        times = sorted((h, m) for h in self.hours for m in self.minutes)
        while day.year <= LAST_YEAR:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.day_matches(day):
                for hour, minute in times:
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    # compared in UTC: aware datetimes sharing a tzinfo compare by wall time, ignoring fold
                    if candidate.astimezone(UTC) > now and _exists(candidate):
                        return candidate.astimezone(UTC)
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class Schedule:
    expression: str
    cron: CronSchedule | None = None
    at: datetime | None = None

    def next_after(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        if self.cron is not None:
            return self.cron.next_after(now, tz)
        if self.at is not None:
            at = self.at.replace(tzinfo=tz)
            return at.astimezone(UTC) if at > now else None
        return None  # rate(): the phase depends on when the schedule was created


def parse_schedule(expression: str) -> Schedule:
    expression = expression.strip()
    if match := _AT.match(expression):
        return Schedule(expression, at=datetime.fromisoformat(match.group(1)))
    if _RATE.match(expression):
        return Schedule(expression)
    match = _CRON.match(expression)
    if not match:
        raise ScheduleError(f"{expression!r} is not cron(...), rate(...) or at(...)")
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(f"cron needs 6 fields (min hour day-of-month month day-of-week year), not {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
    day_matcher = _day_of_month(dom) if dow == "?" else _day_of_week(dow)
    return Schedule(
        expression,
        cron=CronSchedule(
            minutes=_values(minute, 0, 59, "minutes"),
            hours=_values(hour, 0, 23, "hours"),
            months=_values(month, 1, 12, "month", MONTHS),
            years=_values(year, 1970, LAST_YEAR, "year"),
            day_matches=day_matcher,
        ),
    )


def next_scheduled_sync(expression: str, timezone: str, now: datetime) -> datetime | None:
    return parse_schedule(expression).next_after(now, ZoneInfo(timezone))
