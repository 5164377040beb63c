"""`engine.views.Views` on SQL: each read on its own read-only connection."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from engine.metrics import Period, Report
from engine.model import Ticket
from engine.ports import SystemClock
from engine.sla.calendar import BusinessCalendar
from engine.store.db import reading
from engine.store.metrics_sql import monthly_report
from engine.store.queries import company_domains
from engine.store.uow import SqlComments, SqlPeople, SqlRefs, SqlTickets


@dataclass(frozen=True)
class SqlReading:
    tickets: SqlTickets
    people: SqlPeople
    comments: SqlComments
    refs: SqlRefs


class SqlViews:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def reading(self, *, quick: bool = False) -> AsyncIterator[SqlReading]:
        async with reading(self._engine, quick=quick) as conn:
            # The clock only stamps rows a reading never writes.
            yield SqlReading(SqlTickets(conn), SqlPeople(conn), SqlComments(conn),
                             SqlRefs(conn, SystemClock()))

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
