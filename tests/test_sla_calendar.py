"""Business-time arithmetic for SLA: known dates, DST, pauses, and a minute-by-minute oracle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.sla.calendar import (
    MIDNIGHT,
    WEEKDAYS,
    BusinessCalendar,
    add_business_minutes,
    build_calendar,
    business_minutes_between,
    is_working,
    next_working_moment,
)
from engine.sla.clock import deadline_with_pauses, elapsed_business_minutes

MSK = ZoneInfo("Europe/Moscow")
BER = ZoneInfo("Europe/Berlin")
NYC = ZoneInfo("America/New_York")
UTC = dt.UTC
YEARS = range(2024, 2029)


def weekdays(*intervals: str) -> dict[str, list[str]]:
    return {day: list(intervals) for day in WEEKDAYS[:5]}


RU = build_calendar("ru", "Europe/Moscow", weekdays("09:00-18:00"), years=YEARS)
RU_LUNCH = build_calendar(
    "ru-lunch", "Europe/Moscow", weekdays("09:00-13:00", "14:00-18:00"), years=YEARS
)
BERLIN = build_calendar("de", "Europe/Berlin", weekdays("09:00-17:00"), country="DE", years=YEARS)
NEW_YORK = build_calendar(
    "us", "America/New_York", weekdays("09:00-17:00"), country="US", years=YEARS
)
# Night shifts whose hours straddle the 02:00-03:00 DST switch in Berlin.
NIGHT = build_calendar(
    "night", "Europe/Berlin", {d: ["00:00-03:00", "22:00-24:00"] for d in WEEKDAYS}, country=None
)


def at(tz: ZoneInfo, y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=tz)


# --- known dates ---------------------------------------------------------------------------------


def test_working_saturday_2025_11_01() -> None:
    deadline = add_business_minutes(RU, at(MSK, 2025, 10, 31, 16), 480)
    assert deadline == at(MSK, 2025, 11, 1, 15)
    assert deadline.tzinfo is UTC


def test_new_year_holidays_and_transferred_day_off_2026() -> None:
    for day in range(1, 10):  # Jan 1-8 holidays, Jan 9 (Fri) the day off transferred from Jan 3
        assert not is_working(RU, at(MSK, 2026, 1, day, 12))
    assert next_working_moment(RU, at(MSK, 2025, 12, 31, 10)) == at(MSK, 2026, 1, 12, 9)
    assert add_business_minutes(RU, at(MSK, 2025, 12, 30, 17), 120) == at(MSK, 2026, 1, 12, 10)


def test_ru_2026_has_247_working_days() -> None:
    minutes = business_minutes_between(RU, at(MSK, 2026, 1, 1), at(MSK, 2027, 1, 1))
    assert minutes == 247 * 540


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(MSK, 2025, 10, 12, 23), at(MSK, 2025, 10, 13, 10)),  # Sunday night
        (at(MSK, 2025, 10, 13, 7), at(MSK, 2025, 10, 13, 10)),  # before opening
        (at(MSK, 2025, 10, 13, 19), at(MSK, 2025, 10, 14, 10)),  # after closing
        (at(MSK, 2025, 10, 13, 18), at(MSK, 2025, 10, 14, 10)),  # exactly at closing
    ],
)
def test_start_outside_hours_starts_at_next_working_minute(
    start: dt.datetime, expected: dt.datetime
) -> None:
    assert add_business_minutes(RU, start, 60) == expected


def test_deadline_on_interval_end_stays_there() -> None:
    assert add_business_minutes(RU, at(MSK, 2025, 10, 13, 17), 60) == at(MSK, 2025, 10, 13, 18)
    assert add_business_minutes(RU_LUNCH, at(MSK, 2025, 10, 13, 12), 60) == at(
        MSK, 2025, 10, 13, 13
    )


def test_lunch_break() -> None:
    assert add_business_minutes(RU_LUNCH, at(MSK, 2025, 10, 13, 12, 30), 60) == at(
        MSK, 2025, 10, 13, 14, 30
    )
    assert (
        business_minutes_between(RU_LUNCH, at(MSK, 2025, 10, 13, 12), at(MSK, 2025, 10, 13, 15))
        == 120
    )
    assert not is_working(RU_LUNCH, at(MSK, 2025, 10, 13, 13, 30))
    assert next_working_moment(RU_LUNCH, at(MSK, 2025, 10, 13, 13, 30)) == at(
        MSK, 2025, 10, 13, 14
    )


def test_zero_minutes() -> None:
    inside = at(MSK, 2025, 10, 13, 10, 15)
    assert add_business_minutes(RU, inside, 0) == inside
    assert add_business_minutes(RU, at(MSK, 2025, 10, 11, 10), 0) == at(MSK, 2025, 10, 13, 9)
    assert business_minutes_between(RU, inside, inside) == 0
    assert business_minutes_between(RU, inside, at(MSK, 2025, 10, 13, 9)) == 0


def test_sub_minute_start_is_exact() -> None:
    start = dt.datetime(2025, 10, 13, 10, 0, 30, 123456, tzinfo=MSK)
    deadline = add_business_minutes(RU, start, 2.5)
    assert deadline == dt.datetime(2025, 10, 13, 10, 3, 0, 123456, tzinfo=MSK)
    assert business_minutes_between(RU, start, deadline) == 2.5


def test_between_inverts_add_over_long_spans() -> None:
    start = at(MSK, 2025, 12, 1, 11, 7)
    for minutes in (1, 480, 2400, 60_000, 200_000):  # up to ~1.5 years of working time
        assert (
            business_minutes_between(RU, start, add_business_minutes(RU, start, minutes))
            == minutes
        )


# --- DST ------------------------------------------------------------------------------------------


def test_berlin_spring_forward_2026_03_29() -> None:
    start = at(BER, 2026, 3, 27, 16)  # Fri, CET
    deadline = add_business_minutes(BERLIN, start, 120)
    assert deadline == at(BER, 2026, 3, 30, 10)  # Mon, CEST
    assert deadline == dt.datetime(2026, 3, 30, 8, tzinfo=UTC)
    assert business_minutes_between(BERLIN, start, deadline) == 120


def test_berlin_night_shift_across_the_missing_hour() -> None:
    # Wall 00:00-03:00 lasts two real hours on 2026-03-29 and four on 2026-10-25.
    spring = business_minutes_between(NIGHT, at(BER, 2026, 3, 28, 12), at(BER, 2026, 3, 29, 12))
    autumn = business_minutes_between(NIGHT, at(BER, 2026, 10, 24, 12), at(BER, 2026, 10, 25, 12))
    assert (spring, autumn) == (120 + 120, 120 + 240)
    assert add_business_minutes(NIGHT, at(BER, 2026, 3, 29, 1), 60) == at(BER, 2026, 3, 29, 3)
    repeated = dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BER)  # second pass of 02:30
    assert is_working(NIGHT, repeated)


def test_interval_starting_in_nonexistent_hour() -> None:
    cal = build_calendar("gap", "Europe/Berlin", {"sun": ["02:30-04:00"]}, country=None)
    day_start, day_end = at(BER, 2026, 3, 29), at(BER, 2026, 3, 30)
    assert business_minutes_between(cal, day_start, day_end) == 60  # 03:00-04:00 CEST exists
    assert next_working_moment(cal, day_start) == at(BER, 2026, 3, 29, 3)


def test_new_york_fall_back_2026_11_01() -> None:
    start = at(NYC, 2026, 10, 30, 16)  # Fri, EDT
    deadline = add_business_minutes(NEW_YORK, start, 120)
    assert deadline == dt.datetime(2026, 11, 2, 15, tzinfo=UTC)  # Mon 10:00 EST
    assert business_minutes_between(NEW_YORK, start, deadline) == 120


# --- config ---------------------------------------------------------------------------------------


def test_extra_holidays_and_workdays_from_config() -> None:
    cal = build_calendar(
        "cfg",
        "Europe/Moscow",
        weekdays("09:00-18:00"),
        # 2025-11-01 overrides a public working Saturday; 2026-01-09 a public day off
        extra_holidays=["2025-10-14", dt.date(2025, 11, 1)],
        extra_workdays=["2025-10-18", "2026-01-09"],
        years=YEARS,
        workday_hours=["10:00-14:00"],
    )
    assert not is_working(cal, at(MSK, 2025, 10, 14, 12))
    assert not is_working(cal, at(MSK, 2025, 11, 1, 12))
    assert is_working(cal, at(MSK, 2025, 10, 18, 10))
    assert not is_working(cal, at(MSK, 2025, 10, 18, 15))
    assert is_working(cal, at(MSK, 2026, 1, 9, 13))


def test_extra_workday_defaults_to_monday_hours() -> None:
    cal = build_calendar(
        "cfg", "Europe/Moscow", weekdays("08:00-12:00"), extra_workdays=["2025-10-18"]
    )
    hours = cal.hours_on(dt.date(2025, 10, 18))
    assert hours == ((dt.time(8), dt.time(12)),)


def test_calendar_is_hashable_and_frozen() -> None:
    assert hash(RU) == hash(RU)
    with pytest.raises(AttributeError):
        RU.name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "bad"),
    [
        ({"hours": {"mo": ["09:00-18:00"]}}, "'mo'"),
        ({"hours": {"mon": ["9-18"]}}, "'9-18'"),
        ({"hours": {"mon": ["18:00-09:00"]}}, "18:00-09:00"),
        ({"hours": {"mon": ["25:00-26:00"]}}, "25:00-26:00"),
        ({"hours": {"mon": ["09:00-13:00", "12:00-18:00"]}}, "12:00-18:00"),
        ({"hours": {"mon": "09:00-18:00"}}, "'09:00-18:00'"),
        ({"hours": {}}, "no working hours"),
        ({"tz_name": "Mars/Olympus"}, "Mars/Olympus"),
        ({"country": "XX"}, "'XX'"),
        ({"extra_holidays": ["2025-13-01"]}, "2025-13-01"),
        ({"extra_holidays": ["2025-10-14"], "extra_workdays": ["2025-10-14"]}, "2025-10-14"),
    ],
)
def test_validation_names_the_bad_value(kwargs: Mapping[str, object], bad: str) -> None:
    args: dict[str, object] = {
        "name": "x",
        "tz_name": "Europe/Moscow",
        "hours": weekdays("09:00-18:00"),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=bad.replace("(", r"\(")):
        build_calendar(**args)  # type: ignore[arg-type]


def test_naive_datetimes_and_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        is_working(RU, dt.datetime(2025, 10, 13, 10))  # noqa: DTZ001
    with pytest.raises(ValueError, match="-5"):
        add_business_minutes(RU, at(MSK, 2025, 10, 13, 10), -5)


# --- pauses ---------------------------------------------------------------------------------------


def test_pause_across_weekend_moves_deadline() -> None:
    start = at(MSK, 2025, 10, 17, 10)  # Fri; unpaused deadline would be Fri 18:00
    pause = (at(MSK, 2025, 10, 17, 17), at(MSK, 2025, 10, 20, 11))  # waiting until Mon 11:00
    now = at(MSK, 2025, 10, 20, 11, 30)
    assert elapsed_business_minutes(RU, start, [pause], now) == 420 + 30
    assert deadline_with_pauses(RU, start, 480, [pause], now) == at(MSK, 2025, 10, 20, 12)


def test_overlapping_pauses_count_once() -> None:
    start, now = at(MSK, 2025, 10, 13, 9), at(MSK, 2025, 10, 13, 18)
    pauses = [
        (at(MSK, 2025, 10, 13, 10), at(MSK, 2025, 10, 13, 12)),
        (at(MSK, 2025, 10, 13, 11), at(MSK, 2025, 10, 13, 13)),
    ]
    assert elapsed_business_minutes(RU, start, pauses, now) == 540 - 180


def test_open_pause_stops_the_clock() -> None:
    start = at(MSK, 2025, 10, 13, 9)
    waiting = [(at(MSK, 2025, 10, 13, 10), None)]
    now = at(MSK, 2025, 10, 14, 12)
    assert deadline_with_pauses(RU, start, 480, waiting, now) is None
    assert elapsed_business_minutes(RU, start, waiting, now) == 60


def test_open_pause_after_breach_keeps_the_past_deadline() -> None:
    start = at(MSK, 2025, 10, 13, 9)
    waiting = [(at(MSK, 2025, 10, 14, 10), None)]
    now = at(MSK, 2025, 10, 14, 12)
    assert deadline_with_pauses(RU, start, 480, waiting, now) == at(MSK, 2025, 10, 13, 17)


# --- property test against a minute-by-minute oracle ----------------------------------------------


def oracle_hours(cal: BusinessCalendar, day: dt.date) -> Sequence[tuple[int, int]]:
    """The calendar's wall-clock rules restated independently, as minute-of-day ranges."""
    if day in cal.workdays:
        hours = cal.workday_hours or cal.weekly[0]
    elif day in cal.holidays:
        hours = ()
    else:
        hours = cal.weekly[day.weekday()]
    return [
        (s.hour * 60 + s.minute, 1440 if e == MIDNIGHT else e.hour * 60 + e.minute)
        for s, e in hours
    ]


def oracle_working(cal: BusinessCalendar, t: dt.datetime) -> bool:
    local = t.astimezone(cal.tz)
    minute = local.hour * 60 + local.minute
    return any(lo <= minute < hi for lo, hi in oracle_hours(cal, local.date()))


def oracle_add(cal: BusinessCalendar, start: dt.datetime, minutes: int) -> dt.datetime:
    """Step one real minute at a time; the deadline is the end of the `minutes`-th working one."""
    t, step = start, dt.timedelta(minutes=1)
    while True:
        if oracle_working(cal, t):
            minutes -= 1
            if minutes == 0:
                return t + step
        t += step


ORACLE_CALENDARS = [RU_LUNCH, BERLIN, NIGHT]
DST_DAYS = [dt.datetime(2026, 3, 28, tzinfo=UTC), dt.datetime(2026, 10, 24, tzinfo=UTC)]
starts = st.one_of(
    st.integers(0, 3 * 365 * 1440).map(
        lambda m: dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=m)
    ),
    st.tuples(st.sampled_from(DST_DAYS), st.integers(0, 2 * 1440)).map(
        lambda p: p[0] + dt.timedelta(minutes=p[1])
    ),
)


@pytest.mark.parametrize("cal", ORACLE_CALENDARS, ids=lambda c: c.name)
@settings(max_examples=200, deadline=None)
@given(start=starts, minutes=st.integers(1, 3000))
def test_matches_minute_by_minute_oracle(
    cal: BusinessCalendar, start: dt.datetime, minutes: int
) -> None:
    deadline = oracle_add(cal, start, minutes)
    assert add_business_minutes(cal, start, minutes) == deadline
    assert business_minutes_between(cal, start, deadline) == minutes
    assert is_working(cal, start) == oracle_working(cal, start)


@pytest.mark.parametrize("cal", ORACLE_CALENDARS, ids=lambda c: c.name)
@settings(max_examples=100, deadline=None)
@given(start=starts)
def test_next_working_moment_matches_oracle(cal: BusinessCalendar, start: dt.datetime) -> None:
    t = start
    while not oracle_working(cal, t):
        t += dt.timedelta(minutes=1)
    assert next_working_moment(cal, start) == t


def test_working_days_match_holidays_package() -> None:
    ru = holidays.country_holidays("RU", years=[2026])
    day, count = dt.date(2026, 1, 1), 0
    while day.year == 2026:
        count += ru.is_working_day(day)
        day += dt.timedelta(days=1)
    assert business_minutes_between(RU, at(MSK, 2026, 1, 1), at(MSK, 2027, 1, 1)) == count * 540


def test_utc_new_year_inside_a_local_day() -> None:
    # Kiritimati is UTC+14: local Jan 1 starts on Dec 31 10:00 UTC, so tables cut at UTC new year
    # must hand over mid-interval without losing or doubling time.
    always = build_calendar(
        "24/7", "Pacific/Kiritimati", {d: ["00:00-24:00"] for d in WEEKDAYS}, country=None
    )
    kiri = ZoneInfo("Pacific/Kiritimati")
    start = dt.datetime(2025, 12, 31, 20, tzinfo=UTC)
    assert business_minutes_between(always, start, start + dt.timedelta(hours=9)) == 540
    assert add_business_minutes(always, start, 540) == start + dt.timedelta(hours=9)
    office = build_calendar("kiri", "Pacific/Kiritimati", weekdays("09:00-17:00"), country=None)
    assert add_business_minutes(office, at(kiri, 2027, 12, 31, 16), 120) == at(
        kiri, 2028, 1, 3, 10
    )
