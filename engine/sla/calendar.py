"""Business calendars and the pure business-time arithmetic behind SLA deadlines.

Semantics: an instant is working when its wall-clock time in the calendar's zone falls inside
one of that local date's intervals [start, end). Minutes are real elapsed minutes, so a working
interval that spans a DST switch is as long as the clock on the wall says it lasted (an hour
shorter in spring, an hour longer in autumn) and an hour that does not exist is never worked.

Speed: each UTC year is turned once, lazily, into sorted UTC intervals (integer microseconds
since the epoch) with running totals. Every query is then a bisect over one year, so the cost
does not grow with the number of minutes, days or weeks involved (only with the number of years).
Tables are cut at UTC (not local) new year so that they tile time exactly and finding the right
one is two integer comparisons, with no time-zone conversion on the hot path.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Interval = tuple[dt.time, dt.time]
DayHours = tuple[Interval, ...]

MIDNIGHT = dt.time(0)  # as an interval end it means 24:00, the end of the day
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Deterministic on purpose: the calendar must not change with the day the process started.
DEFAULT_YEARS = range(2020, 2036)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DATE = _EPOCH.date()
_US = dt.timedelta(microseconds=1)
_US_PER_MIN = 60_000_000
_US_PER_DAY = 86_400_000_000
# Offsets lie within -12h..+14h, so a window this wide around a local day holds all its instants.
_WINDOW_US = 16 * 3_600_000_000
_FAR = 1 << 62
_INTERVAL_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class _Year:
    """Working time within one UTC year [first, after) as sorted, disjoint µs intervals."""

    year: int
    first: int
    after: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    done: tuple[int, ...]  # working µs of this year up to ends[i]
    total: int

    def worked(self, us: int) -> int:
        """Working µs of this year before the instant `us`."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.done[i] - max(0, self.ends[i] - us)

    def instant_after(self, target: int) -> int:
        """The first instant by which `target` working µs have passed (0 < target <= total).

        bisect_left picks the interval whose end reaches the target first, so a deadline that
        fits exactly stays on that interval's end instead of the next interval's start.
        """
        j = bisect_left(self.done, target)
        return self.ends[j] - (self.done[j] - target)

    def next_start(self, us: int) -> int | None:
        """`us` itself when working, else the next interval start in this year (None if none)."""
        i = bisect_right(self.starts, us)
        if i and us < self.ends[i - 1]:
            return us
        return self.starts[i] if i < len(self.starts) else None


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working hours of one team: weekly hours in `tz`, minus `holidays`, plus `workdays`.

    `weekly[i]` holds the sorted, non-overlapping (start, end) intervals of weekday i (0 = Monday);
    an end of 00:00 means 24:00. A date in `workdays` is worked with `workday_hours`, or with the
    Monday hours when that is None. Build one with `build_calendar` from config.
    """

    name: str
    tz: ZoneInfo
    weekly: tuple[DayHours, ...]
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    workday_hours: DayHours | None = None
    # Public days off and transferred working days of `country` over `years`, read from the
    # `holidays` package on first use: it costs a process ~0.2 s, which one that computes
    # no deadline (a cron `mail send --once`, an empty poll) need not pay.
    country: str | None = None
    years: tuple[int, ...] = ()
    # Lazily built per-year tables; mutating the dict keeps the dataclass frozen and hashable.
    _years: dict[int, _Year] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _days: dict[str, frozenset[dt.date]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError(f"weekly hours need 7 days, got {len(self.weekly)}")
        for day, hours in zip(WEEKDAYS, self.weekly, strict=True):
            _check_day(hours, day)
        if not any(self.weekly):
            raise ValueError(f"calendar {self.name!r} has no working hours in the week")
        self._check_special_days()

    def _check_special_days(self) -> None:
        # Public days off and public working days never overlap, and each extra day wins
        # over the public one: only the extra days can clash.
        clash = sorted(self.extra_holidays & self.extra_workdays)
        if clash:
            raise ValueError(f"dates both holiday and workday: {[d.isoformat() for d in clash]}")
        if self.country is not None:
            _known_country(self.country)
        if self.workday_hours is not None:
            _check_day(self.workday_hours, "workday_hours")
        elif not self.weekly[0] and (self.extra_workdays or self.country is not None
                                     and self.workdays):
            raise ValueError("extra workdays need workday_hours: Monday has no hours to copy")

    @property
    def holidays(self) -> frozenset[dt.date]:
        """Every day off: the country's public holidays (less the extra workdays) and the
        extra holidays."""
        return self._special("holidays")

    @property
    def workdays(self) -> frozenset[dt.date]:
        """Every working day out of the week's rule: transferred working days (less the extra
        holidays) and the extra workdays."""
        return self._special("workdays")

    def _special(self, which: str) -> frozenset[dt.date]:
        if not self._days:
            public_off, public_on = _public_days(self.country, self.years)
            off, on = self.extra_holidays, self.extra_workdays
            self._days.update(holidays=(public_off - on) | off, workdays=(public_on - off) | on)
        return self._days[which]

    def hours_on(self, day: dt.date) -> DayHours:
        """Wall-clock working intervals of one local date."""
        if day in self.workdays:
            return self.workday_hours if self.workday_hours is not None else self.weekly[0]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def _year(self, year: int) -> _Year:
        """The table of one UTC year, built on first use."""
        table = self._years.get(year)
        if table is None:  # racing builders produce equal tables, so no lock is needed
            table = self._years[year] = _build_year(self, year)
        return table


# --- validation and config parsing -------------------------------------------------------------


def _fmt(interval: Interval) -> str:
    start, end = interval
    return f"{start:%H:%M}-{'24:00' if end == MIDNIGHT else f'{end:%H:%M}'}"


def _check_day(hours: DayHours, label: str) -> None:
    prev_end: dt.time | None = None
    for start, end in hours:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{label}: interval {_fmt((start, end))} must use naive wall times")
        if end != MIDNIGHT and end <= start:
            raise ValueError(f"{label}: interval {_fmt((start, end))} ends before it starts")
        if prev_end is not None and (prev_end == MIDNIGHT or start < prev_end):
            raise ValueError(f"{label}: interval {_fmt((start, end))} overlaps or is out of order")
        prev_end = end


def _parse_time(hh: str, mm: str, text: str, *, is_end: bool) -> dt.time:
    hour, minute = int(hh), int(mm)
    if is_end and (hour, minute) == (24, 0):
        return MIDNIGHT
    if hour > 23 or minute > 59:
        raise ValueError(f"bad time in interval {text!r}")
    return dt.time(hour, minute)


def parse_interval(text: str) -> Interval:
    """'09:00-18:00' -> (09:00, 18:00); an end of 24:00 (or 00:00) means the end of the day."""
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise ValueError(f"bad interval {text!r}: expected 'HH:MM-HH:MM'")
    h1, m1, h2, m2 = match.groups()
    return _parse_time(h1, m1, text, is_end=False), _parse_time(h2, m2, text, is_end=True)


def _parse_day(value: Sequence[str], label: str) -> DayHours:
    if isinstance(value, str):  # a bare string would otherwise be read character by character
        raise ValueError(f"{label}: expected a list of 'HH:MM-HH:MM', got {value!r}")
    hours = tuple(sorted(parse_interval(text) for text in value))
    _check_day(hours, label)
    return hours


def _parse_weekly(hours: Mapping[str, Sequence[str]]) -> tuple[DayHours, ...]:
    unknown = [key for key in hours if key.lower() not in WEEKDAYS]
    if unknown:
        raise ValueError(f"unknown weekday {unknown[0]!r}: use one of {', '.join(WEEKDAYS)}")
    by_day = {key.lower(): value for key, value in hours.items()}
    return tuple(_parse_day(by_day.get(day, ()), day) for day in WEEKDAYS)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):  # a datetime is a date subclass but means an instant
        raise ValueError(f"expected a date, got the datetime {value!r}")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad date {value!r}: expected YYYY-MM-DD") from exc


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {tz_name!r}") from exc


def _known_country(country: str) -> None:
    """Raises ValueError for a country the `holidays` package does not know. Its registry
    is read without loading any country (loading them all is the costly part)."""
    from holidays.registry import COUNTRIES

    if not any(country in names[1:] for names in COUNTRIES.values()):
        raise ValueError(f"unknown holiday country {country!r}")


def _public_days(
    country: str | None, years: Iterable[int]
) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """Public days off and transferred working days (e.g. RU's working Saturdays)."""
    if country is None:
        return frozenset(), frozenset()
    return _country_days(country, tuple(years))


@cache
def _country_days(country: str, years: tuple[int, ...]) -> tuple[frozenset[dt.date],
                                                                  frozenset[dt.date]]:
    """Once per process: the settings build the embedded default calendar and then the
    configured one, often of the same country, and `holidays` takes ~0.1 s per country."""
    import holidays as pyholidays  # only where a calendar is built: not for `--help`

    try:
        table = pyholidays.country_holidays(country, years=list(years))
    except NotImplementedError as exc:
        raise ValueError(f"unknown holiday country {country!r}") from exc
    days_off = frozenset(table.keys())
    return days_off, frozenset(table.weekend_workdays) - days_off


def build_calendar(
    name: str,
    tz_name: str,
    hours: Mapping[str, Sequence[str]],
    country: str | None = "RU",
    extra_holidays: Iterable[dt.date | str] = (),
    extra_workdays: Iterable[dt.date | str] = (),
    years: Iterable[int] = DEFAULT_YEARS,
    workday_hours: Sequence[str] | None = None,
) -> BusinessCalendar:
    """A calendar from config: {"mon": ["09:00-13:00", "14:00-18:00"], ...}; missing days are off.

    Public holidays and transferred working days of `country` come from the `holidays` package
    for `years`. Config wins over the package: an extra workday overrides a public holiday and an
    extra holiday overrides a transferred working day. Raises ValueError naming the bad value.
    """
    off = frozenset(_as_date(v) for v in extra_holidays)
    on = frozenset(_as_date(v) for v in extra_workdays)
    if off & on:
        raise ValueError(f"date both extra holiday and extra workday: {min(off & on).isoformat()}")
    return BusinessCalendar(
        name=name,
        tz=_zone(tz_name),
        weekly=_parse_weekly(hours),
        extra_holidays=off,
        extra_workdays=on,
        workday_hours=None
        if workday_hours is None
        else _parse_day(workday_hours, "workday_hours"),
        country=country,
        years=tuple(years),
    )


# --- per-year tables -----------------------------------------------------------------------------


def _from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(0, 0, us)  # positional: measurably faster than keywords


def _offset_us(tz: ZoneInfo, us: int) -> int:
    offset = _from_us(us).astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows the offset of an aware instant
    return offset // _US


def _offset_pieces(tz: ZoneInfo, wall_midnight: int) -> list[tuple[int, int, int]]:
    """(utc_from, utc_to, offset) pieces of constant offset around one local day.

    Assumes at most one offset change within ~56 hours, which holds for every zone since 1970.
    """
    lo, hi = wall_midnight - _WINDOW_US, wall_midnight + _US_PER_DAY + _WINDOW_US
    before, after = _offset_us(tz, lo), _offset_us(tz, hi)
    if before == after:
        return [(-_FAR, _FAR, before)]
    lo_s, hi_s = lo // 1_000_000, hi // 1_000_000  # offsets change on whole seconds
    while hi_s - lo_s > 1:  # invariant: offset at lo_s is `before`, at hi_s it is not
        mid = (lo_s + hi_s) // 2
        if _offset_us(tz, mid * 1_000_000) == before:
            lo_s = mid
        else:
            hi_s = mid
    switch = hi_s * 1_000_000
    return [(-_FAR, switch, before), (switch, _FAR, after)]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _day_spans(cal: BusinessCalendar, day: dt.date) -> list[tuple[int, int]]:
    """UTC spans of one local date: each wall interval mapped through each offset piece.

    In a spring gap the missing wall times map nowhere; in an autumn fold the repeated wall
    times map twice, so both passes of the repeated hour count as worked.
    """
    hours = cal.hours_on(day)
    if not hours:
        return []
    midnight = (day - _EPOCH_DATE).days * _US_PER_DAY
    pieces = _offset_pieces(cal.tz, midnight)
    spans = []
    for start, end in hours:
        wall_a = midnight + _time_us(start)
        wall_b = midnight + (_US_PER_DAY if end == MIDNIGHT else _time_us(end))
        for lo, hi, offset in pieces:
            a, b = max(wall_a - offset, lo), min(wall_b - offset, hi)
            if a < b:
                spans.append((a, b))
    return _merge(spans)


def _time_us(t: dt.time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _jan1_us(year: int) -> int:
    return (dt.date(year, 1, 1) - _EPOCH_DATE).days * _US_PER_DAY


def _build_year(cal: BusinessCalendar, year: int) -> _Year:
    first, after = _jan1_us(year), _jan1_us(year + 1)
    starts: list[int] = []
    ends: list[int] = []
    done: list[int] = []
    total = 0
    # Local days a day either side of the UTC year can still reach into it (offsets < 24h).
    for day in _days(dt.date(year, 1, 1), dt.date(year, 12, 31), pad=1):
        for lo, hi in _day_spans(cal, day):
            start, end = max(lo, first), min(hi, after)
            if start < end:
                total += end - start
                starts.append(start)
                ends.append(end)
                done.append(total)
    return _Year(year, first, after, tuple(starts), tuple(ends), tuple(done), total)


def _days(first: dt.date, last: dt.date, pad: int) -> Iterable[dt.date]:
    """first-pad .. last+pad, clamped to the dates Python can represent."""
    lo = max(first.toordinal() - pad, 1)
    hi = min(last.toordinal() + pad, dt.date.max.toordinal())
    return (dt.date.fromordinal(n) for n in range(lo, hi + 1))


# --- public arithmetic -----------------------------------------------------------------------------


def _locate(cal: BusinessCalendar, at: dt.datetime) -> tuple[int, _Year]:
    """(µs since the epoch, table of its UTC year) of an aware datetime."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: pass an aware one")
    us = (at - _EPOCH) // _US
    # The year in at's own zone is the UTC year or one off; the dict hit skips a method call.
    table = cal._years.get(at.year) or cal._year(at.year)
    if us < table.first:
        return us, cal._year(at.year - 1)
    if us >= table.after:
        return us, cal._year(at.year + 1)
    return us, table


def _minutes_us(minutes: float) -> int:
    if not math.isfinite(minutes) or minutes < 0:
        raise ValueError(f"minutes must be a finite number >= 0, got {minutes!r}")
    if isinstance(minutes, int):
        return minutes * _US_PER_MIN
    return round(minutes * _US_PER_MIN)


def _next_working_us(cal: BusinessCalendar, us: int, table: _Year) -> int:
    found = table.next_start(us)
    while found is None:  # ends: the weekly hours are non-empty and holidays are finite
        table = cal._year(table.year + 1)
        found = table.next_start(us)
    return found


def is_working(cal: BusinessCalendar, at: dt.datetime) -> bool:
    """Whether `at` falls inside working hours (interval ends are not working)."""
    us, table = _locate(cal, at)
    return table.next_start(us) == us


def next_working_moment(cal: BusinessCalendar, at: dt.datetime) -> dt.datetime:
    """`at` itself (in UTC) when working, else the start of the next working interval."""
    us, table = _locate(cal, at)
    return _from_us(_next_working_us(cal, us, table))


def add_business_minutes(cal: BusinessCalendar, start: dt.datetime, minutes: float) -> dt.datetime:
    """The UTC instant `minutes` business minutes after `start` (the SLA deadline).

    Outside hours the clock starts at the next working moment, so 0 minutes gives that moment.
    A deadline that fits exactly into an interval stays on its end (18:00, not 09:00 next day).
    """
    need = _minutes_us(minutes)
    us, table = _locate(cal, start)
    if need == 0:
        return _from_us(_next_working_us(cal, us, table))
    target = table.worked(us) + need
    while target > table.total:
        target -= table.total
        table = cal._year(table.year + 1)
    return _from_us(table.instant_after(target))


def business_minutes_between(cal: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """Business minutes in [start, end); 0 when end <= start."""
    a, first = _locate(cal, start)
    b, last = _locate(cal, end)
    if b <= a:
        return 0.0
    if first is last:
        return (first.worked(b) - first.worked(a)) / _US_PER_MIN
    total = first.total - first.worked(a)
    total += sum(cal._year(year).total for year in range(first.year + 1, last.year))
    return (total + last.worked(b)) / _US_PER_MIN
