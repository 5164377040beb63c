"""What a handler works with: the unit of work, the clock, the actor, and the events it raises
(about tickets) or records (about the desk, no ticket)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from engine import errors
from engine.access import Action, allowed
from engine.commands import Command
from engine.events import DeskEvent, Event
from engine.model import Person, Ticket
from engine.ports import Clock, OutboxItem, UnitOfWork
from engine.settings import EngineSettings


def role_is_staff(person: Person | None) -> bool:
    return person is not None and person.role.is_staff


@dataclass
class Context:
    uow: UnitOfWork
    clock: Clock
    settings: EngineSettings
    command: Command
    actor: Person | None
    events: list[Event] = field(default_factory=list)
    desk_events: list[DeskEvent] = field(default_factory=list)
    # The person a desk command registered or found (`RegisterContact`).
    contact: Person | None = None
    # The notice row each (channel, recipient) got from this command so far: one action
    # says everything to a person in one message per channel (engine/notify/combine.py).
    notified: dict[tuple[str, str], OutboxItem] = field(default_factory=dict)
    # What fills in a ticket being opened before its row is written (the SLA's deadlines,
    # engine/bus.py `Opening`): one INSERT, not an INSERT and an UPDATE of every column.
    openers: tuple[Callable[[Context, Ticket], Awaitable[None]], ...] = ()

    @property
    def at(self) -> dt.datetime:
        """When the person acted (the channel's own timestamp), else now."""
        return self.command.at or self.clock.now()

    @property
    def actor_id(self) -> int | None:
        return None if self.actor is None else self.actor.id

    def raise_event(self, event: Event) -> None:
        self.events.append(event)

    def record(self, event: DeskEvent) -> None:
        """A desk event: stored with the command's changes; no reactor answers it."""
        self.desk_events.append(event)

    def require(self, action: Action, ticket: Ticket | None = None) -> None:
        if not allowed(self.actor, action, ticket):
            role = "system" if self.actor is None else self.actor.role.value
            number = None if ticket is None else ticket.number
            raise errors.NotAllowed(action=action.value, role=role, number=number)

    async def ticket(self, number: int, action: Action) -> Ticket:
        """Load a ticket the actor may act on. An invisible ticket reads as not found,
        so a client cannot probe which numbers exist."""
        ticket = await self.uow.tickets.get(number)
        if ticket is None or not allowed(self.actor, Action.VIEW, ticket):
            raise errors.TicketNotFound(number=number)
        if not allowed(self.actor, action, ticket):
            raise await self._refusal(action, ticket)
        return ticket

    async def _refusal(self, action: Action, ticket: Ticket) -> errors.NotAllowed:
        """Says whose ticket it is when that is the reason, so the person knows whom to ask."""
        role = "system" if self.actor is None else self.actor.role.value
        owner = None if ticket.responsible_id is None or self.actor is None or \
            ticket.responsible_id == self.actor.id else \
            await self.uow.people.get(ticket.responsible_id)
        return errors.NotAllowed(action=action.value, role=role, number=ticket.number,
                                 responsible=None if owner is None or not role_is_staff(
                                     self.actor) else owner.name)
