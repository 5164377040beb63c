"""Staff are reached where they are: a specialist who never pressed Start in a private chat
(Telegram answers 403) gets their notices by mail, in their language, instead of a post
about them in the staff chat. The real python-telegram-bot application against the fake
Bot API, mail into an SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.email.deliver.sender import MailSender
from engine.directory import PersonSpec
from tests.fakebotapi import BOT_USERNAME
from tests.support_email import Sink, smtp_sink
from tests.support_telegram import ANNA, LENA, OLGA, SAM, STAFF, Harness, make_harness

__all__ = ["smtp_sink"]

OLGA_MAIL = "olga@desk.example"
PEOPLE = (
    PersonSpec("Lena Lead", "lead", telegram_id=LENA.id, username="lena_lead"),
    PersonSpec("Sam Spec", "specialist", telegram_id=SAM.id, username="sam_spec"),
    PersonSpec("Olga Spec", "specialist", emails=(OLGA_MAIL,), telegram_id=OLGA.id,
               username="olga_spec", language="ru"),
)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in make_harness(f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}", people=PEOPLE,
                                staff_started=False):
        yield h


async def test_a_specialist_who_never_started_the_bot_hears_by_mail(
        desk: Harness, smtp_sink: Sink) -> None:
    h = desk
    await h.start()
    q = await h.say(ANNA, "Need a new monitor")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(LENA, "/assign 1 @olga_spec", chat=STAFF)
    await h.drained()
    await h.drained()  # the mail row is queued when the private message fails
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    [mail] = [m for m in smtp_sink.messages() if m["To"] == OLGA_MAIL]
    assert "Вам назначена заявка #1" in str(mail["Subject"])
    assert not any(m["text"].startswith("Olga Spec, ") for m in h.fake.bot_messages(STAFF))


async def test_at_start_the_staff_chat_hears_who_cannot_be_reached(desk: Harness) -> None:
    """Nobody has pressed Start yet: Olga's notices go by mail; Lena and Sam have no mail
    address, so they are told how to fix it. Once all have started, nothing is said."""
    h = desk
    await h.start()
    notice = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                          if m["text"].startswith("I cannot write")), None))
    lines = notice["text"].split("\n")
    assert lines[1].startswith("• Lena Lead: cannot be reached at all")
    assert lines[2].startswith("• Sam Spec: cannot be reached at all")
    assert len(lines) == 4
    assert lines[3] == ("• Olga Spec: never pressed Start, so notices go by mail to "
                        f"{OLGA_MAIL}. To get them here: open @{BOT_USERNAME} and "
                        "press Start.")
    # Once they have all started the bot, a restart says nothing of the kind.
    for user in (LENA, SAM, OLGA):
        await h.say(user, "/start", chat=user.id)
    await h.stop()
    h.clock.advance(days=1)
    await h.start()
    await h.drained()
    assert sum(m["text"].startswith("I cannot write") for m in h.fake.bot_messages(STAFF)) == 1


async def test_assign_by_a_mail_address_in_the_chat(desk: Harness) -> None:
    h = desk
    await h.start()
    q = await h.say(ANNA, "Need a new monitor")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(LENA, f"/assign 1 {OLGA_MAIL}", chat=STAFF)
    assert (await h.ticket(1)).responsible_id == await h.person_id(OLGA)
