"""Messages about a ticket: a reply to one of the ticket's messages or a leading `#N`.

In the support group they are public comments; a requester's comment on a waiting or
resolved ticket reopens it (the engine decides, F2). A ticket finished longer ago than
`reopen_days`, or closed (final in F2), is not reopened: the message starts a new ticket
that links the old one. Pleasantries ("thanks!") are neither comments nor reopen anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from bot.channels.telegram.answer import say
from bot.channels.telegram.context import Desk
from bot.channels.telegram.dialogs import is_pleasantry
from bot.channels.telegram.inbound import ChatMessage
from bot.channels.telegram.promote import subject_of
from bot.channels.telegram.refs import ref
from bot.commands.registry import CHAT
from bot.i18n import explain
from engine import commands as c
from engine.errors import EngineError, TicketNotFound
from engine.model import FINISHED, Person, Status, Ticket, can_transition

log = logging.getLogger("ticketbot.telegram")

_HASH_NUMBER = re.compile(r"\s*#(\d{1,18})\b[\s:,.-]*")


@dataclass(frozen=True)
class About:
    """The ticket a message is about, and whether the person named it (`#N`) or replied."""

    ticket: int
    explicit: bool
    body: str


async def about(desk: Desk, msg: ChatMessage) -> About | None:
    match = _HASH_NUMBER.match(msg.text)
    if match is not None:
        return About(int(match.group(1)), True, msg.text[match.end():].strip() or msg.text)
    if msg.reply_to is None:
        return None
    number = await desk.views.ticket_of([ref(msg.chat_id, msg.reply_to.message_id)])
    return None if number is None else About(number, False, msg.text)


async def already_seen(desk: Desk, msg: ChatMessage) -> bool:
    """A replayed update whose comment or ticket was stored before the crash."""
    return await desk.views.ticket_of([ref(msg.chat_id, msg.message_id)]) is not None


async def comment(desk: Desk, msg: ChatMessage, person: Person, target: About, *,
                  public: bool) -> bool:
    """Add the message to the ticket; False when it is not for this ticket after all (a
    reply the person may not comment on falls back to the first line)."""
    if is_pleasantry(target.body) or await already_seen(desk, msg):
        return True
    ticket = await desk.views.ticket(target.ticket)
    if ticket is not None and _follow_up(desk, ticket, person, msg.date) and public:
        return await _follow_up_ticket(desk, msg, person, ticket, target)
    cmd = c.AddComment(actor=person.id, channel=CHAT, at=msg.date, ticket=target.ticket,
                       body=target.body, public=public,
                       source_ref=ref(msg.chat_id, msg.message_id))
    return await _run(desk, msg, person, cmd, target.explicit)


def _follow_up(desk: Desk, ticket: Ticket, person: Person, at: dt.datetime) -> bool:
    """Whether the requester's side writing now starts a new ticket instead."""
    if person.role.is_staff or ticket.status not in FINISHED:
        return False
    finished = ticket.closed_at or ticket.resolved_at or ticket.updated_at
    within = at - finished <= dt.timedelta(days=desk.tg.reopen_days)
    return not (within and can_transition(ticket.status, Status.OPEN))


async def _follow_up_ticket(desk: Desk, msg: ChatMessage, person: Person, old: Ticket,
                            target: About) -> bool:
    cmd = c.OpenTicket(actor=person.id, channel=CHAT, at=msg.date,
                       subject=subject_of(target.body),
                       description=target.body, requester_id=person.id,
                       observers=(person.id,), source_ref=ref(msg.chat_id, msg.message_id),
                       linked_to=old.number)
    handled = await _run(desk, msg, person, cmd, target.explicit)
    log.info("message %s after finished #%s opened a linked ticket", msg.message_id, old.number)
    return handled


async def _run(desk: Desk, msg: ChatMessage, person: Person, cmd: c.Command,
               explicit: bool) -> bool:
    try:
        await desk.bus.handle(cmd)
    except TicketNotFound as exc:
        if explicit:
            await say(desk, msg, explain(person.language, exc), person.language)
        return explicit
    except EngineError as exc:
        await say(desk, msg, explain(person.language, exc), person.language)
    finally:
        desk.outbound.wake()
    return True
