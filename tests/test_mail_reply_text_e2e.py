"""The new text of a reply, end to end: mail in over SMTP -> the comment the ticket stores ->
the notice the responsible specialist gets; a reply with nothing new is stored and flagged,
its comment holds no invented text, and every reader sees a note in their own language."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlalchemy import select

from bot.channels.email.act.process import NO_NEW_TEXT
from bot.channels.email.service import EmailChannel
from bot.runtime import App
from engine import commands as c
from engine.directory import CompanySpec
from engine.store import tables
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    SUPPORT,
    Sink,
    clock,
    db_file,
    mail,
    running_channel,
    settings_for,
    smtp_sink,
)
from tests.support_replies import REPLIES, load_case
from tests.support_telegram import STAFF, Harness, sqlite_harness

__all__ = ["clock", "db_file", "smtp_sink", "sqlite_harness"]  # fixtures

SAM, OLGA = "sam@staff.example.com", "olga@staff.example.com"


async def _channel(db_file: str, clock: FixedClock, smtp_sink: Sink,
                   manager: str) -> AsyncIterator[EmailChannel]:
    settings = settings_for(db_file, listen_port=0, smtp=smtp_sink.smtp)
    settings = replace(settings, companies=(CompanySpec("Acme", ("acme.example",),
                                                        manager_email=manager),))
    async with running_channel(settings, clock) as channel:
        yield channel


@pytest.fixture
async def channel(db_file: str, clock: FixedClock,
                  smtp_sink: Sink) -> AsyncIterator[EmailChannel]:
    """Sam (English) is responsible for Acme's tickets."""
    async for found in _channel(db_file, clock, smtp_sink, SAM):
        yield found


@pytest.fixture
async def channel_ru(db_file: str, clock: FixedClock,
                     smtp_sink: Sink) -> AsyncIterator[EmailChannel]:
    """Olga (Russian) is responsible for Acme's tickets."""
    async for found in _channel(db_file, clock, smtp_sink, OLGA):
        yield found


async def _send(channel: EmailChannel, raw: bytes) -> None:
    assert channel.ingress is not None
    await aiosmtplib.send(raw, hostname="127.0.0.1", port=channel.ingress.port,
                          sender="carl@acme.example", recipients=[SUPPORT])


def _text(m: EmailMessage) -> str:
    body = m.get_body(("plain",))
    return "" if body is None else str(body.get_content()).replace("\r\n", "\n")


def _to(address: str, words: str) -> Callable[[EmailMessage], bool]:
    return lambda m: m["To"] == address and words in _text(m)


async def _ticket(channel: EmailChannel, sink: Sink) -> EmailMessage:
    """Carl opens a ticket; the ack he gets is what he replies to."""
    await _send(channel, mail(message_id="<open@acme.example>", subject="Printer",
                              body="The printer jams."))
    return await sink.first(lambda m: m["To"] == "carl@acme.example")


async def _reply(channel: EmailChannel, ack: EmailMessage, n: int, body: str) -> None:
    await _send(channel, mail(message_id=f"<reply{n}@acme.example>", subject="Re: Printer",
                              in_reply_to=ack["Message-ID"],
                              references=f"<open@acme.example> {ack['Message-ID']}",
                              body=body))


CASES = ["gmail/wrapped_address_split_1", "outlook_web_fr/no_space_after_colon",
         "yandex_mailru/mailru_wrapped_three", "mobile/footer_norwegian",
         "thunderbird/interleaved_ru_greeting"]


async def test_the_stored_comment_is_the_exact_new_text(channel: EmailChannel,
                                                        smtp_sink: Sink) -> None:
    rt = channel.rt
    assert isinstance(rt, App)
    ack = await _ticket(channel, smtp_sink)
    cases = [load_case(REPLIES / f"{name}.txt") for name in CASES]
    for n, case in enumerate(cases):
        await _reply(channel, ack, n, case.body)
        # Sam hears of each reply with exactly its new text, and nothing of the quote.
        notice = await smtp_sink.first(_to(SAM, f"\n\n{case.expected}\n\n-- \n"))
        assert "support@help.example.com" not in _text(notice)
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert [c["body"] for c in detail["comments"]] == ["The printer jams.",
                                                       *[c.expected for c in cases]]
    assert len((await export_all(rt.db))["tickets"]) == 1


def _reply_notices(sink: Sink, reader: str) -> list[EmailMessage]:
    return [m for m in sink.messages()
            if m["To"] == reader and str(m["Subject"]).startswith("[#1] New reply")
            or m["To"] == reader and str(m["Subject"]).startswith("[#1] Новый ответ")]


async def _nothing_new(channel: EmailChannel, sink: Sink, reader: str, note: str) -> None:
    rt = channel.rt
    assert isinstance(rt, App)
    ack = await _ticket(channel, sink)
    case = load_case(REPLIES / "gmail/nothing_new_en.txt")
    assert case.expected == ""
    await _reply(channel, ack, 1, case.body)
    # The responsible specialist hears of it once, with a note instead of a text.
    notice = await sink.first(_to(reader, f"\n\n{note}\n\n-- \n"))
    assert [m["Message-ID"] for m in _reply_notices(sink, reader)] == [notice["Message-ID"]]
    assert "password" not in _text(notice)
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert [c["body"] for c in detail["comments"]] == ["The printer jams.", ""]
    # The mail is kept as it came, and its fate says why the comment is empty.
    rows = (await export_all(rt.db))["inbound"]
    assert [(r["status"], r["ticket"], r["reason"]) for r in rows] == [
        ("done", 1, None), ("done", 1, NO_NEW_TEXT)]
    async with rt.db.connect() as conn:
        raw = (await conn.execute(select(tables.inbound.c.raw).where(
            tables.inbound.c.external_id == "<reply1@acme.example>"))).scalar_one()
    assert b"we reset your password" in raw
    # Carl, who wrote it, gets nothing about his own reply: only the ack.
    assert [m["Subject"] for m in sink.messages() if m["To"] == "carl@acme.example"] == [
        ack["Subject"]]


async def test_a_reply_with_nothing_new_is_stored_flagged_and_shown_as_such(
        channel: EmailChannel, smtp_sink: Sink) -> None:
    await _nothing_new(channel, smtp_sink, SAM,
                       "(no new text: the mail only quoted earlier messages)")


async def test_the_note_speaks_the_readers_language(channel_ru: EmailChannel,
                                                    smtp_sink: Sink) -> None:
    await _nothing_new(channel_ru, smtp_sink, OLGA,
                       "(нового текста нет: в письме только цитата прежних сообщений)")


async def test_the_staff_chat_post_says_there_was_no_new_text(sqlite_harness: Harness) -> None:
    """The mail intake stores a quote-only reply as a comment with no text (above); the staff
    chat shows the client's post with the note, not an empty quote."""
    h = sqlite_harness
    await h.start()
    async with h.rt.uow() as uow:
        carl = await uow.people.by_email("carl@acme.example")
    assert carl is not None
    opened = await h.rt.bus.handle(c.OpenTicket(
        actor=carl.id, channel="email", at=h.clock.now(), subject="Printer jams",
        description="It jams on page 2", source_ref="<m1@acme.example>"))
    assert opened.ticket is not None
    await h.rt.bus.handle(c.AddComment(actor=carl.id, channel="email", at=h.clock.now(),
                                       ticket=opened.ticket, body="", public=True,
                                       source_ref="<m2@acme.example>"))
    post = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if m["text"].startswith("Carl Client wrote")), None))
    assert post["text"] == ("Carl Client wrote (email):\n"
                            "(no new text: the mail only quoted earlier messages)")
