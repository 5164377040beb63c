"""Until-times for `/wait` and `/status N waiting <until>`, as people type them (en, ru).

Forms: `+3d` `+4h` `+30m` `+1w`; `15:00` (today, or tomorrow once passed); a day, optionally
followed by `HH:MM`: `2026-12-01`, `01.12.2026`, `01.12`, `today`, `tomorrow`, a weekday
(`monday`, `пн`: the next such day, never today). `now` is injected, so nothing here reads a
clock; every result is aware and expressed in `tz`.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

# A day named without a time means "when work starts that day", not midnight: waiting until
# 00:00 would bring the ticket back to the queue while nobody is there to see it.
BUSINESS_START = dt.time(9, 0)

_ISO_T = re.compile(r"(\d)t(\d)")  # 2026-12-01T15:00 reads as "2026-12-01 15:00"
_RELATIVE = re.compile(r"\+\s*(\d{1,6})\s*([a-zа-я]+)")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?")

_UNITS: dict[str, dt.timedelta] = {
    **dict.fromkeys(("m", "min", "mins", "м", "мин"), dt.timedelta(minutes=1)),
    **dict.fromkeys(("h", "hr", "hrs", "ч", "час", "часа", "часов"), dt.timedelta(hours=1)),
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дня", "дней"), dt.timedelta(days=1)),
    **dict.fromkeys(("w", "wk", "week", "weeks", "н", "нед"), dt.timedelta(weeks=1)),
}

# Days counted from today; weekdays are handled apart because they depend on today.
_DAY_WORDS: dict[str, int] = {
    "today": 0, "сегодня": 0, "tomorrow": 1, "завтра": 1, "послезавтра": 2,
}

_WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("monday", "mon", "понедельник", "пн"), 0),
    **dict.fromkeys(("tuesday", "tue", "tues", "вторник", "вт"), 1),
    **dict.fromkeys(("wednesday", "wed", "среда", "среду", "ср"), 2),
    **dict.fromkeys(("thursday", "thu", "thur", "thurs", "четверг", "чт"), 3),
    **dict.fromkeys(("friday", "fri", "пятница", "пятницу", "пт"), 4),
    **dict.fromkeys(("saturday", "sat", "суббота", "субботу", "сб"), 5),
    **dict.fromkeys(("sunday", "sun", "воскресенье", "вс"), 6),
}


def parse_until(text: str, *, now: dt.datetime, tz: ZoneInfo) -> dt.datetime | None:
    """The moment `text` names, seen from `now` (aware) in `tz`; None if it names none."""
    words = _ISO_T.sub(r"\1 \2", text.strip().lower().replace("ё", "е")).split()
    if not words or len(words) > 2:
        return None
    local_now = now.astimezone(tz)
    if len(words) == 1:
        return _relative(words[0], local_now) or _time_only(words[0], local_now) or _day_at(
            words[0], None, local_now)
    return _day_at(words[0], words[1], local_now)


def _relative(word: str, now: dt.datetime) -> dt.datetime | None:
    match = _RELATIVE.fullmatch(word)
    unit = _UNITS.get(match.group(2)) if match else None
    if match is None or unit is None:
        return None
    try:
        return _shift(now, int(match.group(1)), unit)
    except OverflowError:  # "+999999w" is past year 9999: not a time anyone means
        return None


def _shift(now: dt.datetime, count: int, unit: dt.timedelta) -> dt.datetime:
    """Days and weeks keep the clock time (+1d at 10:00 is 10:00 even across a DST change);
    hours and minutes are elapsed time (+24h is 24 real hours), so they are added in UTC."""
    if unit < dt.timedelta(days=1):
        return (now.astimezone(dt.UTC) + count * unit).astimezone(now.tzinfo)
    return now + count * unit


def _time_only(word: str, now: dt.datetime) -> dt.datetime | None:
    at = _clock_time(word)
    if at is None:
        return None
    today = _at(now.date(), at, now.tzinfo)
    return today if today > now else _at(now.date() + dt.timedelta(days=1), at, now.tzinfo)


def _day_at(day_word: str, time_word: str | None, now: dt.datetime) -> dt.datetime | None:
    day = _day(day_word, now.date())
    at = BUSINESS_START if time_word is None else _clock_time(time_word)
    if day is None or at is None:
        return None
    return _at(day, at, now.tzinfo)


def _day(word: str, today: dt.date) -> dt.date | None:
    if word in _DAY_WORDS:
        return today + dt.timedelta(days=_DAY_WORDS[word])
    if word in _WEEKDAYS:
        # "monday" on a Monday means the next one: nobody waits "until today 09:00".
        ahead = (_WEEKDAYS[word] - today.weekday() - 1) % 7 + 1
        return today + dt.timedelta(days=ahead)
    return _calendar_date(word, today)


def _calendar_date(word: str, today: dt.date) -> dt.date | None:
    iso, dotted = _ISO_DATE.fullmatch(word), _DOTTED_DATE.fullmatch(word)
    try:
        if iso:
            return dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if dotted:
            return _day_month(int(dotted.group(1)), int(dotted.group(2)), dotted.group(3), today)
    except ValueError:  # 31.02, month 13: a date that does not exist
        return None
    return None


def _day_month(day: int, month: int, year: str | None, today: dt.date) -> dt.date:
    """`01.12.2026`, or `01.12` meaning the next 1 December from today on."""
    if year is not None:
        return dt.date(int(year), month, day)
    this_year = dt.date(today.year, month, day)
    return this_year if this_year >= today else dt.date(today.year + 1, month, day)


def _clock_time(word: str) -> dt.time | None:
    match = _TIME.fullmatch(word)
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    return dt.time(hour, minute) if hour < 24 and minute < 60 else None


def _at(day: dt.date, at: dt.time, tz: dt.tzinfo | None) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=tz)
