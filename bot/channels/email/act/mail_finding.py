"""F17 by mail: `/find`, `/queue`, `/answers` answered in a reply mail; `/answer N name`
becomes the public reply it posts (the runner then runs it as `/reply`); `/merge` is an
engine command like any other. A client's mail may `/find` among their own tickets; the
staff commands are refused to them in a reply, and open no ticket."""

from __future__ import annotations

import datetime as dt

from bot import canned
from bot.channels.email.act.fate import Fate
from bot.channels.email.act.replies import Asker, Replies
from bot.commands.grammar import ParsedCommand, parse_command
from bot.commands.registry import Query
from bot.finding_text import find_text, queue_text
from bot.i18n import t
from bot.runtime import Runtime
from engine.finding import QueueView
from engine.model import Person

QUERIES = frozenset({"find", "queue", "answers"})
_FOR_CLIENTS = frozenset({"find"})
_STAFF_ONLY = frozenset({"queue", "merge", "answer", "answers"})


async def query_text(rt: Runtime, person: Person, query: Query) -> str:
    """The answer to one of QUERIES, in the person's language."""
    lang, settings = person.language, rt.settings
    if query.name == "find":
        hits = await rt.views.search(query.args[0], person)
        return find_text(lang, query.args[0], hits, settings.engine.ticket_prefix)
    if query.name == "answers":
        return canned.answers_text(lang, settings.answers)
    view = QueueView(query.args[0])
    whose = int(query.args[1]) if view is QueueView.PERSON else None
    now = rt.bus.clock.now()
    async with rt.views.reading() as r:
        who = None if whose is None else await r.people.get(whose)
    found = await rt.views.queue(view, whose, now)
    return queue_text(lang, view, who.name if who is not None else "", found, settings, now)


def client_asks(reply: str) -> ParsedCommand | None:
    """A client's mail whose first line is one of these commands (not a new request)."""
    parsed = parse_command(reply.lstrip(), bot_username=None)
    if isinstance(parsed, ParsedCommand) and parsed.name in _FOR_CLIENTS | _STAFF_ONLY:
        return parsed
    return None


async def answer_client(rt: Runtime, replies: Replies, asker: Asker, parsed: ParsedCommand,
                        at: dt.datetime) -> Fate:
    lang = asker.person.language
    if parsed.name in _STAFF_ONLY:
        await replies.send(asker, t(lang, "not_a_specialist"), None)
        return Fate("ignored", None, f"command refused: /{parsed.name} is for staff",
                    "command", asker.person.id)
    text = parsed.rest.partition("\n")[0].strip()
    if not text:
        await replies.send(asker, t(lang, "find.missing_text"), None)
        return Fate("ignored", None, "command error: find.missing_text", "command",
                    asker.person.id)
    await replies.send(asker, await query_text(rt, asker.person, Query("find", None, (text,))),
                       None)
    return Fate("done", None, f"a client's /{parsed.name} by mail: answered with their "
                "tickets", "command")

