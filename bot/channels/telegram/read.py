"""Reading for the Telegram channel, through the views port: a snapshot with the channel's
directory of people already in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from engine.model import Comment, Person
from engine.views import CommentReader, PersonReader, Reading, RefReader, TicketReader, Views

Known = Callable[[int], Person | None]


def _nobody(person_id: int) -> Person | None:
    return None


@dataclass(frozen=True)
class View:
    tickets: TicketReader
    people: PersonReader
    comments: CommentReader
    refs: RefReader
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
async def view(views: Views, known: Known = _nobody, *,
               quick: bool = False) -> AsyncIterator[View]:
    """`quick`: a few small lookups a person waits on (engine/views.py)."""
    async with views.reading(quick=quick) as r:
        yield _view(r, known)


def _view(r: Reading, known: Known) -> View:
    return View(r.tickets, r.people, r.comments, r.refs, known)
