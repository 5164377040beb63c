"""F11 in Telegram (fake Bot API, SQLite and PostgreSQL): staff look entries up and list a
company's tickets in their language, link a ticket to a contract, object or equipment
and change its company and requester (recorded in its history); clients are refused with
the reason, and a card asked for in the support group goes to the staff chat."""

from __future__ import annotations

from bot.runtime import App
from engine import commands as c
from engine.store.queries import ticket_detail
from tests.fakebotapi import FakeBotAPI, User
from tests.support_telegram import (
    ANNA,
    BORIS,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    harness,
    mailed_ticket,
)

__all__ = ["harness"]

DIRECTORY = (
    ("companies", ({"name": "Globex", "domains": "globex.example"},
                   {"name": "Initech", "domains": "initech.example"})),
    ("contacts", ({"name": "Gina Globex", "emails": "gina@globex.example",
                   "company": "Globex", "phone": "+7 495 123-45-67", "language": "ru"},)),
    ("contracts", ({"number": "G-1", "company": "Globex", "starts": "2026-01-01"},
                   {"number": "I-1", "company": "Initech"})),
    ("objects", ({"name": "HQ", "company": "Globex", "address": "1 Main St"},)),
    ("equipment", ({"serial": "SN-100", "model": "LaserJet", "company": "Globex",
                    "object": "HQ"},)),
)


async def seed(rt: App) -> None:
    for kind, rows in DIRECTORY:
        await rt.bus.handle(c.ImportDirectory(
            actor=None, channel="cli", kind=kind,
            rows=tuple(c.DirectoryRow(i + 2, tuple(r.items())) for i, r in enumerate(rows))))


def _answers(f: FakeBotAPI, chat: int, message_id: int) -> list[str]:
    return [m["text"] for m in f.bot_messages(chat)
            if m.get("reply_to_message", {}).get("message_id") == message_id]


async def ask(h: Harness, user: User, text: str, chat: int) -> str:
    """The bot's one answer to `text`, as a reply to it."""
    message = await h.say(user, text, chat=chat)
    answers: list[str] = await h.sent(lambda f: _answers(f, chat, message) or None)
    assert len(answers) == 1, answers
    return answers[0]


async def test_staff_look_up_cards_in_their_language(harness: Harness) -> None:
    h = harness
    await seed(h.rt)
    card = await ask(h, SAM, "/company globex", SAM.id)
    assert card.splitlines()[0] == "Company Globex (#1)"
    assert "mail domains: globex.example" in card and "contacts: 1" in card
    assert "open tickets: 0" in card
    russian = await ask(h, OLGA, "/contact 495 123", OLGA.id)  # by phone digits
    assert russian.splitlines()[0].startswith("Контакт Gina Globex (#")
    assert "компания: Globex" in russian and "телефон: +7 495 123-45-67" in russian
    several = await ask(h, SAM, "/company e", SAM.id)  # Globex, Initech
    assert several.splitlines() == ["Several match; ask again with the id (#N):",
                                    "#1 · Globex", "#2 · Initech"]
    assert await ask(h, SAM, "/company Umbrella", SAM.id) == \
        "Nothing in the directory matches “Umbrella”."
    assert await ask(h, SAM, "/company", SAM.id) == \
        "Which one? Write /company and a name, id, address or phone."


async def test_clients_are_refused_in_their_language(harness: Harness) -> None:
    h = harness
    await seed(h.rt)
    number = await mailed_ticket(h)
    assert await ask(h, ANNA, "/company Globex", ANNA.id) == "This command is for specialists."
    assert await ask(h, BORIS, "/contact gina", BORIS.id) == \
        "Эта команда только для специалистов."
    assert await ask(h, ANNA, f"/link {number} contract G-1", ANNA.id) == \
        "This command is for specialists."
    assert await ask(h, BORIS, "/tickets company Globex", BORIS.id) == \
        "Эта команда только для специалистов."
    ticket = await h.ticket(number)
    assert (ticket.company_id, ticket.contract_id) == (None, None)
    assert not any("Globex" in text for user in (ANNA, BORIS) for text in h.texts(user.id))


async def test_links_from_chat_are_recorded_and_listed(harness: Harness) -> None:
    h = harness
    await seed(h.rt)
    number = await mailed_ticket(h)  # Carl's, of no company
    assert await ask(h, SAM, f"/link {number} contract G-1", SAM.id) == "Done."
    assert await ask(h, SAM, f"/link {number} equipment sn-100", SAM.id) == "Done."
    refused = await ask(h, OLGA, f"/link {number} contract I-1", OLGA.id)
    assert refused.startswith("«I-1» относится к другой компании, чем заявка #1")
    assert await ask(h, SAM, f"/requester {number} gina@globex.example", SAM.id) == "Done."
    ticket = await h.ticket(number)
    gina = await _person(h, "gina@globex.example")
    assert (ticket.company_id, ticket.contract_id, ticket.equipment_id, ticket.requester_id) \
        == (1, 1, 1, gina)
    detail = await ticket_detail(h.db, number)
    assert detail is not None
    trail = [(e["payload"]["field"], e["channel"], e["actor"]) for e in detail["events"]
             if e["kind"] == "directory_link"]
    sam = await h.person_id(SAM)
    assert trail == [("company", "telegram", sam), ("contract", "telegram", sam),
                     ("equipment", "telegram", sam), ("requester", "telegram", sam)]
    listed = await ask(h, SAM, "/tickets contract G-1", SAM.id)
    assert listed.splitlines() == ["Tickets of G-1, newest first:",
                                   f"#{number} · open · Printer jams"]
    assert "заявки" not in listed
    russian = await ask(h, OLGA, "/заявки компания Initech", OLGA.id)
    assert russian == "Заявок нет: Initech."
    company = await ask(h, SAM, "/company Globex", SAM.id)
    assert "open tickets: 1" in company


async def test_a_card_asked_in_the_support_group_goes_to_the_staff_chat(
        harness: Harness) -> None:
    h = harness
    await seed(h.rt)
    message = await h.say(SAM, "/contact gina", chat=SUPPORT)
    card = await h.sent(lambda f: next((m["text"] for m in f.bot_messages(STAFF)
                                        if "Contact Gina Globex" in m["text"]), None))
    assert "+7 495 123-45-67" in card
    group = _answers(h.fake, SUPPORT, message)
    assert len(group) == 1 and "Gina" not in group[0]
    assert not any("+7 495" in text for text in h.texts(SUPPORT))


async def _person(h: Harness, address: str) -> int:
    async with h.rt.uow() as uow:
        found = await uow.people.by_email(address)
    assert found is not None
    return found.id
