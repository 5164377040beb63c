"""F17 canned answers filled in for one ticket, in its client's language (config/answers.py
says what a template may name)."""

from __future__ import annotations

from bot.i18n import language, priority_name, status_name, t
from config.answers import CannedAnswer
from engine.model import Person, Ticket


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
