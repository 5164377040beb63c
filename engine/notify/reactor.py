"""Turns each stored event into outbox rows, inside the command's own transaction."""

from __future__ import annotations

from dataclasses import replace

from engine import events as e
from engine.context import Context
from engine.desks import Desks
from engine.model import Person, Role, Ticket
from engine.notify import grace
from engine.notify.combine import combine
from engine.notify.rules import Audience, Notice, plan
from engine.ports import OutboxItem, UnitOfWork


async def notify(ctx: Context, event_id: int, event: e.Event) -> None:
    ticket = await ctx.uow.tickets.get(event.ticket)
    if ticket is None:
        return
    audience = await _audience(ctx.uow, ticket, event, ctx.settings.desks)
    until = grace.held_until(ctx)
    for notice in plan(event, audience):
        for channel, recipient in route(notice, ticket):
            item = replace(_item(event_id, event, notice, channel, recipient),
                           not_before=until, cause=grace.cause(event_id, event, until))
            await _send(ctx, (channel, recipient), item)


async def _send(ctx: Context, to: tuple[str, str], item: OutboxItem) -> None:
    """One row per person and channel for the whole command (engine/notify/combine.py)."""
    earlier = ctx.notified.get(to)
    if earlier is None:
        if await ctx.uow.outbox.enqueue(item):
            ctx.notified[to] = item
        return
    merged = combine(earlier, item)
    await ctx.uow.outbox.revise(merged)
    ctx.notified[to] = merged


async def _audience(uow: UnitOfWork, ticket: Ticket, event: e.Event,
                    desks: Desks) -> Audience:
    async def get(person_id: int | None) -> Person | None:
        return None if person_id is None else await uow.people.get(person_id)

    observers = [await get(p) for p in sorted(ticket.observers)]
    old = event.old if isinstance(event, e.ResponsibleChanged) else None
    return Audience(
        ticket=ticket, requester=await get(ticket.requester_id),
        responsible=await get(ticket.responsible_id),
        observers=tuple(p for p in observers if p is not None),
        leads=await _leads(uow, ticket, desks),
        old_responsible=await get(old),
    )


async def _leads(uow: UnitOfWork, ticket: Ticket, desks: Desks) -> tuple[Person, ...]:
    """The leads of the ticket's desk when it names its own; else every lead and admin."""
    desk = desks.get(ticket.desk)
    if desk is None or not desk.leads:
        return tuple(await uow.people.with_role(Role.LEAD, Role.ADMIN))
    found = [await uow.people.by_email(address) for address in desk.leads]
    return tuple(p for p in found if p is not None)


def route(notice: Notice, ticket: Ticket) -> list[tuple[str, str]]:
    """The channel and address a notice goes to: the person's configured channel; a client
    who wrote by mail is answered by mail, whatever else we know of them."""
    if notice.address is not None:
        return [("email", notice.address)]
    person = notice.person
    assert person is not None
    by_mail = person.notify_via == "email" or (
        person.notify_via == "auto" and ticket.channel == "email" and not person.role.is_staff)
    if person.telegram_id is not None and not by_mail and person.notify_via != "none":
        return [("telegram", str(person.telegram_id))]
    if person.emails and person.notify_via != "none":
        return [("email", person.emails[0])]
    return []


def _item(event_id: int, event: e.Event, notice: Notice, channel: str,
          recipient: str) -> OutboxItem:
    person = notice.person
    return OutboxItem(
        key=f"event:{event_id}:{channel}:{recipient}", channel=channel, recipient=recipient,
        kind=notice.kind, ticket=event.ticket, person_id=None if person is None else person.id,
        language="en" if person is None else person.language,
        # event_at: when the mail or message that caused it arrived (the mail cap counts by it).
        payload={"event_id": event_id, "event": event.kind, "actor": event.actor,
                 "event_at": event.at.isoformat(), **event.payload()},
    )
