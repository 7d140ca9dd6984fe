"""Counting time in a tenant's business hours: working days, daily opening hours, holidays, time zone.

All datetimes going in and out are timezone-aware; windows are built in the tenant's zone (so a day
keeps its opening hours across daylight-saving changes) and compared in UTC.
"""
from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterator

from portal.tenancy.settings import WEEKDAYS, BusinessHours

UTC = dt.timezone.utc
MAX_DAYS = 366 * 5  # a target that needs longer than this is a configuration error


def _windows(start: dt.datetime, hours: BusinessHours, tz: zoneinfo.ZoneInfo) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The working windows (UTC start, UTC end) from the day of `start` onwards."""
    day = start.astimezone(tz).date()
    working = {WEEKDAYS.index(d) for d in hours.days}
    holidays = set(hours.holidays)
    for _ in range(MAX_DAYS):
        if day.weekday() in working and day not in holidays:
            opens = dt.datetime.combine(day, hours.start, tzinfo=tz).astimezone(UTC)
            closes = dt.datetime.combine(day, hours.end, tzinfo=tz).astimezone(UTC)
            if closes > opens:
                yield opens, closes
        day += dt.timedelta(days=1)
    raise ValueError("no working time within five years: check the business hours")


def add_business_hours(start: dt.datetime, amount: float, hours: BusinessHours, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The moment `amount` business hours after `start` (UTC)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    remaining = dt.timedelta(hours=amount)
    if remaining <= dt.timedelta(0):
        return start
    for opens, closes in _windows(start, hours, tz):
        if closes <= start:
            continue
        begin = max(opens, start)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable")  # pragma: no cover


def business_hours_between(start: dt.datetime, end: dt.datetime, hours: BusinessHours, tz: zoneinfo.ZoneInfo) -> float:
    """Business hours elapsed from `start` to `end` (0 if `end` is not after `start`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    total = dt.timedelta(0)
    for opens, closes in _windows(start, hours, tz):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return total.total_seconds() / 3600


def is_business_time(moment: dt.datetime, hours: BusinessHours, tz: zoneinfo.ZoneInfo) -> bool:
    moment = moment.astimezone(UTC)
    opens, closes = next(_windows(moment, hours, tz))
    return opens <= moment < closes


class BusinessClock:
    """Business seconds since a fixed origin, for measuring many durations in one calendar at once.

    `business_hours_between` walks the working days of every duration; reports measure thousands of
    tickets, so this clock lists the working windows once (extending them when a later moment comes)
    and answers each moment with a binary search. `seconds_between(a, b)` equals
    `business_hours_between(a, b) * 3600`.
    """

    def __init__(self, hours: BusinessHours, tz: zoneinfo.ZoneInfo, origin: dt.datetime):
        self.hours, self.tz = hours, tz
        self.origin = origin.astimezone(UTC)
        self._origin = self.origin - dt.timedelta(days=1)
        self._origin_ts = self._origin.timestamp()
        self._opens: list[float] = []
        self._closes: list[float] = []
        self._before: list[float] = []  # business seconds before each window
        self._next: dt.datetime = self._origin
        self._extend(origin)

    def _extend(self, until: dt.datetime) -> None:
        total = self._before[-1] + self._closes[-1] - self._opens[-1] if self._opens else 0.0
        for opens, closes in _windows(self._next, self.hours, self.tz):
            if self._opens and opens.timestamp() < self._closes[-1]:
                continue  # the day already listed (the generator restarts at a day's beginning)
            self._opens.append(opens.timestamp())
            self._closes.append(closes.timestamp())
            self._before.append(total)
            total += closes.timestamp() - opens.timestamp()
            if opens > until:
                self._next = closes
                return

    def elapsed(self, moment: dt.datetime) -> float:
        """Business seconds from the origin to `moment`."""
        t = moment.timestamp()
        if t < self._origin_ts:
            raise ValueError("moment before the origin of the clock")
        if t >= self._opens[-1]:
            self._extend(moment)
        i = bisect.bisect_right(self._opens, t) - 1
        if i < 0:
            return 0.0
        return self._before[i] + min(t - self._opens[i], self._closes[i] - self._opens[i])

    def seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Business seconds from `start` to `end` (0 if `end` is not after `start`)."""
        return max(self.elapsed(end) - self.elapsed(start), 0.0)
