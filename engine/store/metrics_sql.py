"""F10 metrics, the SQL part: per month, counts are aggregated in the database and only the
per-item timestamps that medians and business time need are fetched (resolved tickets,
dialogs, and the waiting stretches of resolved tickets), each in one query.

The definitions live in `engine/metrics.py`; this module only selects the rows they name.
Every month is a pair of index ranges on `created_at`, `resolved_at`, `first_response_at`,
the due columns, `dialogs.started_at` and `ratings.at`, so a report costs the same whatever
the size of the history before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine import metrics as m
from engine.sla.calendar import BusinessCalendar
from engine.store.db import insert, reading
from engine.store.tables import (
    UtcDateTime,
    dialogs,
    events,
    people,
    ratings,
    report_runs,
    tickets,
)

FINISHED = ("resolved", "closed")
PAUSES = (m.WAITING, m.RESOLVED)
HISTORY_MONTHS = 6


def status_new(dialect: Dialect) -> ColumnElement[Any]:
    """The `new` status of a status event, read from its JSON text payload."""
    if dialect.name == "postgresql":
        return func.json_extract_path_text(cast(events.c.payload, JSON), "new")
    return func.json_extract(events.c.payload, "$.new")


def _between(column: Any, start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


# --- per-item rows -------------------------------------------------------------------------


async def _dialogs(conn: AsyncConnection, start: dt.datetime,
                   end: dt.datetime) -> tuple[m.DialogRow, ...]:
    d = dialogs.c
    rows = await conn.execute(select(d.answered_by, d.started_at, d.answered_at,
                                     d.response_seconds)
                              .where(_between(d.started_at, start, end)))
    return tuple(m.DialogRow(*row) for row in rows)


def _resolved_numbers(start: dt.datetime, end: dt.datetime) -> Select[Any]:
    return select(tickets.c.number).where(_between(tickets.c.resolved_at, start, end))


async def _resolved(conn: AsyncConnection, start: dt.datetime,
                    end: dt.datetime) -> tuple[m.ResolvedRow, ...]:
    t = tickets.c
    rows = await conn.execute(select(t.number, t.responsible_id, t.created_at, t.resolved_at)
                              .where(_between(t.resolved_at, start, end)))
    return tuple(m.ResolvedRow(*row) for row in rows)


async def _pauses(conn: AsyncConnection, start: dt.datetime,
                  end: dt.datetime) -> tuple[m.PauseRow, ...]:
    """Each status stretch of a ticket resolved in the month that was `waiting`, or
    `resolved` and then reopened: a status event up to the next one (a window function,
    so the stretches come out of one pass over the tickets' own events)."""
    e = events.c
    following = func.lead(e.at, type_=UtcDateTime()).over(partition_by=e.ticket,
                                                          order_by=e.id)
    stretch = (select(e.ticket, status_new(conn.dialect).label("status"), e.at.label("start"),
                      following.label("end"))
               .where(e.kind == "status", e.ticket.in_(_resolved_numbers(start, end)))
               .subquery())
    rows = await conn.execute(select(stretch.c.ticket, stretch.c.status, stretch.c.start,
                                     stretch.c.end)
                              .where(stretch.c.status.in_(PAUSES), stretch.c.end.is_not(None)))
    return tuple(m.PauseRow(*row) for row in rows)


# --- counts per responsible ----------------------------------------------------------------


# Grouping on `responsible_id + 0` rather than the column: SQLite would otherwise walk the
# whole table in responsible order (its index) instead of the range the WHERE names.
_OWNER = (tickets.c.responsible_id + 0).label("responsible_id")


def _counted(label: str, where: Iterable[ColumnElement[bool]]) -> Select[Any]:
    return (select(literal(label).label("what"), _OWNER, func.count().label("n"),
                   literal(0).label("total"))
            .where(*where).group_by(_OWNER))


def _open_at_end(dialect: Dialect, end: dt.datetime) -> list[Select[Any]]:
    """Created before `end` and not finished then, in two parts so that the event log is
    read only for tickets changed since `end`:
    - untouched since `end` (`updated_at` is stamped by every status change): the current
      status is the status then;
    - changed since: the last status event before `end` says what it was. A ticket now
      finished with `resolved_at` before `end` was finished then too (a reopen clears
      `resolved_at`), so those are left out up front."""
    e, t = events.c, tickets.c
    candidate = (t.created_at < end, or_(t.resolved_at.is_(None), t.resolved_at >= end))
    last = (select(status_new(dialect)).where(e.ticket == t.number, e.kind == "status",
                                              e.at < end)
            .order_by(e.id.desc()).limit(1).scalar_subquery())
    return [_counted("open_at_end", (*candidate, t.updated_at < end, t.status.not_in(FINISHED))),
            _counted("open_at_end", (*candidate, t.updated_at >= end,
                                     or_(last.is_(None), last.not_in(FINISHED))))]


def _sla(label: str, done: Any, due: Any, start: dt.datetime, end: dt.datetime,
         now: dt.datetime) -> list[Select[Any]]:
    """Met: done by the due time, counted when done. Breached: not done by the due time,
    counted when the due time passed (and only once it has)."""
    met = _counted(label + "_met", (_between(done, start, end), done <= due))
    breached = _counted(label + "_breached", (
        _between(due, start, end), due <= now, or_(done.is_(None), done > due)))
    return [met, breached]


def _ratings(start: dt.datetime, end: dt.datetime) -> Select[Any]:
    return (select(literal("rating").label("what"), _OWNER, func.count().label("n"),
                   func.sum(ratings.c.score).label("total"))
            .select_from(ratings.join(tickets, tickets.c.number == ratings.c.ticket))
            .where(_between(ratings.c.at, start, end)).group_by(_OWNER))


def _counts_query(dialect: Dialect, start: dt.datetime, end: dt.datetime,
                  now: dt.datetime) -> Any:
    t = tickets.c
    parts = [_counted("opened", (_between(t.created_at, start, end),)),
             _counted("closed", (_between(t.resolved_at, start, end),)),
             *_open_at_end(dialect, end),
             *_sla("fr", t.first_response_at, t.first_response_due, start, end, now),
             *_sla("res", t.resolved_at, t.resolution_due, start, end, now),
             _ratings(start, end)]
    return union_all(*parts)


_FIELDS = {"opened": ("opened",), "closed": ("closed",), "open_at_end": ("open_at_end",),
           "fr_met": ("fr_met", "fr_total"), "fr_breached": ("fr_total",),
           "res_met": ("res_met", "res_total"), "res_breached": ("res_total",)}


def _add(counts: m.Counts, what: str, n: int, total: int) -> m.Counts:
    if what == "rating":
        return counts + m.Counts(rating_sum=int(total), rating_count=n)
    return counts + m.Counts(**dict.fromkeys(_FIELDS[what], n))


async def _counts(conn: AsyncConnection, start: dt.datetime, end: dt.datetime,
                  now: dt.datetime) -> dict[int | None, m.Counts]:
    found: dict[int | None, m.Counts] = {}
    for what, person, n, total in await conn.execute(
            _counts_query(conn.dialect, start, end, now)):
        found[person] = _add(found.get(person, m.Counts()), what, n, total)
    return found


# --- the report ----------------------------------------------------------------------------


async def month_rows(conn: AsyncConnection, period: m.Period, tz: ZoneInfo,
                     now: dt.datetime) -> m.MonthRows:
    start, end = period.start(tz), period.end(tz)
    return m.MonthRows(dialogs=await _dialogs(conn, start, end),
                       resolved=await _resolved(conn, start, end),
                       pauses=await _pauses(conn, start, end),
                       counts=await _counts(conn, start, end, now))


async def _no_jit(conn: AsyncConnection) -> None:
    """PostgreSQL's JIT compiles each of these short queries for ~100 ms, longer than they
    run (their cost estimates cross `jit_above_cost`); this transaction goes without."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL jit = off"))


async def _names(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await conn.execute(select(people.c.id, people.c.name).where(people.c.id.in_(ids)))
    return {int(row.id): str(row.name) for row in rows}


async def _specialists(conn: AsyncConnection, rows: m.MonthRows,
                       business: m.Measure) -> tuple[m.SpecialistFigures, ...]:
    ids = m.people_in(rows)
    names = await _names(conn, ids)
    return tuple(m.SpecialistFigures(person_id=p, name=names.get(p, f"#{p}"),
                                     figures=m.figures_of(rows, p, business))
                 for p in sorted(ids, key=lambda p: (names.get(p, ""), p)))


async def monthly_report(engine: AsyncEngine, period: m.Period, *, timezone: str,
                         calendar: BusinessCalendar, now: dt.datetime,
                         history: int = HISTORY_MONTHS) -> m.Report:
    """The month in full with its specialists, and the `history` months ending with it."""
    tz, business = ZoneInfo(timezone), m.business_measure(calendar)
    async with reading(engine) as conn:
        await _no_jit(conn)
        months = [(p, await month_rows(conn, p, tz, now)) for p in period.back(max(1, history))]
        rows = months[-1][1]
        specialists = await _specialists(conn, rows, business)
    return m.Report(period=period, timezone=timezone, generated_at=now,
                    total=m.figures(rows, business), specialists=specialists,
                    history=tuple(m.MonthFigures(p, m.figures(r, business))
                                  for p, r in months))


# --- scheduled reports ---------------------------------------------------------------------


async def report_ran(engine: AsyncEngine, kind: str, period: str) -> bool:
    """A cheap look before building a report that was already posted."""
    r = report_runs.c
    async with reading(engine) as conn:
        found = await conn.execute(select(r.kind).where(r.kind == kind, r.period == period))
        return found.first() is not None


async def claim_report_run(conn: AsyncConnection, kind: str, period: str,
                           at: dt.datetime) -> bool:
    """True for the one caller that records (kind, period) first; run it in the same
    transaction as the outbox row, so a report is posted once per period, across restarts
    and workers (libraries.md §8)."""
    stmt = (insert(conn.dialect, report_runs).values(kind=kind, period=period, sent_at=at)
            .on_conflict_do_nothing(index_elements=["kind", "period"])
            .returning(report_runs.c.kind))
    return (await conn.execute(stmt)).first() is not None
