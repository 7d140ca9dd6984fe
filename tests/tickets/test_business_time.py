"""The business-time calculator: opening hours, working days, holidays, time zones and DST."""
from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.tenancy.settings import BusinessHours
from portal.tickets.business_time import BusinessClock, add_business_hours, business_hours_between, is_business_time

LUSAKA = zoneinfo.ZoneInfo("Africa/Lusaka")  # UTC+2, no daylight saving
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEEK = BusinessHours(start=dt.time(8), end=dt.time(17), days=["mon", "tue", "wed", "thu", "fri"], holidays=[dt.date(2026, 12, 25)])


def local(tz, *args):
    return dt.datetime(*args, tzinfo=tz)


def test_within_one_day():
    start = local(LUSAKA, 2026, 11, 30, 9, 0)  # a Monday
    assert add_business_hours(start, 4, WEEK, LUSAKA) == local(LUSAKA, 2026, 11, 30, 13, 0)


def test_after_hours_starts_next_morning_and_skips_the_weekend():
    friday_evening = local(LUSAKA, 2026, 12, 4, 18, 30)
    assert add_business_hours(friday_evening, 1, WEEK, LUSAKA) == local(LUSAKA, 2026, 12, 7, 9, 0)


def test_rolls_over_closing_time_and_holidays():
    start = local(LUSAKA, 2026, 12, 24, 15, 0)  # Thursday; Friday 25th is a holiday
    assert add_business_hours(start, 3, WEEK, LUSAKA) == local(LUSAKA, 2026, 12, 28, 9, 0)


def test_forty_hours_span_nine_hour_days():
    start = local(LUSAKA, 2026, 11, 30, 8, 0)
    assert add_business_hours(start, 40, WEEK, LUSAKA) == local(LUSAKA, 2026, 12, 4, 12, 0)  # 4 x 9 h + 4 h


def test_daylight_saving_keeps_local_opening_hours():
    # Paris moves its clocks forward on Sunday 29 March 2026: Monday still opens at 08:00 local.
    friday = local(PARIS, 2026, 3, 27, 16, 0)
    assert add_business_hours(friday, 2, WEEK, PARIS) == local(PARIS, 2026, 3, 30, 9, 0)
    assert business_hours_between(friday, local(PARIS, 2026, 3, 30, 9, 0), WEEK, PARIS) == 2


def test_is_business_time():
    assert is_business_time(local(LUSAKA, 2026, 11, 30, 8, 0), WEEK, LUSAKA)
    assert not is_business_time(local(LUSAKA, 2026, 11, 30, 17, 0), WEEK, LUSAKA)
    assert not is_business_time(local(LUSAKA, 2026, 11, 29, 10, 0), WEEK, LUSAKA)  # Sunday


moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(dt.timezone.utc))
amounts = st.floats(min_value=0.01, max_value=200, allow_nan=False).map(lambda h: round(h * 60) / 60)
zones = st.sampled_from([LUSAKA, PARIS, zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo("Asia/Kolkata")])
day_sets = st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, max_size=7, unique=True)


@settings(max_examples=150, deadline=None)
@given(start=moments, hours=amounts, tz=zones, days=day_sets)
def test_adding_then_measuring_gives_back_the_amount(start, hours, tz, days):
    schedule = BusinessHours(start=dt.time(7, 30), end=dt.time(15, 30), days=days)
    due = add_business_hours(start, hours, schedule, tz)
    assert due > start
    assert abs(business_hours_between(start, due, schedule, tz) - hours) < 1e-6
    # The due time falls inside opening hours (or exactly at closing time).
    local_due = due.astimezone(tz)
    assert dt.time(7, 30) < local_due.time() <= dt.time(15, 30) or local_due.time() == dt.time(15, 30)


@settings(max_examples=100, deadline=None)
@given(start=moments, a=amounts, b=amounts, tz=zones)
def test_more_hours_never_come_earlier_and_add_up(start, a, b, tz):
    first = add_business_hours(start, a, WEEK, tz)
    assert add_business_hours(start, a + b, WEEK, tz) >= first
    assert abs(business_hours_between(start, add_business_hours(first, b, WEEK, tz), WEEK, tz) - (a + b)) < 1e-6


@settings(max_examples=100, deadline=None)
@given(origin=moments, spans=st.lists(st.tuples(st.integers(0, 400 * 3600), st.integers(0, 300 * 3600)), min_size=1, max_size=8), tz=zones, days=day_sets)
def test_the_clock_measures_like_the_calculator(origin, spans, tz, days):
    """The reports' clock (many durations in one calendar) agrees with the SLA calculator."""
    schedule = BusinessHours(start=dt.time(7, 30), end=dt.time(15, 30), days=days, holidays=[dt.date(2026, 12, 25)])
    clock = BusinessClock(schedule, tz, origin)
    for offset, length in spans:  # in any order: later moments extend the clock, earlier ones reuse it
        start = origin + dt.timedelta(seconds=offset)
        end = start + dt.timedelta(seconds=length)
        assert abs(clock.seconds_between(start, end) - business_hours_between(start, end, schedule, tz) * 3600) < 1e-3


def test_the_clock_refuses_moments_before_its_origin():
    clock = BusinessClock(WEEK, LUSAKA, local(LUSAKA, 2026, 11, 30, 9, 0))
    assert clock.seconds_between(local(LUSAKA, 2026, 11, 30, 9, 0), local(LUSAKA, 2026, 12, 1, 9, 0)) == 9 * 3600
    with pytest.raises(ValueError):
        clock.elapsed(local(LUSAKA, 2026, 11, 1, 9, 0))
