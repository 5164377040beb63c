"""The message bus: runs one command in one unit of work, stores its events, lets the
reactors (notifications, SLA) answer them in the same transaction, then commits.

Because the outbox rows are written in the same transaction as the change, a crash
either loses both or keeps both: a notification is never lost and never sent for a
change that did not happen.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from engine import errors
from engine.commands import Command
from engine.context import Context
from engine.events import DeskEvent, Event
from engine.handlers import COMMAND_HANDLERS, Handler
from engine.model import Person, Ticket
from engine.ports import Clock, UnitOfWork, UnitOfWorkFactory
from engine.settings import EngineSettings

log = logging.getLogger("ticketbot.engine")

Reactor = Callable[[Context, int, Event], Awaitable[None]]


@runtime_checkable
class Opening(Protocol):
    """A reactor that also fills in a ticket being opened, before its row is written (the
    SLA reactor: the deadlines), so it need not rewrite the row when `TicketOpened` comes."""

    async def opening(self, ctx: Context, ticket: Ticket) -> None: ...


def _openers(reactors: Sequence[object]) -> tuple[Callable[[Context, Ticket], Awaitable[None]],
                                                  ...]:
    return tuple(r.opening for r in reactors if isinstance(r, Opening))


@dataclass(frozen=True)
class Outcome:
    ticket: int | None
    events: tuple[Event, ...]
    desk_events: tuple[DeskEvent, ...] = ()
    contact: int | None = None  # the person `RegisterContact` registered or found
    # ... as stored, so the caller need not read them again.
    person: Person | None = None


class MessageBus:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, settings: EngineSettings,
                 reactors: Sequence[Reactor] = (),
                 handlers: Mapping[type[Command], Handler] | None = None) -> None:
        """`handlers` adds the handlers of parts that need their own settings or stores
        (ratings), to the engine's own table; the bootstrap lists them."""
        self._uow = uow
        self.clock = clock
        self.settings = settings
        self._reactors = tuple(reactors)
        self._openers = _openers(self._reactors)
        self._handlers = {**COMMAND_HANDLERS, **(handlers or {})}

    @property
    def reactors(self) -> tuple[Reactor, ...]:
        """What answers events; a caller running commands in a batch runs the same ones."""
        return self._reactors

    def on(self, uow: UnitOfWorkFactory) -> MessageBus:
        """This bus (same reactors and handlers) on other units of work: a batch's."""
        return MessageBus(uow, self.clock, self.settings, self._reactors, self._handlers)

    async def handle(self, command: Command) -> Outcome:
        handler = self._handlers[type(command)]
        try:
            async with self._uow() as uow:
                ctx = Context(uow, self.clock, self.settings, command,
                              await _actor(uow, command.actor), openers=self._openers)
                number = await handler(ctx, command)
                await self._publish(ctx)
                await uow.commit()
        except errors.EngineError as exc:
            log.info("refused %s by actor %s: %s", type(command).__name__, command.actor, exc)
            raise
        for event in ctx.events:
            log.info("#%s %s by actor %s via %s", event.ticket, event.kind, event.actor,
                     event.channel)
        if ctx.desk_events:
            _log_desk_events(command, ctx.desk_events)
        return Outcome(ticket=number, events=tuple(ctx.events),
                       desk_events=tuple(ctx.desk_events),
                       contact=None if ctx.contact is None else ctx.contact.id,
                       person=ctx.contact)

    async def _publish(self, ctx: Context) -> None:
        await _record_source(ctx)
        for event in ctx.events:
            event_id = await ctx.uow.events.append(event)
            for react in self._reactors:
                await react(ctx, event_id, event)
        if ctx.desk_events:
            await ctx.uow.events.record_all(ctx.desk_events)


def _log_desk_events(command: Command, desk_events: Sequence[DeskEvent]) -> None:
    """One line per command: a chat batch may hold thousands of events, and their payloads
    (addresses, who asked what) belong in the event log, not at INFO."""
    kinds = Counter(event.kind for event in desk_events)
    log.info("%s by actor %s: %s", type(command).__name__, command.actor,
             ", ".join(f"{n} {kind}" for kind, n in kinds.items()))
    if log.isEnabledFor(logging.DEBUG):
        for event in desk_events:
            log.debug("desk %s via %s: %s", event.kind, event.channel, event.payload())


async def _record_source(ctx: Context) -> None:
    """The message that carried the command, with each ticket the command changed: a replay
    of that message after a crash finds it and is not run again."""
    ref = ctx.command.source_ref
    if ref is None:
        return
    for ticket in dict.fromkeys(event.ticket for event in ctx.events):
        await ctx.uow.refs.add(ref, ticket, "in")


async def _actor(uow: UnitOfWork, actor_id: int | None) -> Person | None:
    if actor_id is None:
        return None
    person = await uow.people.get(actor_id)
    if person is None:
        raise errors.PersonNotFound(who=str(actor_id))
    return person
