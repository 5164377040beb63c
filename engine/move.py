"""`/move N desk`: a ticket goes to another desk (engine/desks.py). Staff only; a
specialist moves tickets that are theirs or nobody's, a lead any. The move is an event
(the audit trail), and the Telegram channel posts the ticket in the new desk's staff chat
and a short "moved to X" line in the old one."""

from __future__ import annotations

from engine import commands as c
from engine import errors
from engine import events as e
from engine.access import Action
from engine.context import Context


async def move_ticket(ctx: Context, cmd: c.MoveTicket) -> int:
    ticket = await ctx.ticket(cmd.ticket, Action.VIEW)
    actor = ctx.actor
    if actor is not None and not actor.role.is_staff:
        raise errors.NotAllowed(action=Action.ASSIGN.value, role=actor.role.value,
                                number=ticket.number)
    if ticket.responsible_id is not None:  # someone's ticket: theirs or a lead's to move
        ticket = await ctx.ticket(cmd.ticket, Action.ASSIGN)
    desks = ctx.settings.desks
    desk = desks.named(cmd.desk)
    if desk is None:
        raise errors.UnknownDesk(desk=cmd.desk, known=", ".join(desks.names) or "—")
    old = desks.get(ticket.desk)
    if old is not None and old.name == desk.name:
        return ticket.number
    ticket.desk = desk.name
    ticket.updated_at = ctx.at
    await ctx.uow.tickets.save(ticket)
    ctx.raise_event(e.TicketMoved(ticket=ticket.number, actor=ctx.actor_id, at=ctx.at,
                                  channel=cmd.channel, old=None if old is None else old.name,
                                  new=desk.name))
    return ticket.number
