"""The ticket fields people set by command (seed 000, 003): type, tags, observers, copy
addresses, the planned resolution date and the time spent. Each change is an event in the
ticket's history; the role rules are F3's (`engine/access.py`): a client changes none of
them, a specialist those of their own tickets (and logs time and observes on any ticket
they may read), a lead all.

A ticket of an internal type is internal from the start and stays so: staff open it, no
client hears of it or joins it, and its type can only change to another internal one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from engine import commands as c
from engine import errors
from engine import events as e
from engine.access import Action
from engine.context import Context
from engine.model import Person, Ticket
from engine.ticket_types import type_named

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
TAG_LIMIT = 100  # the tags column


async def _ticket(ctx: Context, number: int, action: Action, name: str) -> Ticket:
    """The ticket, if the actor may `action` on it; a refusal names the field (`name`),
    not the action the rule is borrowed from."""
    try:
        return await ctx.ticket(number, action)
    except errors.NotAllowed as exc:
        raise replace(exc, action=name) from None


def opening(ctx: Context, ticket: Ticket, requester: Person | None) -> None:
    """A new ticket of an internal type is internal: staff only open it, for staff."""
    if not type_named(ctx.settings.type_specs, ticket.type).internal:
        return
    if ctx.actor is not None and not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action="internal", role=ctx.actor.role.value)
    if requester is not None and not requester.role.is_staff:
        raise errors.InternalTicket(number=ticket.number)
    ticket.internal = True


def _type_name(ctx: Context, typed: str) -> str:
    """The configured type `typed` names, whatever its case."""
    types = ctx.settings.types
    found = next((t for t in types if t.casefold() == typed.casefold()), None)
    if found is None:
        raise errors.InvalidValue(field="type", value=typed, reason="not one of the choices",
                                  choices=types)
    return found


def _same_kind(ctx: Context, ticket: Ticket, name: str) -> None:
    specs = ctx.settings.type_specs
    if type_named(specs, name).internal == ticket.internal:
        return
    choices = ", ".join(t for t in ctx.settings.types
                        if type_named(specs, t).internal == ticket.internal)
    if ticket.internal:
        raise errors.InternalTypeNeeded(number=ticket.number, type=name, choices=choices)
    raise errors.PublicTypeNeeded(number=ticket.number, type=name, choices=choices)


async def set_type(ctx: Context, cmd: c.SetType) -> int:
    """The SLA reactor recomputes the policy on `TypeChanged`: rules by type apply."""
    ticket = await _ticket(ctx, cmd.ticket, Action.STATUS, "type")
    new = _type_name(ctx, cmd.type)
    _same_kind(ctx, ticket, new)
    if new != ticket.type:
        old, ticket.type = ticket.type, new
        _changed(ctx, ticket, e.TypeChanged(ticket=ticket.number, actor=ctx.actor_id,
                                            at=ctx.at, channel=cmd.channel, old=old, new=new))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


def _changed(ctx: Context, ticket: Ticket, event: e.Event) -> None:
    ticket.updated_at = ctx.at
    ctx.raise_event(event)


def tag_of(typed: str) -> str:
    """Tags are compared as written without a leading '#', in lower case."""
    return typed.strip().lstrip("#").strip().lower()


def _tags(typed: tuple[str, ...]) -> list[str]:
    tags = [tag_of(x) for x in typed]
    for raw, tag in zip(typed, tags, strict=True):
        if not tag or len(tag) > TAG_LIMIT:
            raise errors.InvalidValue(field="tag", value=raw, reason="empty or too long")
    return list(dict.fromkeys(tags))


async def change_tags(ctx: Context, cmd: c.ChangeTags) -> int:
    ticket = await _ticket(ctx, cmd.ticket, Action.STATUS, "tags")
    number, actor, at, channel = ticket.number, ctx.actor_id, ctx.at, cmd.channel
    for tag in _tags(cmd.remove):
        if tag in ticket.tags:
            ticket.tags.discard(tag)
            _changed(ctx, ticket, e.TagRemoved(ticket=number, actor=actor, at=at,
                                               channel=channel, tag=tag))
    for tag in _tags(cmd.add):
        if tag not in ticket.tags:
            ticket.tags.add(tag)
            _changed(ctx, ticket, e.TagAdded(ticket=number, actor=actor, at=at,
                                             channel=channel, tag=tag))
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def _observed(ctx: Context, cmd: c.AddObserver | c.RemoveObserver,
                    name: str) -> tuple[Ticket, Person]:
    """Staff observe (or stop observing) any ticket they may read; putting someone else on
    or off a ticket is its responsible's or a lead's call (seed 000)."""
    own = ctx.actor is not None and ctx.actor.id == cmd.person_id
    ticket = await _ticket(ctx, cmd.ticket, Action.NOTE if own else Action.OBSERVE, name)
    person = await ctx.uow.people.get(cmd.person_id)
    if person is None:
        raise errors.PersonNotFound(who=str(cmd.person_id))
    return ticket, person


async def add_observer(ctx: Context, cmd: c.AddObserver) -> int:
    ticket, person = await _observed(ctx, cmd, "observe")
    if ticket.internal and not person.role.is_staff:
        raise errors.InternalTicket(number=ticket.number)
    if person.id not in ticket.observers:
        ticket.observers.add(person.id)
        _changed(ctx, ticket, e.ObserverAdded(ticket=ticket.number, actor=ctx.actor_id,
                                              at=ctx.at, channel=cmd.channel,
                                              person_id=person.id))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


async def remove_observer(ctx: Context, cmd: c.RemoveObserver) -> int:
    ticket, person = await _observed(ctx, cmd, "unobserve")
    if person.id in ticket.observers:
        ticket.observers.discard(person.id)
        _changed(ctx, ticket, e.ObserverRemoved(ticket=ticket.number, actor=ctx.actor_id,
                                                at=ctx.at, channel=cmd.channel,
                                                person_id=person.id))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


def address_of(typed: str) -> str | None:
    """A mail address as typed (`<a@b.c>` too), lower case; None when it is none."""
    address = typed.strip().strip("<>").lower()
    return address if _ADDRESS.fullmatch(address) and len(address) <= 320 else None


def _addresses(typed: tuple[str, ...]) -> list[str]:
    found = []
    for raw in typed:
        address = address_of(raw)
        if address is None:
            raise errors.InvalidValue(field="cc", value=raw, reason="not a mail address")
        found.append(address)
    return list(dict.fromkeys(found))


async def change_cc(ctx: Context, cmd: c.ChangeCc) -> int:
    """Copy addresses may reply to the ticket (bot/threading trusts them) and an added one
    is told it is in copy (the notice the first mail's Cc gets)."""
    ticket = await _ticket(ctx, cmd.ticket, Action.STATUS, "cc")
    add, remove = _addresses(cmd.add), _addresses(cmd.remove)
    if add and ticket.internal:
        raise errors.InternalTicket(number=ticket.number)
    number, actor, at, channel = ticket.number, ctx.actor_id, ctx.at, cmd.channel
    for address in remove:
        if address in ticket.cc:
            ticket.cc = tuple(a for a in ticket.cc if a != address)
            _changed(ctx, ticket, e.CcRemoved(ticket=number, actor=actor, at=at,
                                              channel=channel, address=address))
    for address in add:
        if address not in ticket.cc:
            ticket.cc = (*ticket.cc, address)
            _changed(ctx, ticket, e.CcAdded(ticket=number, actor=actor, at=at,
                                            channel=channel, address=address))
    await ctx.uow.tickets.save(ticket)
    return ticket.number


async def set_due(ctx: Context, cmd: c.SetDue) -> int:
    ticket = await _ticket(ctx, cmd.ticket, Action.STATUS, "due")
    if cmd.due is not None and cmd.due.tzinfo is None:
        raise errors.InvalidValue(field="due", value=cmd.due.isoformat(),
                                  reason="must be an aware time")
    if cmd.due != ticket.planned_resolution:
        old, ticket.planned_resolution = ticket.planned_resolution, cmd.due
        _changed(ctx, ticket, e.DueChanged(ticket=ticket.number, actor=ctx.actor_id,
                                           at=ctx.at, channel=cmd.channel, old=old,
                                           new=cmd.due))
        await ctx.uow.tickets.save(ticket)
    return ticket.number


async def add_time_spent(ctx: Context, cmd: c.AddTimeSpent) -> int:
    """Any staff member who may write notes on the ticket logs the time they spent on it."""
    ticket = await _ticket(ctx, cmd.ticket, Action.NOTE, "spent")
    if cmd.minutes == 0:
        raise errors.InvalidValue(field="spent", value="0", reason="no time")
    total = ticket.time_spent_minutes + cmd.minutes
    if total < 0:
        raise errors.SpentBelowZero(number=ticket.number, total=ticket.time_spent_minutes)
    ticket.time_spent_minutes = total
    _changed(ctx, ticket, e.TimeSpent(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                      channel=cmd.channel, minutes=cmd.minutes, total=total))
    await ctx.uow.tickets.save(ticket)
    return ticket.number


# Spliced into the engine's registry (engine/handlers.py), which this module cannot import.
HANDLERS: dict[type[c.Command], Callable[[Context, Any], Awaitable[int | None]]] = {
    c.SetType: set_type,
    c.ChangeTags: change_tags,
    c.AddObserver: add_observer,
    c.RemoveObserver: remove_observer,
    c.ChangeCc: change_cc,
    c.SetDue: set_due,
    c.AddTimeSpent: add_time_spent,
}
