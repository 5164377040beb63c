"""With no rating delay, `/close N text` tells the client once: the answer, the new status
and the rating request in one mail (or one private message, its buttons on it), in the
client's language. With a delay the request stays a later message of its own. The real
python-telegram-bot application against the fake Bot API, mail into an SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bot.channels.email.deliver.sender import MailSender
from engine.directory import PersonSpec
from tests.support_email import Sink, plain_text, smtp_sink
from tests.support_telegram import (
    ANNA,
    BORIS,
    PEOPLE,
    SAM,
    STAFF,
    Harness,
    mailed_ticket,
    make_harness,
)

__all__ = ["smtp_sink"]

CARL = "carl@acme.example"
DINA = "dina@acme.example"
WITH_DINA = (*PEOPLE, PersonSpec("Dina Klient", "client", emails=(DINA,), language="ru"))


@pytest.fixture
async def no_delay(tmp_path: Path) -> AsyncIterator[Harness]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"
    async for h in make_harness(url, sla={"ratings": {"delay_minutes": 0}}, people=WITH_DINA):
        await h.start()
        yield h


@pytest.fixture
async def delayed(tmp_path: Path) -> AsyncIterator[Harness]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"
    async for h in make_harness(url, sla={"ratings": {"delay_minutes": 10}}):
        await h.start()
        yield h


def _mails(sink: Sink, to: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if str(m["To"]) == to]


async def _close_by_mail(h: Harness, sink: Sink, address: str, text: str) -> list[str]:
    """Sam closes the client's mail ticket with an answer; what the client then gets after
    the acknowledgement, once the grace period is over and long after."""
    number = await mailed_ticket(h, address)
    mailer = MailSender(h.rt, sink.smtp)
    await h.say(SAM, f"/take {number}", chat=STAFF)
    await mailer.run_once()
    before = len(_mails(sink, address))  # the acknowledgement, who took it
    await h.say(SAM, f"/close {number} {text}", chat=STAFF, minutes=1)
    await mailer.run_once()
    assert len(_mails(sink, address)) == before  # the answer waits its grace period, all
    h.clock.advance(seconds=30)
    await mailer.run_once()
    h.clock.advance(hours=2)
    await mailer.run_once()
    return [plain_text(m) for m in _mails(sink, address)[before:]]


async def test_close_with_text_mails_one_message_with_the_rating_request(
        no_delay: Harness, smtp_sink: Sink) -> None:
    [mail] = await _close_by_mail(no_delay, smtp_sink, CARL, "The roller is replaced")
    assert mail.index("Sam Spec wrote on ticket #1:") < mail.index("The roller is replaced") \
        < mail.index("Ticket #1 (Printer jams) is now closed.") \
        < mail.index("Ticket #1 (Printer jams) is resolved. Please rate the answer")
    assert "Click a score below, or reply to this mail with just a digit" in mail
    assert mail.count("mailto:") == 5
    assert "is now resolved" not in mail  # where the status ended, once


async def test_the_combined_mail_speaks_russian_to_a_russian_client(
        no_delay: Harness, smtp_sink: Sink) -> None:
    [mail] = await _close_by_mail(no_delay, smtp_sink, DINA, "Ролик заменили")
    assert mail.index("Sam Spec пишет по заявке #1:") < mail.index("Ролик заменили") \
        < mail.index("Заявка #1 (Printer jams) теперь закрыта.") \
        < mail.index("Заявка #1 (Printer jams) решена. Оцените, пожалуйста, ответ")
    assert "ответьте на это письмо одной цифрой" in mail
    assert "Please rate" not in mail and "is now" not in mail


async def test_the_combined_mail_carries_one_signed_link_per_score(
        no_delay: Harness, smtp_sink: Sink) -> None:
    """The folded survey is still answerable the plain way: its mailto links carry the
    signed vote, one per score."""
    [mail] = await _close_by_mail(no_delay, smtp_sink, CARL, "Done")
    links = [line for line in mail.splitlines() if "mailto:" in line]
    assert [line.split(":")[0] for line in links] == [f"{s} of 5" for s in range(1, 6)]
    assert all("rate.1." in line for line in links)


async def _private_close(h: Harness, user: Any, question: str, answer: str) -> list[Any]:
    await h.say(user, "/start", chat=user.id)
    q = await h.say(user, question)
    await h.say(SAM, "/ticket", reply_to=q, minutes=1)
    await h.drained()
    before = len(h.fake.bot_messages(user.id))
    await h.say(SAM, f"/close 1 {answer}", chat=STAFF, minutes=1)
    await h.drained()
    assert len(h.fake.bot_messages(user.id)) == before  # held back: nothing yet
    h.clock.advance(seconds=30)
    await h.sent(lambda f: len(f.bot_messages(user.id)) > before)
    h.clock.advance(hours=2)
    await h.drained()
    return list(h.fake.bot_messages(user.id)[before:])


async def test_close_with_text_is_one_private_message_with_the_rating_buttons(
        no_delay: Harness) -> None:
    [message] = await _private_close(no_delay, ANNA, "Outlook asks for a password",
                                     "Reset it at id.example.com")
    text = message["text"]
    assert text.index("id.example.com") < text.index("is now closed") \
        < text.index("Please rate the answer")
    [buttons] = message["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in buttons] == [f"{s} ⭐" for s in range(1, 6)]
    assert all(b["callback_data"].startswith("rate.1.") for b in buttons)


async def test_the_private_message_speaks_russian_to_a_russian_asker(
        no_delay: Harness) -> None:
    [message] = await _private_close(no_delay, BORIS, "Не работает VPN",
                                     "Перезапустите клиент")
    text = message["text"]
    assert text.index("Перезапустите клиент") < text.index("теперь закрыта") \
        < text.index("Оцените, пожалуйста, ответ")
    assert "Please rate" not in text
    assert len(message["reply_markup"]["inline_keyboard"][0]) == 5


async def test_with_a_delay_the_rating_request_is_a_later_message(
        delayed: Harness, smtp_sink: Sink) -> None:
    h = delayed
    number = await mailed_ticket(h, CARL)
    mailer = MailSender(h.rt, smtp_sink.smtp)
    await h.say(SAM, f"/take {number}", chat=STAFF)
    await mailer.run_once()
    before = len(_mails(smtp_sink, CARL))
    await h.say(SAM, f"/close {number} The roller is replaced", chat=STAFF, minutes=1)
    h.clock.advance(seconds=30)
    await mailer.run_once()
    [answer] = [plain_text(m) for m in _mails(smtp_sink, CARL)[before:]]
    assert "The roller is replaced" in answer and "is now closed" in answer
    assert "Please rate" not in answer
    h.clock.advance(minutes=10)
    await mailer.run_once()
    [_, survey] = [plain_text(m) for m in _mails(smtp_sink, CARL)[before:]]
    assert "Please rate the answer" in survey and "The roller" not in survey


# --- /undo of `/close N text`: the words are taken back, the status is not ----------------


async def _close_and_undo(h: Harness, sink: Sink, address: str, text: str) -> list[str]:
    number = await mailed_ticket(h, address)
    mailer = MailSender(h.rt, sink.smtp)
    await h.say(SAM, f"/take {number}", chat=STAFF)
    await mailer.run_once()
    before = len(_mails(sink, address))
    await h.say(SAM, f"/close {number} {text}", chat=STAFF, minutes=1)
    await h.say(SAM, "/undo", chat=STAFF, minutes=1 / 6)
    await mailer.run_once()
    h.clock.advance(hours=2)
    await mailer.run_once()
    assert (await h.ticket(number)).status.value == "closed"  # the status stands
    assert not (await h.comments(number))[-1].public  # the answer is a note now
    return [plain_text(m) for m in _mails(sink, address)[before:]]


async def test_undo_of_close_with_text_still_tells_the_client_it_is_closed(
        no_delay: Harness, smtp_sink: Sink) -> None:
    [mail] = await _close_and_undo(no_delay, smtp_sink, CARL, "Lena, can I just close this?")
    assert "can I just close" not in mail and "wrote on ticket" not in mail
    assert mail.index("Ticket #1 (Printer jams) is now closed.") \
        < mail.index("Please rate the answer")


async def test_undo_of_close_with_text_in_russian(no_delay: Harness, smtp_sink: Sink) -> None:
    [mail] = await _close_and_undo(no_delay, smtp_sink, DINA, "Лена, можно закрыть?")
    assert "можно закрыть" not in mail
    assert "Заявка #1 (Printer jams) теперь закрыта." in mail
    assert "Оцените, пожалуйста, ответ" in mail


async def test_undo_of_close_with_a_rating_delay_the_survey_comes_later_alone(
        delayed: Harness, smtp_sink: Sink) -> None:
    [status, survey] = await _close_and_undo(delayed, smtp_sink, CARL, "Closing it, Lena")
    assert "is now closed" in status and "Please rate" not in status
    assert "Closing it" not in status + survey
    assert "Please rate the answer" in survey
