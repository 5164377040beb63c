"""Read-only access to the engine's repositories on a connection that takes no write lock:
rendering a card or answering /status must not queue behind the poller's writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import SystemClock
from engine.model import Comment, Person, Ticket
from engine.store.db import reading
from engine.store.uow import SqlComments, SqlPeople, SqlRefs, SqlTickets

Known = Callable[[int], Person | None]


def _nobody(person_id: int) -> Person | None:
    return None


@dataclass(frozen=True)
class View:
    tickets: SqlTickets
    people: SqlPeople
    comments: SqlComments
    refs: SqlRefs
    known: Known = _nobody  # people already in memory (the channel's directory)

    async def name(self, person_id: int | None) -> str | None:
        if person_id is None:
            return None
        person = self.known(person_id) or await self.people.get(person_id)
        return None if person is None else person.name

    async def comment(self, ticket: int, comment_id: int) -> Comment | None:
        found = await self.comments.for_ticket(ticket)
        return next((c for c in found if c.id == comment_id), None)


@asynccontextmanager
async def view(db: AsyncEngine, known: Known = _nobody) -> AsyncIterator[View]:
    async with reading(db) as conn:
        # The clock only stamps rows a view never writes.
        yield View(SqlTickets(conn), SqlPeople(conn), SqlComments(conn),
                   SqlRefs(conn, SystemClock()), known)


async def ticket(db: AsyncEngine, number: int) -> Ticket | None:
    async with view(db) as v:
        return await v.tickets.get(number)


async def ticket_of(db: AsyncEngine, refs: list[str]) -> int | None:
    if not refs:
        return None
    async with view(db) as v:
        return await v.refs.find(refs)
