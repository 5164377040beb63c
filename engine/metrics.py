"""F10 metrics, the pure part: months (YYYY-MM in the service's time zone), duration
summaries (mean, median, p90) and the frozen report records that `/stats`, the CLI, the
digest and the chart all read. The SQL that feeds them is in `engine/store/metrics_sql.py`.

Definitions (one place, so the tests, the texts and the SQL agree):
- a dialog belongs to the month it started in; its response time is the stored
  `response_seconds` (calendar) and the business minutes between question and answer;
- a ticket is *opened* in the month of `created_at` and *closed* in the month of
  `resolved_at` (the work is finished; `closed` always passes through `resolved`);
- *still open* = created before the month's end and not finished at that instant;
- resolution time = created -> resolved; of it, time in `waiting` is waiting on the client,
  time between a resolve and a reopen is nobody's, the rest is waiting on the specialist;
- an SLA target counts in the month its outcome became known: met when done by the due
  time (counted at the done time), breached at the due time when not done by then;
- the average rating is over the ratings given in the month.
Percentiles interpolate between closest ranks, as PostgreSQL's `percentile_cont` does.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from engine.sla.calendar import BusinessCalendar, business_minutes_between

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

WAITING = "waiting"
RESOLVED = "resolved"


# --- months --------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month; its bounds are local midnights in the given time zone."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9999:
            raise ValueError(f"no such month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if match is None:
            raise ValueError(f"bad period {text!r}: expected YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, at: dt.datetime, tz: ZoneInfo) -> Period:
        local = at.astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def start(self, tz: ZoneInfo) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=tz).astimezone(dt.UTC)

    def end(self, tz: ZoneInfo) -> dt.datetime:
        return self.shift(1).start(tz)

    def back(self, count: int) -> tuple[Period, ...]:
        """`count` months ending with this one, oldest first."""
        return tuple(self.shift(i) for i in range(1 - count, 1))


# --- summaries -----------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks of sorted values (percentile_cont)."""
    if not ordered:
        raise ValueError("percentile of no values")
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Durations:
    """Seconds; None when there is nothing to summarise."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


def summarize(values: Iterable[float]) -> Durations:
    ordered = sorted(values)
    if not ordered:
        return Durations()
    return Durations(count=len(ordered), mean=math.fsum(ordered) / len(ordered),
                     median=percentile(ordered, 0.5), p90=percentile(ordered, 0.9))


@dataclass(frozen=True)
class Timing:
    """The same durations measured on the wall clock and in business time."""

    calendar: Durations = Durations()
    business: Durations = Durations()


@dataclass(frozen=True)
class Share:
    met: int = 0
    total: int = 0

    @property
    def percent(self) -> float | None:
        return None if self.total == 0 else 100.0 * self.met / self.total


@dataclass(frozen=True)
class RatingStats:
    count: int = 0
    mean: float | None = None


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstLine:
    dialogs: int = 0
    answered: int = 0
    response: Timing = Timing()


@dataclass(frozen=True)
class SecondLine:
    opened: int = 0
    closed: int = 0
    open_at_end: int = 0
    resolution: Timing = Timing()
    on_client: Timing = Timing()
    on_specialist: Timing = Timing()
    first_response_sla: Share = Share()
    resolution_sla: Share = Share()
    rating: RatingStats = RatingStats()


@dataclass(frozen=True)
class Figures:
    first_line: FirstLine = FirstLine()
    second_line: SecondLine = SecondLine()


@dataclass(frozen=True)
class SpecialistFigures:
    person_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class MonthFigures:
    period: Period
    figures: Figures


@dataclass(frozen=True)
class Report:
    """One month in full, per specialist, and the months before it (oldest first, the
    reported month last) for trends and the chart."""

    period: Period
    timezone: str
    generated_at: dt.datetime
    total: Figures
    specialists: tuple[SpecialistFigures, ...]
    history: tuple[MonthFigures, ...]


# --- raw rows, as the store fetches them ---------------------------------------------------


@dataclass(frozen=True)
class DialogRow:
    answered_by: int | None
    started_at: dt.datetime
    answered_at: dt.datetime | None
    response_seconds: int | None


@dataclass(frozen=True)
class ResolvedRow:
    number: int
    responsible_id: int | None
    created_at: dt.datetime
    resolved_at: dt.datetime


@dataclass(frozen=True)
class PauseRow:
    """A stretch of a resolved ticket spent `waiting` or `resolved` (before a reopen)."""

    ticket: int
    status: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Counts:
    """What SQL counts per responsible (None = unassigned) for one month."""

    opened: int = 0
    closed: int = 0
    open_at_end: int = 0
    fr_met: int = 0
    fr_total: int = 0
    res_met: int = 0
    res_total: int = 0
    rating_sum: int = 0
    rating_count: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


def _values(counts: Counts) -> tuple[int, ...]:
    return (counts.opened, counts.closed, counts.open_at_end, counts.fr_met, counts.fr_total,
            counts.res_met, counts.res_total, counts.rating_sum, counts.rating_count)


@dataclass(frozen=True)
class MonthRows:
    """Everything fetched for one month; `counts` is keyed by responsible person id."""

    dialogs: tuple[DialogRow, ...]
    resolved: tuple[ResolvedRow, ...]
    pauses: tuple[PauseRow, ...]
    counts: dict[int | None, Counts]


# --- from rows to figures ------------------------------------------------------------------

Measure = Callable[[dt.datetime, dt.datetime], float]


def calendar_seconds(start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def business_measure(calendar: BusinessCalendar) -> Measure:
    def seconds(start: dt.datetime, end: dt.datetime) -> float:
        return business_minutes_between(calendar, start, end) * 60.0

    return seconds


def _timing(pairs: Sequence[tuple[float, float]]) -> Timing:
    return Timing(calendar=summarize(p[0] for p in pairs),
                  business=summarize(p[1] for p in pairs))


def _response(dialog: DialogRow, business: Measure) -> tuple[float, float] | None:
    """(calendar, business) seconds to the first answer; the stored seconds are the
    calendar truth (the chat channel measured them), business time is derived here."""
    if dialog.answered_at is None:
        return None
    calendar = (float(dialog.response_seconds) if dialog.response_seconds is not None
                else calendar_seconds(dialog.started_at, dialog.answered_at))
    return calendar, business(dialog.started_at, dialog.answered_at)


def first_line(dialogs: Sequence[DialogRow], business: Measure) -> FirstLine:
    pairs = [p for p in (_response(d, business) for d in dialogs) if p is not None]
    return FirstLine(dialogs=len(dialogs), answered=len(pairs), response=_timing(pairs))


@dataclass(frozen=True)
class TicketSplit:
    """One resolved ticket's resolution time and how it divides, in seconds."""

    total: float
    on_client: float
    on_specialist: float


def split_ticket(row: ResolvedRow, pauses: Iterable[PauseRow], measure: Measure) -> TicketSplit:
    total = measure(row.created_at, row.resolved_at)
    spent = {WAITING: 0.0, RESOLVED: 0.0}
    for pause in pauses:
        # Clipped to the ticket's life: a pause can never count for more than it lasted.
        start, end = max(pause.start, row.created_at), min(pause.end, row.resolved_at)
        if end > start and pause.status in spent:
            spent[pause.status] += measure(start, end)
    return TicketSplit(total=total, on_client=spent[WAITING],
                       on_specialist=max(0.0, total - spent[WAITING] - spent[RESOLVED]))


def _splits(rows: Sequence[ResolvedRow], pauses: Sequence[PauseRow],
            measure: Measure) -> list[TicketSplit]:
    by_ticket: dict[int, list[PauseRow]] = {}
    for pause in pauses:
        by_ticket.setdefault(pause.ticket, []).append(pause)
    return [split_ticket(row, by_ticket.get(row.number, ()), measure) for row in rows]


def second_line(rows: Sequence[ResolvedRow], pauses: Sequence[PauseRow], counts: Counts,
                business: Measure) -> SecondLine:
    cal, biz = _splits(rows, pauses, calendar_seconds), _splits(rows, pauses, business)
    return SecondLine(
        opened=counts.opened, closed=counts.closed, open_at_end=counts.open_at_end,
        resolution=_timing([(c.total, b.total) for c, b in zip(cal, biz, strict=True)]),
        on_client=_timing([(c.on_client, b.on_client) for c, b in zip(cal, biz, strict=True)]),
        on_specialist=_timing([(c.on_specialist, b.on_specialist)
                               for c, b in zip(cal, biz, strict=True)]),
        first_response_sla=Share(counts.fr_met, counts.fr_total),
        resolution_sla=Share(counts.res_met, counts.res_total),
        rating=RatingStats(counts.rating_count, counts.rating_sum / counts.rating_count
                           if counts.rating_count else None),
    )


def _sum_counts(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in counts:
        total = total + item
    return total


def figures(rows: MonthRows, business: Measure) -> Figures:
    """Everyone's figures for one month."""
    return Figures(first_line=first_line(rows.dialogs, business),
                   second_line=second_line(rows.resolved, rows.pauses,
                                           _sum_counts(rows.counts.values()), business))


def people_in(rows: MonthRows) -> list[int]:
    """Everyone who answered a dialog or is responsible for a counted ticket."""
    found = {d.answered_by for d in rows.dialogs} | set(rows.counts)
    found |= {r.responsible_id for r in rows.resolved}
    return sorted(p for p in found if p is not None)


def figures_of(rows: MonthRows, person_id: int, business: Measure) -> Figures:
    """One specialist's figures: dialogs they answered, tickets they are responsible for."""
    dialogs = [d for d in rows.dialogs if d.answered_by == person_id]
    resolved = [r for r in rows.resolved if r.responsible_id == person_id]
    numbers = {r.number for r in resolved}
    pauses = [p for p in rows.pauses if p.ticket in numbers]
    return Figures(first_line=first_line(dialogs, business),
                   second_line=second_line(resolved, pauses,
                                           rows.counts.get(person_id, Counts()), business))
