"""Read-only commands in a private chat are answered before anything is written
(bot/channels/telegram/act/quick.py); what matters is still recorded: the update in the
journal, and which ticket the answer is about (a reply to it lands on the ticket)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from engine.store import tables
from engine.store.db import reading
from tests.fakebotapi import FakeBotAPI
from tests.support_telegram import ANNA, SAM, Harness, harness

__all__ = ["harness"]


def _answer_to(message_id: int, chat: int) -> Callable[[FakeBotAPI], dict[str, object] | None]:
    def check(f: FakeBotAPI) -> dict[str, object] | None:
        return next((m for m in f.bot_messages(chat)
                     if m.get("reply_to_message", {}).get("message_id") == message_id), None)
    return check


async def _private_ticket(h: Harness) -> None:
    """Anna's ticket #1 from her private chat (she has written to the bot)."""
    await h.say(ANNA, "/new Laptop battery swells", chat=ANNA.id)
    await h.sent(lambda f: next((m for m in f.bot_messages(ANNA.id)), None))


async def _journal(h: Harness) -> list[tuple[str, str]]:
    async with reading(h.db) as conn:
        rows = await conn.execute(select(tables.inbound.c.external_id, tables.inbound.c.status)
                                  .where(tables.inbound.c.channel == "telegram")
                                  .order_by(tables.inbound.c.id))
        return [(str(e), str(s)) for e, s in rows]


async def test_status_is_answered_at_once_and_its_effects_are_recorded(harness: Harness) -> None:
    h = harness
    await _private_ticket(h)
    assert h.service is not None and h.service.poller is not None
    quick = h.service.poller.quick
    assert quick is not None and quick.answered == 0
    asked = await h.say(ANNA, "/status 1", chat=ANNA.id)
    answer = await h.fake.wait_for(_answer_to(asked, ANNA.id))
    # Anna reads the card of her ticket in her own chat, once, and nothing else is said.
    assert "#1" in str(answer["text"]) and "Laptop battery swells" in str(answer["text"])
    assert len([m for m in h.fake.bot_messages(ANNA.id)
                if m.get("reply_to_message", {}).get("message_id") == asked]) == 1
    assert quick.answered == 1
    # The update is journaled, done; the answer is known to be about #1: replying to it
    # adds Anna's comment to the ticket.
    assert (await _journal(h))[-1] == ("2", "done")  # /new's row is marked done lazily
    await h.say(ANNA, "It got worse overnight", chat=ANNA.id,
                reply_to=int(str(answer["message_id"])))
    assert [c.body for c in await h.comments(1)][-1] == "It got worse overnight"


async def test_an_answer_telegram_refuses_now_goes_through_the_outbox(harness: Harness) -> None:
    h = harness
    await _private_ticket(h)
    h.fake.fail("sendMessage", "502")  # the direct send fails once
    asked = await h.say(ANNA, "/my", chat=ANNA.id)
    answer = await h.sent(_answer_to(asked, ANNA.id))
    assert "Laptop battery swells" in str(answer["text"])


async def test_a_batch_with_a_change_in_it_takes_the_ordinary_path(harness: Harness) -> None:
    h = harness
    await _private_ticket(h)
    assert h.service is not None and h.service.poller is not None
    quick = h.service.poller.quick
    assert quick is not None
    first = await h.say(SAM, "/help", chat=SAM.id)  # Sam writes to the bot, which answers
    await h.sent(_answer_to(first, SAM.id))
    helped = await h.say(SAM, "/help", chat=SAM.id)
    await h.fake.wait_for(_answer_to(helped, SAM.id))
    before = quick.answered
    assert before == 1
    # A command that changes a ticket is never answered before it is written.
    taken = await h.say(SAM, "/take 1", chat=SAM.id)
    assert "You took ticket #1." in str((await h.sent(_answer_to(taken, SAM.id)))["text"])
    assert quick.answered == before
    assert (await h.ticket(1)).responsible_id == await h.person_id(SAM)
