"""F17 canned answers filled in for one ticket, in its client's language (config/answers.py
says what a template may name)."""

from __future__ import annotations

import datetime as dt

from bot.commands.registry import CommandError, Query
from bot.i18n import language, priority_name, status_name, t
from config.answers import CannedAnswer
from config.settings import Settings
from engine import commands as c
from engine.access import can_view
from engine.model import Person, Ticket
from engine.views import Views


def client_language(requester: Person | None, default: str) -> str:
    """The language the answer is written in: its client's, else the desk's."""
    return language(requester.language if requester is not None else default)


def fill(answer: CannedAnswer, ticket: Ticket, requester: Person | None,
         responsible: Person | None, default_language: str) -> str:
    lang = client_language(requester, default_language)
    nobody = t(lang, "answer.nobody")
    return answer.text(lang).format(
        number=ticket.number, subject=ticket.subject,
        requester=requester.name if requester is not None else nobody,
        responsible=responsible.name if responsible is not None else nobody,
        status=status_name(lang, ticket.status.value),
        priority=priority_name(lang, ticket.priority))


def find(answers: tuple[CannedAnswer, ...], name: str) -> CannedAnswer | None:
    return next((a for a in answers if a.name == name.lower()), None)


def answers_text(lang: str, answers: tuple[CannedAnswer, ...]) -> str:
    if not answers:
        return t(lang, "answers.none")
    rows = [f"{a.name} — {' '.join(a.text(lang).split())[:80]}" for a in answers]
    return "\n".join([t(lang, "answers.title"), *rows])


async def reply_command(views: Views, settings: Settings, person: Person, query: Query,
                        channel: str, at: dt.datetime) -> c.AddComment | CommandError:
    """`/answer N name` as the public reply it posts (then run as `/reply N text` is), or
    why not: an unknown name, or a ticket this person cannot see (said as not found)."""
    number = query.ticket
    assert number is not None  # the builder asks for N when there is no context
    found = find(settings.answers, query.args[0])
    if found is None:
        names = ", ".join(a.name for a in settings.answers) or "—"
        return CommandError("answer.unknown", {"name": query.args[0], "names": names})
    async with views.reading() as r:
        ticket = await r.tickets.get(number)
        requester = None if ticket is None or ticket.requester_id is None \
            else await r.people.get(ticket.requester_id)
        responsible = None if ticket is None or ticket.responsible_id is None \
            else await r.people.get(ticket.responsible_id)
    if ticket is None or not can_view(person, ticket):
        return CommandError("ticket_not_found", {"number": str(number)})
    body = fill(found, ticket, requester, responsible, settings.language)
    return c.AddComment(actor=person.id, channel=channel, at=at, ticket=number, body=body,
                        public=True)
