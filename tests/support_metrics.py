"""Metrics and ratings test support: a seeded dataset written in bulk (also used by
bench/metrics.py) and an oracle that computes the expected figures from the dataset's own
plans, independently of the SQL and of engine/metrics.py's arithmetic."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine import metrics as m
from engine.model import TRANSITIONS, Status
from engine.sla.calendar import WEEKDAYS, BusinessCalendar, build_calendar
from engine.store import tables as t

UTC = dt.UTC
TZ_NAME = "Europe/Moscow"
MSK = ZoneInfo(TZ_NAME)
GRID = dt.timedelta(minutes=15)
SPECIALISTS = (1, 2, 3)
LEAD = 4
CLIENTS = tuple(range(10, 22))


def metrics_calendar() -> BusinessCalendar:
    """Mon-Fri 09:00-18:00 Moscow, no public holidays: simple enough to check by hand."""
    return build_calendar("test", TZ_NAME, {d: ["09:00-18:00"] for d in WEEKDAYS[:5]},
                          country=None)


# --- the dataset ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketPlan:
    number: int
    requester_id: int
    responsible_id: int | None
    created_at: dt.datetime
    steps: tuple[tuple[dt.datetime, str], ...]  # (when, new status), in order
    first_response_at: dt.datetime | None
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None

    def status_at(self, at: dt.datetime) -> str:
        """The status just before `at` (an event at `at` itself belongs to what follows)."""
        status = Status.OPEN.value
        for when, new in self.steps:
            if when < at:
                status = new
        return status

    @property
    def resolved_at(self) -> dt.datetime | None:
        # As the engine stamps it: set on each resolve, cleared by a reopen.
        stamp = None
        for when, new in self.steps:
            if new == Status.RESOLVED.value:
                stamp = when
            elif new == Status.OPEN.value:
                stamp = None
        return stamp

    @property
    def closed_at(self) -> dt.datetime | None:
        return next((w for w, new in self.steps if new == Status.CLOSED.value), None)

    @property
    def status(self) -> str:
        return self.steps[-1][1] if self.steps else Status.OPEN.value

    def stretches(self) -> Iterator[tuple[str, dt.datetime, dt.datetime | None]]:
        """(status, from, to) from creation on; the last one has no end."""
        status, since = Status.OPEN.value, self.created_at
        for when, new in self.steps:
            yield status, since, when
            status, since = new, when
        yield status, since, None


@dataclass(frozen=True)
class DialogPlan:
    author_id: int
    answered_by: int | None
    started_at: dt.datetime
    answered_at: dt.datetime | None


@dataclass(frozen=True)
class RatingPlan:
    ticket: int
    resolution_at: dt.datetime
    person_id: int
    score: int
    at: dt.datetime


@dataclass(frozen=True)
class Dataset:
    tickets: tuple[TicketPlan, ...]
    dialogs: tuple[DialogPlan, ...]
    ratings: tuple[RatingPlan, ...]
    extra_events: int = 0  # comment events per ticket, to give the log realistic bulk


def _grid(rng: random.Random, low_min: int, high_min: int) -> dt.timedelta:
    return GRID * rng.randint(max(1, low_min // 15), high_min // 15)


def _walk(rng: random.Random, created: dt.datetime,
          now: dt.datetime) -> tuple[tuple[dt.datetime, str], ...]:
    steps: list[tuple[dt.datetime, str]] = []
    status, at = Status.OPEN, created
    for _ in range(rng.randint(0, 7)):
        options = sorted(TRANSITIONS[status])
        if not options:
            break
        at += _grid(rng, 15, 4 * 24 * 60)
        if at >= now:
            break
        status = Status(rng.choice(options))
        steps.append((at, status.value))
    return tuple(steps)


def _ticket(rng: random.Random, number: int, created: dt.datetime,
            now: dt.datetime) -> TicketPlan:
    responded = created + _grid(rng, 15, 36 * 60)
    due = created + _grid(rng, 60, 24 * 60)
    return TicketPlan(
        number=number, requester_id=rng.choice(CLIENTS),
        responsible_id=rng.choice((*SPECIALISTS, None)), created_at=created,
        steps=_walk(rng, created, now),
        first_response_at=responded if responded < now and rng.random() < 0.85 else None,
        first_response_due=due if rng.random() < 0.9 else None,
        resolution_due=created + _grid(rng, 240, 8 * 24 * 60) if rng.random() < 0.9 else None)


def _dialog(rng: random.Random, started: dt.datetime, now: dt.datetime) -> DialogPlan:
    answer = started + _grid(rng, 15, 3 * 24 * 60)
    answered = answer < now and rng.random() < 0.9
    return DialogPlan(author_id=rng.choice(CLIENTS),
                      answered_by=rng.choice(SPECIALISTS) if answered else None,
                      started_at=started, answered_at=answer if answered else None)


def _ratings(rng: random.Random, plans: Iterable[TicketPlan],
             now: dt.datetime) -> tuple[RatingPlan, ...]:
    found = []
    for plan in plans:
        resolved = plan.resolved_at
        at = None if resolved is None else resolved + _grid(rng, 15, 3 * 24 * 60)
        if resolved is not None and at is not None and at < now and rng.random() < 0.6:
            found.append(RatingPlan(plan.number, resolved, plan.requester_id,
                                    rng.randint(1, 5), at))
    return tuple(found)


def make_dataset(seed: int, tickets: int, dialogs: int, first: dt.datetime,
                 now: dt.datetime, extra_events: int = 0) -> Dataset:
    """Times on a 15-minute grid between `first` and `now`."""
    rng = random.Random(seed)
    slots = int((now - first) / GRID)
    starts = sorted(first + GRID * rng.randrange(slots) for _ in range(tickets))
    plans = tuple(_ticket(rng, i + 1, at, now) for i, at in enumerate(starts))
    talks = tuple(_dialog(rng, first + GRID * rng.randrange(slots), now)
                  for _ in range(dialogs))
    return Dataset(plans, talks, _ratings(rng, plans, now), extra_events)


# --- writing it ----------------------------------------------------------------------------

CHUNK = 5000


def _people_rows() -> list[dict[str, Any]]:
    staff = [{"id": p, "name": f"Specialist {p}", "role": "specialist"} for p in SPECIALISTS]
    return [*staff, {"id": LEAD, "name": "Lead", "role": "lead"},
            *({"id": p, "name": f"Client {p}", "role": "client"} for p in CLIENTS)]


def _ticket_row(plan: TicketPlan) -> dict[str, Any]:
    return {"number": plan.number, "subject": f"Ticket {plan.number}", "description": "-",
            "status": plan.status, "created_at": plan.created_at,
            "updated_at": plan.steps[-1][0] if plan.steps else plan.created_at,
            "channel": "email", "type": "question", "priority": "normal",
            "requester_id": plan.requester_id, "responsible_id": plan.responsible_id,
            "creator_id": plan.requester_id, "cc": [],
            "first_response_at": plan.first_response_at, "resolved_at": plan.resolved_at,
            "closed_at": plan.closed_at, "first_response_due": plan.first_response_due,
            "resolution_due": plan.resolution_due}


def _event_rows(plan: TicketPlan, extra: int) -> Iterator[dict[str, Any]]:
    yield {"ticket": plan.number, "kind": "opened", "actor": plan.requester_id,
           "at": plan.created_at, "channel": "email",
           "payload": {"subject": f"Ticket {plan.number}", "requester_id": plan.requester_id,
                       "responsible_id": plan.responsible_id, "linked_to": None}}
    old = Status.OPEN.value
    for when, new in plan.steps:
        yield {"ticket": plan.number, "kind": "status", "actor": plan.responsible_id,
               "at": when, "channel": "telegram",
               "payload": {"old": old, "new": new, "until": None}}
        old = new
    for i in range(extra):
        yield {"ticket": plan.number, "kind": "comment", "actor": plan.requester_id,
               "at": plan.created_at + GRID * i, "channel": "email",
               "payload": {"comment_id": 0, "public": True, "by_staff": False}}


def _dialog_row(i: int, plan: DialogPlan) -> dict[str, Any]:
    seconds = (None if plan.answered_at is None
               else int((plan.answered_at - plan.started_at).total_seconds()))
    return {"id": i + 1, "chat_id": -100, "author_id": plan.author_id,
            "first_ref": f"tg:-100:{i}", "last_ref": f"tg:-100:{i}", "text": "?",
            "started_at": plan.started_at, "last_message_at": plan.started_at,
            "answered_at": plan.answered_at, "answered_by": plan.answered_by,
            "response_seconds": seconds, "ticket": None,
            "status": "open" if plan.answered_at is None else "answered"}


def _rating_row(plan: RatingPlan) -> dict[str, Any]:
    return {"ticket": plan.ticket, "resolution_at": plan.resolution_at,
            "person_id": plan.person_id, "score": plan.score, "at": plan.at}


async def _bulk(conn: AsyncConnection, table: Table, rows: Iterable[dict[str, Any]]) -> int:
    count, batch = 0, []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            await conn.execute(insert(table), batch)
            count, batch = count + len(batch), []
    if batch:
        await conn.execute(insert(table), batch)
    return count + len(batch)


async def write_dataset(engine: AsyncEngine, data: Dataset) -> int:
    """Everything in one transaction, in bulk; returns the number of events written."""
    async with engine.begin() as conn:
        await _bulk(conn, t.people, _people_rows())
        await _bulk(conn, t.tickets, (_ticket_row(p) for p in data.tickets))
        written = await _bulk(conn, t.events, (row for p in data.tickets
                                                for row in _event_rows(p, data.extra_events)))
        await _bulk(conn, t.dialogs, (_dialog_row(i, d) for i, d in enumerate(data.dialogs)))
        await _bulk(conn, t.ratings, (_rating_row(r) for r in data.ratings))
    return written


# --- the oracle ----------------------------------------------------------------------------


def business_seconds(start: dt.datetime, end: dt.datetime) -> float:
    """Slow and obvious: walk the 15-minute grid, count slots inside Mon-Fri 09-18 MSK."""
    total, at = 0.0, start
    while at < end:
        local = at.astimezone(MSK)
        if local.weekday() < 5 and 9 <= local.hour < 18:
            total += GRID.total_seconds()
        at += GRID
    return total


def _summary(values: Sequence[float]) -> m.Durations:
    if not values:
        return m.Durations()
    p90 = (values[0] if len(values) == 1
           else statistics.quantiles(values, n=10, method="inclusive")[8])
    return m.Durations(count=len(values), mean=statistics.fmean(values),
                       median=statistics.median(values), p90=p90)


def _timing(calendar: Sequence[float], business: Sequence[float]) -> m.Timing:
    return m.Timing(_summary(calendar), _summary(business))


def _clip(a: dt.datetime, b: dt.datetime | None, lo: dt.datetime,
          hi: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    start, end = max(a, lo), hi if b is None else min(b, hi)
    return (start, end) if end > start else None


def _split(plan: TicketPlan, measure: Any) -> tuple[float, float, float]:
    resolved = plan.resolved_at
    assert resolved is not None
    total = measure(plan.created_at, resolved)
    spent = {"waiting": 0.0, "resolved": 0.0}
    for status, a, b in plan.stretches():
        piece = _clip(a, b, plan.created_at, resolved)
        if piece is not None and status in spent:
            spent[status] += measure(*piece)
    return total, spent["waiting"], total - spent["waiting"] - spent["resolved"]


def _calendar_seconds(a: dt.datetime, b: dt.datetime) -> float:
    return (b - a).total_seconds()


def _outcome(done: dt.datetime | None, due: dt.datetime | None) -> tuple[dt.datetime, bool] | None:
    if due is None:
        return None
    if done is not None and done <= due:
        return done, True
    return due, False


def _share(plans: Iterable[TicketPlan], which: str, start: dt.datetime, end: dt.datetime,
           now: dt.datetime) -> m.Share:
    met = total = 0
    for plan in plans:
        done, due = ((plan.first_response_at, plan.first_response_due) if which == "fr"
                     else (plan.resolved_at, plan.resolution_due))
        outcome = _outcome(done, due)
        if outcome is not None and start <= outcome[0] < end and outcome[0] <= now:
            total += 1
            met += outcome[1]
    return m.Share(met, total)


def _rating(data: Dataset, owners: dict[int, int | None], person: int | None | str,
            start: dt.datetime, end: dt.datetime) -> m.RatingStats:
    scores = [r.score for r in data.ratings if start <= r.at < end
              and (person == "all" or owners[r.ticket] == person)]
    return m.RatingStats(len(scores), statistics.fmean(scores) if scores else None)


def expected_figures(data: Dataset, period: m.Period, now: dt.datetime,
                     person: int | str = "all") -> m.Figures:
    """The figures for everyone (`person="all"`) or one specialist, from the plans."""
    start = dt.datetime(period.year, period.month, 1, tzinfo=MSK)
    end = dt.datetime(period.year + period.month // 12, period.month % 12 + 1, 1, tzinfo=MSK)
    mine = [p for p in data.tickets if person == "all" or p.responsible_id == person]
    talks = [d for d in data.dialogs if start <= d.started_at < end
             and (person == "all" or d.answered_by == person)]
    answered = [d for d in talks if d.answered_at is not None]
    done = [p for p in mine if p.resolved_at is not None and start <= p.resolved_at < end]
    cal = [_split(p, _calendar_seconds) for p in done]
    biz = [_split(p, business_seconds) for p in done]
    owners = {p.number: p.responsible_id for p in data.tickets}
    return m.Figures(
        first_line=m.FirstLine(
            dialogs=len(talks), answered=len(answered),
            response=_timing([_calendar_seconds(d.started_at, d.answered_at) for d in answered
                              if d.answered_at],
                             [business_seconds(d.started_at, d.answered_at) for d in answered
                              if d.answered_at])),
        second_line=m.SecondLine(
            opened=sum(start <= p.created_at < end for p in mine), closed=len(done),
            open_at_end=sum(p.created_at < end and p.status_at(end) not in ("resolved", "closed")
                            for p in mine),
            resolution=_timing([c[0] for c in cal], [b[0] for b in biz]),
            on_client=_timing([c[1] for c in cal], [b[1] for b in biz]),
            on_specialist=_timing([c[2] for c in cal], [b[2] for b in biz]),
            first_response_sla=_share(mine, "fr", start, end, now),
            resolution_sla=_share(mine, "res", start, end, now),
            rating=_rating(data, owners, person, start, end)))


def assert_same(actual: Any, expected: Any, path: str = "figures") -> None:
    """Field by field; floats to a microsecond (sums of many floats differ in the last bit)."""
    if is_dataclass(actual) and not isinstance(actual, type):
        for f in fields(actual):
            assert_same(getattr(actual, f.name), getattr(expected, f.name), f"{path}.{f.name}")
    elif isinstance(actual, float) or isinstance(expected, float):
        assert actual is not None and expected is not None, f"{path}: {actual} != {expected}"
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6), (
            f"{path}: {actual} != {expected}")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
