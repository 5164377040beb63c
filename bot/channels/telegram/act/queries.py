"""Read-only commands answered from the store: /help, /start, /status N, /my, /queue, /stats,
and /ticket (which turns a question into a ticket, see `promote`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.channels.email.act.rescue import Rescuer
from bot.channels.telegram.act import directory, finding, promote
from bot.channels.telegram.act.answer import elsewhere, say, say_html
from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.cards import card_facts, render_card
from bot.channels.telegram.deliver.render import bold, esc, lines, quote
from bot.channels.telegram.ports import TicketLine
from bot.channels.telegram.read import view
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.channels.telegram.understand.refs import parse_ref
from bot.commands.help import render_help
from bot.commands.registry import CHAT, Query
from bot.commands.required import staff_lines
from bot.i18n import explain, status_name, t
from bot.stats import stats_text
from engine.access import can_view
from engine.errors import EngineError, TicketNotFound
from engine.model import Person, Ticket
from engine.sla.status import sla_lines

Answerer = Callable[[Desk, ChatMessage, Person, Query], Awaitable[None]]
DESCRIPTION_LIMIT = 1500


async def answer(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    await ANSWERS[query.name](desk, msg, person, query)


async def _help(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    await say(desk, msg, render_help(person.language, staff=person.role.is_staff),
              person.language)


async def _start(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    if msg.private and msg.author is not None:
        await desk.store.mark_started(msg.author.id, msg.author.username, desk.now())
    text = t(lang, "tg.start", name=person.name) + "\n\n" + render_help(
        lang, staff=person.role.is_staff)
    await say(desk, msg, text, lang)


async def _status(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    assert query.ticket is not None  # the registry asks for N when there is no context
    lang = person.language
    async with view(desk.views, desk.people.get, quick=True) as v:  # one ticket, two names
        facts = await card_facts(v, query.ticket)
    if facts is None or not can_view(person, facts.ticket):
        await say(desk, msg, explain(lang, TicketNotFound(number=query.ticket)), lang)
        return
    source = parse_ref(facts.ticket.source_ref)
    room = await elsewhere(desk, msg, person.role.is_staff, query.ticket,
                           source is not None and source.chat_id == msg.chat_id)
    staff = person.role.is_staff and not (room is None and desk.is_support(msg.chat_id))
    html = lines(render_card(facts, lang, desk.settings.timezone,
                             desk.settings.engine.ticket_prefix, staff=staff),
                 *(esc(x) for x in (_sla(desk, facts.ticket, lang) if staff else [])),
                 *(esc(x) for x in (staff_lines(facts.ticket, lang, desk.settings.timezone)
                                    if staff else [])),
                 quote(facts.ticket.description, DESCRIPTION_LIMIT))
    await say_html(desk, msg, html, lang, ticket=query.ticket, room=room)


def _sla(desk: Desk, ticket: Ticket, lang: str) -> list[str]:
    """Every SLA target with its due time and time left or overdue, in business time (as
    `ticketbot ticket show`): for staff only."""
    policy = desk.settings.sla.policies.get(ticket.sla_policy)
    return sla_lines(ticket, policy, desk.now(), lang, t=t)


async def _my(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    mine = await desk.store.my_tickets(person.id)
    sections = [(t(lang, "tg.my.doing"), mine.doing), (t(lang, "tg.my.leading"), mine.leading),
                (t(lang, "tg.my.observing"), mine.observing)]
    shown = [_section(title, rows, desk, lang) for title, rows in sections if rows]
    html = "\n\n".join(shown) if shown else esc(t(lang, "tg.my.none"))
    await say_html(desk, msg, html, lang,
                   room=await elsewhere(desk, msg, person.role.is_staff, None, False))


def _section(title: str, rows: Sequence[TicketLine], desk: Desk, lang: str) -> str:
    prefix = desk.settings.engine.ticket_prefix
    return lines(bold(title), *(esc(f"{prefix}{r.number} · {status_name(lang, r.status)} · "
                                    f"{r.subject}") for r in rows))


async def _stats(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    period = query.args[0] if query.args else None
    try:
        text = await stats_text(desk.views, desk.settings, person, period, desk.now(), lang)
    except EngineError as exc:
        text = explain(lang, exc)
    await say(desk, msg, text, lang)


async def _rescue(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    """An ignored mail becomes a ticket; the engine decides whether this person may."""
    lang = person.language
    assert desk.inbound is not None  # the service always passes the inbox
    inbound_id = int(query.args[0])
    rescuer = Rescuer(desk.settings, desk.bus, desk.views, desk.inbound)
    try:
        number = await rescuer.rescue(inbound_id, actor=person.id, channel=CHAT, at=msg.date)
    except EngineError as exc:
        await say(desk, msg, explain(lang, exc), lang)
        return
    finally:
        desk.outbound.wake()  # the reactors queued the new ticket's card and staff notices
    await say(desk, msg, t(lang, "rescue.done", inbound_id=inbound_id, number=number), lang,
              ticket=number)


async def _ticket(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    await promote.ticket_command(desk, msg, person, query)


ANSWERS: dict[str, Answerer] = {
    "help": _help, "start": _start, "status": _status, "my": _my,
    "stats": _stats, "ticket": _ticket, "rescue": _rescue,
    **directory.ANSWERS,  # F11: /company X, /contact X, /tickets WHAT X
    # F17 (bot/channels/telegram/act/finding.py): `/queue` with its views, and the rest.
    "queue": finding.queue, "find": finding.find, "answers": finding.answers,
    "answer": finding.answer,
}
