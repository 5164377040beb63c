"""F17 in Telegram: `/find`, `/queue` views, `/answers` and `/answer` (a canned answer posted
as `/reply` would post it: the grace period, the echo and `/undo` all apply). `/merge` is an
engine command and runs like any other (chatcommands.execute)."""

from __future__ import annotations

from bot import canned
from bot.channels.telegram.act.answer import elsewhere, say
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.commands.registry import CHAT, CommandError, Query
from bot.finding_text import find_text, queue_text
from bot.i18n import t
from engine.finding import QueueView
from engine.model import Person


async def _room(desk: Desk, msg: ChatMessage, person: Person) -> int | None:
    """Lists of tickets are not for the support group's eyes (as `/my`)."""
    return await elsewhere(desk, msg, person.role.is_staff, None, False)


async def find(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang, text = person.language, query.args[0]
    hits = await desk.views.search(text, person)
    await say(desk, msg, find_text(lang, text, hits, desk.settings.engine.ticket_prefix), lang,
              room=await _room(desk, msg, person))


async def queue(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang, view = person.language, QueueView(query.args[0])
    whose = int(query.args[1]) if view is QueueView.PERSON else None
    who = desk.people.get(whose) if whose is not None else None
    found = await desk.views.queue(view, whose, desk.now())
    text = queue_text(lang, view, who.name if who is not None else "", found, desk.settings,
                      desk.now())
    await say(desk, msg, text, lang, room=await _room(desk, msg, person))


async def answers(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    await say(desk, msg, canned.answers_text(lang, desk.settings.answers), lang,
              room=await _room(desk, msg, person))


async def answer(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    """The template filled in for the ticket, then the same path as `/reply N text`."""
    from bot.channels.telegram.act.chatcommands import execute  # it imports the queries

    built = await canned.reply_command(desk.views, desk.settings, person, query, CHAT,
                                       msg.date)
    if isinstance(built, CommandError):
        await say(desk, msg, t(person.language, built.key, **built.params), person.language)
        return
    await execute(desk, msg, person, built)
