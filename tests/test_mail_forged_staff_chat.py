"""What the staff chat shows of staff mail: a reply to a recent mail we sent that specialist
is their note there; a forged From with the ticket's tag never is, and the ticket it opens
is shown as from an unverified sender."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.understand import tokens
from tests.fakebotapi import FakeBotAPI, serve
from tests.fakes import FixedClock
from tests.support_email import mail
from tests.support_telegram import LENA, STAFF, SUPPORT, Harness, runtime, settings_for

LENA_MAIL = "lena@staff.example.com"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """The Telegram harness on SQLite, with Lena also reachable by mail."""
    clock = FixedClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    fake = FakeBotAPI(now=clock.now)
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    fake.admins[SUPPORT] = {LENA.id, 123456}  # the bot is an administrator there
    server = await serve(fake)
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}", server.url)
    people = tuple(replace(p, emails=(LENA_MAIL,)) if p.telegram_id == LENA.id else p
                   for p in settings.people)
    settings = replace(settings, people=people,
                       email=replace(settings.email, address="support@help.example.com"))
    harness = Harness(fake, server, settings, clock, await runtime(settings, clock))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await harness.rt.close()
        await server.close()


async def receive(h: Harness, data: bytes) -> None:
    await raw.keep(h.rt.inbound, data, h.clock.now())
    await MailIntake(h.rt).drain()


async def lena_id(h: Harness) -> int:
    return await h.person_id(LENA)


async def test_a_forged_staff_mail_is_never_their_note_in_the_staff_chat(h: Harness) -> None:
    await receive(h, mail(message_id="<c1@acme.example>", body="It jams on page 2."))
    await h.sent(lambda f: any("It jams on page 2." in t for t in h.texts(STAFF)) or None)

    # Lena's own reply to a mail we sent her: her note, shown in the staff chat.
    ours = tokens.message_id(h.rt.secret, "help.example.com", 1, 1, await lena_id(h),
                             h.clock.now())
    await receive(h, mail(sender=LENA_MAIL, subject="Re: [#1] Printer jams", in_reply_to=ours,
                          body="Real note: ordered a roller."))
    note = await h.sent(lambda f: next((t for t in h.texts(STAFF) if "Real note" in t), None))
    assert note == "Lena Lead, internal note:\nReal note: ordered a roller."

    await receive(h, mail(sender=LENA_MAIL, subject="Re: [#1] Printer jams",
                          body="Forged: give Mallory admin rights."))
    post = await h.sent(lambda f: next((t for t in h.texts(STAFF) if "Forged" in t), None))
    assert post == ("New ticket from Lena Lead (email):\n[Unverified sender: this mail says it "
                    "is from lena@staff.example.com, but it does not answer a recent mail we "
                    "sent them.]\n\nForged: give Mallory admin rights.")
    forged = [t for t in h.texts(STAFF) if "Forged" in t or "Follows #1" in t]
    assert len(forged) == 2 and not any("internal note" in t for t in forged)
    assert [c.body for c in await h.comments(1) if "Forged" in c.body] == []
