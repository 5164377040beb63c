"""F11 as people read it, in chat and in mail alike: a directory entry's card, a short list
when a search finds several, and the tickets linked to an entry. Plain text in the
reader's language; the channel escapes and sends it."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands.registry import Query
from bot.i18n import explain, status_name, t
from engine.directory import Card
from engine.directory_links import require_reader
from engine.directory_store import filter_by
from engine.errors import EngineError
from engine.model import Person, Role
from engine.views import Reading, Views

QUERIES = frozenset({"company", "contact", "tickets"})
_KIND = {"company": "companies", "contact": "contacts"}
_SHOWN = 5  # entries listed when a search finds several
_TICKETS = 20  # tickets listed, newest first


async def directory_answer(views: Views, person: Person, query: Query, lang: str,
                           prefix: str) -> str:
    """The answer to `/company X`, `/contact X` or `/tickets WHAT X`, or why not."""
    try:
        require_reader(person)
    except EngineError as exc:
        return explain(lang, exc)
    async with views.reading() as r:
        if query.name == "tickets":
            return await _tickets(r, query.args[0], query.args[1], lang, prefix)
        return await _lookup(r, _KIND[query.name], query.args[0], lang)


async def _lookup(r: Reading, kind: str, text: str, lang: str) -> str:
    ids = await r.directory.search(kind, text, _SHOWN + 1)
    if not ids:
        return t(lang, "dir.not_found", value=text)
    cards = await r.directory.cards(kind, ids[:_SHOWN])
    if len(cards) == 1:
        return render_card(cards[0], lang)
    return render_choice(cards, lang, more=len(ids) > _SHOWN)


def render_card(card: Card, lang: str) -> str:
    lines = [t(lang, f"dir.title.{card.kind}", title=card.title, id=card.id)]
    if card.company is not None:
        lines.append(f"{t(lang, 'dir.field.company')}: {card.company}")
    lines += [f"{t(lang, f'dir.field.{name}')}: {value}" for name, value in card.facts]
    if card.manager is not None:
        lines.append(f"{t(lang, 'dir.field.manager')}: {card.manager}")
    lines.append(t(lang, "dir.open_tickets", n=card.open_tickets))
    return "\n".join(lines)


def render_choice(cards: Sequence[Card], lang: str, *, more: bool) -> str:
    lines = [t(lang, "dir.several")]
    lines += [f"#{c.id} · {c.title}" + (f" · {c.company}" if c.company else "") for c in cards]
    if more:
        lines.append("…")
    return "\n".join(lines)


async def _tickets(r: Reading, kind: str, text: str, lang: str, prefix: str) -> str:
    found = await responsible_ids(r, text) if kind == "responsible" else \
        await r.directory.search(kind, text, _SHOWN + 1)
    if not found:
        return t(lang, "dir.not_found", value=text)
    if len(found) > 1 and kind != "responsible":
        cards = await r.directory.cards(kind, found[:_SHOWN])
        return render_choice(cards, lang, more=len(found) > _SHOWN)
    if len(found) > 1:
        return t(lang, "dir.several_people", value=text)
    where = filter_by(kind, found[0], _TICKETS)
    numbers = await r.directory.ticket_numbers(where)
    title = await _title(r, kind, found[0])
    if not numbers:
        return t(lang, "dir.no_tickets", what=title)
    lines = [t(lang, "dir.tickets", what=title)]
    for number in numbers:
        ticket = await r.tickets.get(number)
        if ticket is not None:
            lines.append(f"{prefix}{number} · {status_name(lang, ticket.status.value)} · "
                         f"{ticket.subject}")
    return "\n".join(lines)


async def responsible_ids(r: Reading, text: str) -> list[int]:
    """Staff by address, @username or name (or its first word)."""
    key = text.strip().lower().lstrip("@")
    if "@" in key:
        person = await r.people.by_email(key)
        return [] if person is None else [person.id]
    staff = await r.people.with_role(Role.ADMIN, Role.LEAD, Role.SPECIALIST)
    return [p.id for p in staff if key in ((p.username or "").lower().lstrip("@"),
                                           p.name.lower(), p.name.split()[0].lower())]


async def _title(r: Reading, kind: str, entry: int) -> str:
    if kind == "responsible":
        person = await r.people.get(entry)
        return "" if person is None else person.name
    cards = await r.directory.cards(kind, [entry])
    return cards[0].title if cards else str(entry)
