"""Messages about a ticket: a reply to one of the ticket's messages or a leading `#N`.

This module reads the chat's facts (the `#N`, the replied-to message); bot/threading
decides which ticket that is, and whether a message to a finished ticket opens a new ticket
linking it instead. In the support group they are public comments; a requester's comment on
a waiting or resolved ticket reopens it (the engine decides, F2). Pleasantries ("thanks!")
are neither comments nor reopen anything.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from bot.channels.telegram.act.answer import say
from bot.channels.telegram.act.files import Fetched, fetch
from bot.channels.telegram.act.promote import subject_of
from bot.channels.telegram.context import Desk
from bot.channels.telegram.read import view
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.channels.telegram.understand.dialogs import is_pleasantry
from bot.channels.telegram.understand.refs import ref
from bot.commands.registry import CHAT
from bot.i18n import explain
from bot.threading.rules import CHAT as CHAT_RULES
from bot.threading.rules import Facts, Thread, ThreadContext, resolve
from engine import commands as c
from engine.errors import EngineError, TicketNotFound
from engine.model import Person

log = logging.getLogger("ticketbot.telegram")

_HASH_NUMBER = re.compile(r"\s*#(\d{1,18})\b[\s:,.-]*")


@dataclass(frozen=True)
class About:
    """What bot/threading decided a message is about (a ticket, or a new one following
    a finished ticket), and whether the person named it (`#N`) or replied."""

    thread: Thread
    explicit: bool
    body: str


async def about(desk: Desk, msg: ChatMessage, person: Person) -> About | None:
    match = _HASH_NUMBER.match(msg.text)
    if match is None and msg.reply_to is None:
        return None  # most group messages: no look-up at all
    replied = () if msg.reply_to is None else (ref(msg.chat_id, msg.reply_to.message_id),)
    facts = Facts(sender=person, at=msg.date, refs=replied,
                  named=None if match is None else int(match.group(1)))
    async with view(desk.views) as records:
        thread = await resolve(facts, ThreadContext(records, desk.settings.reopen_days),
                               CHAT_RULES)
    if thread is None:
        return None
    if match is not None:
        return About(thread, True, msg.text[match.end():].strip() or msg.text)
    return About(thread, False, msg.text)


async def already_seen(desk: Desk, msg: ChatMessage) -> bool:
    """A replayed update whose comment or ticket was stored before the crash."""
    return await desk.views.ticket_of([ref(msg.chat_id, msg.message_id)]) is not None


async def comment(desk: Desk, msg: ChatMessage, person: Person, target: About, *,
                  public: bool) -> bool:
    """Add the message to the ticket; False when it is not for this ticket after all (a
    reply the person may not comment on falls back to the first line)."""
    # "thanks" is no comment, unless it comes with a file ("thanks, here is the log").
    if (is_pleasantry(target.body) and not msg.files) or await already_seen(desk, msg):
        return True
    files = await fetch(desk, msg.files)
    number = target.thread.ticket
    if number is None:
        return await _follow_up_ticket(desk, msg, person, target, files)
    cmd = c.AddComment(actor=person.id, channel=CHAT, at=msg.date, ticket=number,
                       body=files.body(target.body), public=public,
                       source_ref=ref(msg.chat_id, msg.message_id),
                       attachments=files.attachments)
    return await _run(desk, msg, person, cmd, target.explicit)


async def _follow_up_ticket(desk: Desk, msg: ChatMessage, person: Person,
                            target: About, files: Fetched) -> bool:
    old = target.thread.linked_to
    cmd = c.OpenTicket(actor=person.id, channel=CHAT, at=msg.date,
                       subject=subject_of(target.body),
                       description=files.body(target.body), requester_id=person.id,
                       observers=(person.id,), source_ref=ref(msg.chat_id, msg.message_id),
                       linked_to=old, attachments=files.attachments)
    handled = await _run(desk, msg, person, cmd, target.explicit)
    log.info("message %s after finished #%s opened a linked ticket", msg.message_id, old)
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
