"""The read side that channels see: tickets, people, comments and message refs as they are
now, read without taking a write lock (rendering a card or answering /status must not queue
behind a poller's writes). Read-only by type: nothing here changes a row. SQL adapter:
`engine/store/views.py`."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from engine.directory_store import DirectoryReader
from engine.finding import Hit, Queue, QueueView
from engine.metrics import Period, Report
from engine.model import Comment, Company, Person, Role, Status, Ticket
from engine.sla.calendar import BusinessCalendar


class TicketReader(Protocol):
    async def get(self, number: int) -> Ticket | None: ...
    async def list(self, status: Status | None = None,
                   limit: int | None = None) -> builtins.list[Ticket]: ...
    async def requested_by(self, person_id: int, limit: int) -> builtins.list[Ticket]:
        """A person's own tickets (they are the requester), newest first."""
        ...


class PersonReader(Protocol):
    async def get(self, person_id: int) -> Person | None: ...
    async def by_email(self, address: str) -> Person | None: ...
    async def by_telegram(self, user_id: int) -> Person | None: ...
    async def with_role(self, *roles: Role) -> list[Person]: ...
    async def company(self, company_id: int) -> Company | None: ...


class CommentReader(Protocol):
    async def for_ticket(self, number: int) -> list[Comment]: ...
    async def source_refs(self, number: int) -> list[str]:
        """The Message-IDs of the ticket's comments, oldest first (no text, no files)."""
        ...
    async def get(self, comment_id: int) -> Comment | None:
        """One comment with its files."""
        ...


class RefReader(Protocol):
    async def find(self, refs: Sequence[str]) -> int | None: ...


class Reading(Protocol):
    """One consistent snapshot."""

    async def preload(self, tickets: Collection[int], people: Collection[int]) -> None:
        """Read these tickets (with their comments' Message-IDs) and people in one query
        each, so that a batch rendered in this snapshot reads them from memory."""
        ...

    @property
    def tickets(self) -> TicketReader: ...
    @property
    def people(self) -> PersonReader: ...
    @property
    def comments(self) -> CommentReader: ...
    @property
    def refs(self) -> RefReader: ...
    @property
    def directory(self) -> DirectoryReader: ...


class Views(Protocol):
    def reading(self, *, quick: bool = False) -> AbstractAsyncContextManager[Reading]:
        """A consistent read; `quick`: a few small lookups a person waits on (an adapter may
        run them with less overhead, e.g. SQLite on the caller's thread)."""
        ...
    async def ticket(self, number: int) -> Ticket | None: ...
    async def ticket_of(self, refs: Sequence[str]) -> int | None: ...
    async def company_domains(self) -> dict[str, int]: ...
    async def attachment_bytes(self, attachment_id: int) -> bytes | None:
        """A file's exact bytes by its id (`Attachment.id`); None if refused or unknown.
        Reading a ticket gives files without bytes; this fetches them on demand."""
        ...
    async def monthly_report(self, period: Period, *, timezone: str,
                             calendar: BusinessCalendar, now: dt.datetime,
                             history: int) -> Report: ...
    async def search(self, query: str, person: Person | None) -> list[Hit]:
        """F17: the tickets best matching every word of `query`, that `person` may see."""
        ...
    async def queue(self, view: QueueView, person: int | None, now: dt.datetime) -> Queue:
        """F17: unfinished tickets of a view, oldest first (`person`: whose, for mine/@who)."""
        ...
