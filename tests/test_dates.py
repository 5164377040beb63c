"""Until-times as people type them, seen from a fixed `now`."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.commands.dates import parse_until

MSK = ZoneInfo("Europe/Moscow")
UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")

# A Wednesday morning in Moscow.
NOW_MSK = dt.datetime(2026, 5, 13, 10, 0, tzinfo=MSK)
# A Wednesday evening in UTC, already Thursday in Moscow.
NOW_UTC = dt.datetime(2026, 5, 13, 22, 30, tzinfo=UTC)


def msk(month: int, day: int, hour: int = 9, minute: int = 0, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=MSK)


def utc(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    # Calendar dates; a date alone means 09:00 that day.
    ("2026-12-01", msk(12, 1)),
    ("2026-12-01 15:00", msk(12, 1, 15)),
    ("2026-12-01T15:00", msk(12, 1, 15)),
    ("2026-6-1", msk(6, 1)),
    ("01.12.2026", msk(12, 1)),
    ("1.12.2026 15:30", msk(12, 1, 15, 30)),
    ("01.12", msk(12, 1)),
    ("01.05", msk(5, 1, year=2027)),  # already past this year: next year's
    ("13.05", msk(5, 13)),  # today's 09:00, though passed: the command layer refuses it
    # A time alone: today, or tomorrow once it has passed.
    ("15:00", msk(5, 13, 15)),
    ("9:30", msk(5, 14, 9, 30)),
    ("10:00", msk(5, 14, 10)),
    ("23:59", msk(5, 13, 23, 59)),
    ("00:00", msk(5, 14, 0)),
    # Relative.
    ("+3d", msk(5, 16, 10)),
    ("+4h", msk(5, 13, 14)),
    ("+30m", msk(5, 13, 10, 30)),
    ("+1w", msk(5, 20, 10)),
    ("+2д", msk(5, 15, 10)),
    ("+5ч", msk(5, 13, 15)),
    ("+15мин", msk(5, 13, 10, 15)),
    ("+36h", msk(5, 14, 22)),
    # Words.
    ("today 18:00", msk(5, 13, 18)),
    ("сегодня 18:00", msk(5, 13, 18)),
    ("tomorrow", msk(5, 14)),
    ("Tomorrow 15:00", msk(5, 14, 15)),
    ("завтра", msk(5, 14)),
    ("ЗАВТРА 8:15", msk(5, 14, 8, 15)),
    ("послезавтра", msk(5, 15)),
    # Weekdays: the next such day, never today.
    ("monday", msk(5, 18)),
    ("Mon", msk(5, 18)),
    ("понедельник", msk(5, 18)),
    ("пн", msk(5, 18)),
    ("tuesday", msk(5, 19)),
    ("wednesday", msk(5, 20)),
    ("ср", msk(5, 20)),
    ("thursday", msk(5, 14)),
    ("пятницу 12:00", msk(5, 15, 12)),
    ("fri", msk(5, 15)),
    ("суббота", msk(5, 16)),
    ("вс 11:00", msk(5, 17, 11)),
    ("  sunday  ", msk(5, 17)),
])
def test_moscow(text: str, expected: dt.datetime) -> None:
    until = parse_until(text, now=NOW_MSK, tz=MSK)
    assert until == expected
    assert until is not None and until.tzinfo == MSK


@pytest.mark.parametrize(("text", "expected"), [
    ("15:00", utc(5, 14, 15)),
    ("23:00", utc(5, 13, 23)),
    ("tomorrow", utc(5, 14)),
    ("2026-12-01", utc(12, 1)),
    ("01.12.2026 15:00", utc(12, 1, 15)),
    ("+2h", utc(5, 14, 0, 30)),
    ("thursday", utc(5, 14)),
    ("wednesday", utc(5, 20)),
])
def test_utc(text: str, expected: dt.datetime) -> None:
    until = parse_until(text, now=NOW_UTC, tz=UTC)
    assert until == expected
    assert until is not None and until.tzinfo == UTC


@pytest.mark.parametrize(("text", "expected"), [
    # 22:30 UTC is already 01:30 on Thursday in Moscow: "tomorrow" is Friday there.
    ("tomorrow", msk(5, 15)),
    ("15:00", msk(5, 14, 15)),
    ("thursday", msk(5, 21)),
    ("+1h", msk(5, 14, 2, 30)),
])
def test_days_are_counted_in_the_given_zone(text: str, expected: dt.datetime) -> None:
    assert parse_until(text, now=NOW_UTC, tz=MSK) == expected


def test_days_keep_the_clock_time_and_hours_are_elapsed_across_dst() -> None:
    # Berlin moves its clocks forward in the night to 2026-03-29.
    now = dt.datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    assert parse_until("+1d", now=now, tz=BERLIN) == dt.datetime(2026, 3, 29, 10, 0, tzinfo=BERLIN)
    assert parse_until("+24h", now=now, tz=BERLIN) == dt.datetime(2026, 3, 29, 11, 0, tzinfo=BERLIN)


@pytest.mark.parametrize("text", [
    "", "   ", "soon", "later today", "32.01.2026", "2026-02-30", "2026-13-01", "29.02.2027",
    "25:00", "12:60", "15", "+3x", "+", "+d", "-3d", "+9999999d", "+999999w",
    "tomorrow 25:00", "monday tuesday", "tomorrow at 15:00", "2026-12-01 15:00 sharp",
    "12/01/2026", "next monday",
])
def test_unparseable(text: str) -> None:
    assert parse_until(text, now=NOW_MSK, tz=MSK) is None
