"""F6 in Telegram: the shared grammar and registry, answers in the person's language and
chat, refusals explained, `/new` in a private chat, `/my`, `/queue`, `/help`."""

from __future__ import annotations

from bot.commands.registry import COMMANDS
from engine.model import Status
from tests.fakebotapi import MAX_TEXT, utf16_len
from tests.support_telegram import (
    ANNA,
    BORIS,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    ask,
    harness,
)

__all__ = ["harness"]




async def test_help_comes_from_the_registry_per_role_and_language(harness: Harness) -> None:
    h = harness
    client_help = await ask(h, ANNA, "/help", ANNA.id)
    staff_help = await ask(h, SAM, "/help", SAM.id)
    russian = await ask(h, BORIS, "/help", BORIS.id)
    for spec in COMMANDS.values():
        assert (spec.usage in client_help) is not spec.staff_only
        assert spec.usage in staff_help
    assert russian.startswith("Команды:") and "создать заявку" in russian


async def test_new_in_a_private_chat_opens_a_ticket_and_my_lists_it(harness: Harness) -> None:
    h = harness
    await h.say(ANNA, "/new Laptop battery swells\nIt is hot to the touch", chat=ANNA.id)
    ack = await h.sent(lambda f: next((m["text"] for m in f.bot_messages(ANNA.id)), None))
    assert "ticket #1" in ack
    ticket = await h.ticket(1)
    assert (ticket.subject, ticket.requester_id) == ("Laptop battery swells",
                                                     await h.person_id(ANNA))
    assert len(h.fake.bot_messages(ANNA.id)) == 1  # the acknowledgement says it all
    mine = await ask(h, ANNA, "/my", ANNA.id)
    assert "I asked for or lead" in mine and "#1 · open · Laptop battery swells" in mine
    queue = await ask(h, SAM, "/queue", SAM.id)
    assert "#1 · open · Laptop battery swells" in queue
    assert await ask(h, SAM, "/take 1", SAM.id) == "You took ticket #1."
    assert "The queue is empty" in await ask(h, SAM, "/queue", SAM.id)
    doing = await ask(h, SAM, "/my", SAM.id)
    assert "I work on" in doing and "#1 · in progress" in doing


async def test_refusals_are_short_and_in_the_persons_language(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "Word license expired")
    await h.say(SAM, "/ticket", reply_to=q)
    assert await ask(h, SAM, "/status 999", SUPPORT) == "Ticket #999 not found."
    assert await ask(h, BORIS, "/status 1", SUPPORT) == "Заявка #1 не найдена."
    assert "“abc” is not a ticket number" in await ask(h, SAM, "/take abc", SUPPORT)
    assert await ask(h, SAM, "/frobnicate", SUPPORT) == "I don't know /frobnicate. See /help."
    assert "Which ticket?" in await ask(h, SAM, "/close", SUPPORT)
    assert "Не понимаю дату «когда-нибудь»" in await ask(h, OLGA, "/wait 1 когда-нибудь",
                                                         SUPPORT)
    await h.say(SAM, "/resolve 1")
    refused = await ask(h, SAM, "/wait 1 +1d", SUPPORT)
    assert refused.startswith("Ticket #1 is resolved, so it can't become waiting.")
    assert (await h.ticket(1)).status is Status.RESOLVED


async def test_assign_by_username_and_status_with_a_date(harness: Harness) -> None:
    h = harness
    q = await h.say(ANNA, "Need access to the CRM")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(LENA, "/assign 1 @olga_spec", chat=STAFF)
    assert (await h.ticket(1)).responsible_id == await h.person_id(OLGA)
    await h.say(OLGA, "/status 1 ожидание +2d ждём согласования", chat=STAFF)
    ticket = await h.ticket(1)
    assert ticket.status is Status.WAITING and ticket.waiting_until is not None
    card = await h.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                        if "Waiting for an answer until" in m["text"]), None))
    assert "Responsible: Olga Spec" in card["text"]


async def test_plain_private_text_gets_a_hint_and_a_reply_to_a_notice_is_a_comment(
        harness: Harness) -> None:
    h = harness
    hint = await ask(h, ANNA, "hello?", ANNA.id)
    assert hint.startswith("To open a ticket, write /new")
    await h.say(ANNA, "/new VPN token lost", chat=ANNA.id)
    ack = await h.sent(lambda f: next((m for m in f.bot_messages(ANNA.id)
                                       if "ticket #1" in m["text"]), None))
    await h.say(ANNA, "It was in my bag", chat=ANNA.id, reply_to=ack["message_id"])
    assert [c.body for c in await h.comments(1)] == ["VPN token lost", "It was in my bag"]


async def test_huge_messages_are_clipped_to_what_telegram_takes(harness: Harness) -> None:
    h = harness
    huge = ("<&> " * 1100)[:4000]
    q = await h.say(ANNA, huge)
    await h.say(SAM, "/ticket", reply_to=q)
    status = await ask(h, SAM, "/status 1", SUPPORT)
    assert utf16_len(status) <= MAX_TEXT and status.endswith("…")
    assert (await h.ticket(1)).description == huge  # stored whole, only the view is clipped
