"""One status card per ticket and chat: number, title, status, responsible, requester and
the SLA deadline. The bot edits it on every change instead of posting a notice each time
(a group shares a budget of about 20 bot messages a minute)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.channels.telegram.deliver.render import bold, clip, esc, lines, when
from bot.channels.telegram.read import View
from bot.i18n import priority_name, status_name, t
from engine.model import FINISHED, Ticket

SUBJECT_LIMIT = 200


@dataclass(frozen=True)
class CardFacts:
    ticket: Ticket
    responsible: str | None
    requester: str | None


async def card_facts(v: View, number: int) -> CardFacts | None:
    ticket = await v.tickets.get(number)
    if ticket is None:
        return None
    return CardFacts(ticket, await v.name(ticket.responsible_id),
                     await v.name(ticket.requester_id))


def render_card(facts: CardFacts, lang: str, tz: str, prefix: str = "#", *,
                staff: bool = True) -> str:
    """`staff`: for staff only (the staff chat, a specialist's private chat); a card the
    support group or a client reads shows the status and who handles it, not the SLA's
    planned dates (seed 004)."""
    tk = facts.ticket
    return lines(
        "🎫 " + bold(f"{prefix}{tk.number}") + " " + esc(clip(tk.subject, SUBJECT_LIMIT)),
        esc(t(lang, "tg.card.status", status=status_name(lang, tk.status.value),
              priority=priority_name(lang, tk.priority))),
        esc(t(lang, "tg.card.responsible",
              name=facts.responsible or t(lang, "tg.card.nobody"))),
        None if facts.requester is None else esc(t(lang, "tg.card.requester",
                                                    name=facts.requester)),
        _waiting(tk, lang, tz),
        _due(tk, lang, tz) if staff else None,
        None if tk.linked_to is None else esc(t(lang, "tg.card.linked",
                                                 number=f"{prefix}{tk.linked_to}")),
    )


def _waiting(tk: Ticket, lang: str, tz: str) -> str | None:
    if tk.waiting_until is None:
        return None
    return esc(t(lang, "tg.card.waiting", until=when(tk.waiting_until, tz, lang)))


def _due(tk: Ticket, lang: str, tz: str) -> str | None:
    """The next SLA deadline still running: the first answer, then the resolution."""
    if tk.status in FINISHED:
        return None
    due: dt.datetime | None = None
    key = "tg.card.due_resolution"
    if tk.first_response_at is None and tk.first_response_due is not None:
        due, key = tk.first_response_due, "tg.card.due_response"
    elif tk.resolution_due is not None:
        due = tk.resolution_due
    return None if due is None else esc(t(lang, key, due=when(due, tz, lang)))
