"""The read side that channels see: tickets, people, comments and message refs as they are
now, read without taking a write lock (rendering a card or answering /status must not queue
behind a poller's writes). Read-only by type: nothing here changes a row. SQL adapter:
`engine/store/views.py`."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

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


class RefReader(Protocol):
    async def find(self, refs: Sequence[str]) -> int | None: ...


class Reading(Protocol):
    """One consistent snapshot."""

    @property
    def tickets(self) -> TicketReader: ...
    @property
    def people(self) -> PersonReader: ...
    @property
    def comments(self) -> CommentReader: ...
    @property
    def refs(self) -> RefReader: ...


class Views(Protocol):
    def reading(self, *, quick: bool = False) -> AbstractAsyncContextManager[Reading]:
        """A consistent read; `quick`: a few small lookups a person waits on (an adapter may
        run them with less overhead, e.g. SQLite on the caller's thread)."""
        ...
    async def ticket(self, number: int) -> Ticket | None: ...
    async def ticket_of(self, refs: Sequence[str]) -> int | None: ...
    async def company_domains(self) -> dict[str, int]: ...
    async def monthly_report(self, period: Period, *, timezone: str,
                             calendar: BusinessCalendar, now: dt.datetime,
                             history: int) -> Report: ...
