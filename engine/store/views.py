"""`engine.views.Views` on SQL: each read on its own read-only connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from engine.finding import Hit, Queue, QueueView
from engine.metrics import Period, Report
from engine.model import Person, Ticket
from engine.ports import SystemClock
from engine.sla.calendar import BusinessCalendar
from engine.store import queue_sql, search_sql
from engine.store.db import reading
from engine.store.directory_sql import SqlDirectory
from engine.store.files_sql import Extract, attachment_bytes
from engine.store.metrics_sql import monthly_report
from engine.store.queries import company_domains
from engine.store.uow import SqlComments, SqlPeople, SqlRefs, SqlTickets


@dataclass(frozen=True)
class SqlReading:
    tickets: SqlTickets
    people: SqlPeople
    comments: SqlComments
    refs: SqlRefs
    directory: SqlDirectory

    async def preload(self, tickets: Collection[int], people: Collection[int]) -> None:
        await self.tickets.preload(tickets)
        await self.comments.preload_refs(tickets)
        await self.people.preload(people)


class SqlViews:
    def __init__(self, engine: AsyncEngine, extract: Extract | None = None) -> None:
        self._engine = engine
        self._extract = extract  # cuts a file out of a raw mail (bot/files.py)

    @asynccontextmanager
    async def reading(self, *, quick: bool = False) -> AsyncIterator[SqlReading]:
        async with reading(self._engine, quick=quick) as conn:
            # The clock only stamps rows a reading never writes.
            yield SqlReading(SqlTickets(conn), SqlPeople(conn), SqlComments(conn),
                             SqlRefs(conn, SystemClock()), SqlDirectory(conn))

    async def ticket(self, number: int) -> Ticket | None:
        async with self.reading() as r:
            return await r.tickets.get(number)

    async def ticket_of(self, refs: Sequence[str]) -> int | None:
        if not refs:
            return None
        async with self.reading() as r:
            return await r.refs.find(refs)

    async def company_domains(self) -> dict[str, int]:
        return await company_domains(self._engine)

    async def monthly_report(self, period: Period, *, timezone: str,
                             calendar: BusinessCalendar, now: dt.datetime,
                             history: int) -> Report:
        return await monthly_report(self._engine, period, timezone=timezone,
                                    calendar=calendar, now=now, history=history)

    async def search(self, query: str, person: Person | None) -> list[Hit]:
        async with reading(self._engine) as conn:
            return await search_sql.search(conn, query, person)

    async def queue(self, view: QueueView, person: int | None, now: dt.datetime) -> Queue:
        async with reading(self._engine) as conn:
            return await queue_sql.queue(conn, view, person, now)

    async def attachment_bytes(self, attachment_id: int) -> bytes | None:
        """A stored file's exact bytes; None for a refused file or an unknown id."""
        return await attachment_bytes(self._engine, attachment_id, self._extract)
