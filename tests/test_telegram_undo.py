"""A public answer waits its grace period (30 s by default) in the outbox; `/undo` (a reply
to the echo, or alone for one's newest answer) or the echo's button takes it back: the
client never gets it, by mail or in the group, and it stays on the ticket as a note. The
real python-telegram-bot application against the fake Bot API, mail into an SMTP sink."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.email.deliver.sender import MailSender
from engine.store import tables
from engine.store.db import reading
from tests.support_email import Sink, plain_text, smtp_sink
from tests.support_telegram import (
    ANNA,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    mailed_ticket,
    make_harness,
    sqlite_harness,
)

__all__ = ["smtp_sink", "sqlite_harness"]

CARL = "carl@acme.example"


def _to_carl(sink: Sink, words: str = "") -> list[EmailMessage]:
    return [m for m in sink.messages() if str(m["To"]) == CARL and words in plain_text(m)]


def _reply_to(h: Harness, chat: int, message_id: int) -> list[dict[str, Any]]:
    return [m for m in h.fake.bot_messages(chat)
            if m.get("reply_to_message", {}).get("message_id") == message_id]


async def _echo(h: Harness, command: int) -> dict[str, Any]:
    found: dict[str, Any] = await h.sent(lambda f: next(iter(_reply_to(h, STAFF, command)),
                                                        None))
    return found


async def test_undo_under_the_echo_keeps_the_answer_from_the_client(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    mailer = MailSender(h.rt, smtp_sink.smtp)
    answer = await h.say(SAM, f"/reply {number} Just close it, Lena", chat=STAFF, minutes=1)
    echo = await _echo(h, answer)
    assert echo["text"] == "✉ To Carl Client <carl@acme.example> in 30 s — /undo to withdraw"
    undo = await h.say(SAM, "/undo", chat=STAFF, reply_to=echo["message_id"],
                       minutes=1 / 6)
    [said] = await h.sent(lambda f: _reply_to(h, STAFF, undo) or None)
    assert said["text"] == ("↩ Withdrawn: your answer on #1 was not sent. It stays on the "
                            "ticket as an internal note.")
    comments = await h.comments(number)
    assert [(x.body, x.public) for x in comments[1:]] == [("Just close it, Lena", False)]
    assert (await h.ticket(number)).first_response_at is None

    h.clock.advance(minutes=5)  # long past the grace period: still nothing goes out
    await mailer.run_once()
    await h.drained()
    assert _to_carl(smtp_sink, "close it") == []
    assert len(_to_carl(smtp_sink)) == 1  # the acknowledgement of his mail, no more
    async with reading(h.db) as conn:
        withdrawn = (await conn.execute(select(tables.outbox.c.recipient).where(
            tables.outbox.c.last_error == "withdrawn"))).scalars().all()
    assert CARL in withdrawn  # kept, as given up, for whoever asks later
    # A second /undo finds nothing waiting, and says so.
    again = await h.say(SAM, "/undo", chat=STAFF, reply_to=echo["message_id"])
    [refusal] = await h.sent(lambda f: _reply_to(h, STAFF, again) or None)
    assert refusal["text"] == ("Nothing of yours on #1 is waiting to go out: it was sent "
                               "already, or withdrawn.")


async def test_the_echo_button_withdraws_in_the_specialists_language(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    answer = await h.say(OLGA, f"/reply {number} Заменим ролик", chat=STAFF, minutes=1)
    echo = await _echo(h, answer)
    assert echo["text"] == ("✉ Для Carl Client <carl@acme.example> через 30 с — /undo, "
                            "чтобы отозвать")
    [[button]] = echo["reply_markup"]["inline_keyboard"]
    assert button["text"] == "↩ Отозвать"
    await h.press(OLGA, STAFF, echo["message_id"], button["callback_data"])
    edited = await h.sent(lambda f: "Отозвано" in f.messages[(STAFF, echo["message_id"])]
                          ["text"] and f.messages[(STAFF, echo["message_id"])])
    assert edited["text"].startswith("↩ Отозвано: ваш ответ по #1 не отправлен.")
    assert "reply_markup" not in edited  # nothing left to press
    assert [a["text"] for a in h.fake.sent("answercallbackquery")] == [edited["text"]]
    h.clock.advance(minutes=1)
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    assert _to_carl(smtp_sink, "ролик") == []


async def test_only_the_author_or_a_lead_withdraws(sqlite_harness: Harness,
                                                    smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    answer = await h.say(SAM, f"/reply {number} We ordered a new roller", chat=STAFF)
    echo = await _echo(h, answer)
    # Olga did not write it: refused in Russian, and the answer still waits.
    other = await h.say(OLGA, f"/undo {number}", chat=STAFF)
    [refusal] = await h.sent(lambda f: _reply_to(h, STAFF, other) or None)
    assert refusal["text"] == ("По #1 нет ваших ответов, ждущих отправки: ответ уже ушёл "
                               "или отозван.")
    [[button]] = echo["reply_markup"]["inline_keyboard"]
    await h.press(OLGA, STAFF, echo["message_id"], button["callback_data"])
    assert (await h.comments(number))[1].public
    # Lena leads the desk: she may stop a colleague's answer.
    await h.press(LENA, STAFF, echo["message_id"], button["callback_data"])
    assert not (await h.comments(number))[1].public
    h.clock.advance(minutes=1)
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    assert _to_carl(smtp_sink, "roller") == []


async def test_undo_after_the_grace_period_is_refused_and_the_answer_arrives_once(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    mailer = MailSender(h.rt, smtp_sink.smtp)
    await h.say(SAM, f"/reply {number} The roller is replaced", chat=STAFF, minutes=1)
    await mailer.run_once()
    assert _to_carl(smtp_sink, "roller") == []  # still in its grace period
    h.clock.advance(seconds=30)
    await mailer.run_once()
    undo = await h.say(SAM, "/undo", chat=STAFF)  # alone: the newest answer of Sam's
    [refusal] = await h.sent(lambda f: _reply_to(h, STAFF, undo) or None)
    assert refusal["text"] == ("No answer of yours is waiting to go out: it was sent "
                               "already, or withdrawn.")
    await mailer.run_once()
    assert len(_to_carl(smtp_sink, "The roller is replaced")) == 1
    assert (await h.comments(number))[1].public


async def test_an_answer_withdrawn_is_never_posted_in_the_group(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "VPN is down")
    await h.say(SAM, "/ticket", reply_to=q, minutes=1)
    answer = await h.say(SAM, "/reply 1 Did you try turning it off and on?", chat=STAFF)
    echo = await _echo(h, answer)
    assert echo["text"] == "💬 To the support group in 30 s — /undo to withdraw"
    await h.say(SAM, "/undo 1", chat=STAFF, minutes=1 / 12)
    h.clock.advance(minutes=2)
    await h.drained()
    assert not any("turning it off" in m["text"] for m in h.fake.bot_messages(SUPPORT))
    assert not any("turning it off" in m["text"] for m in h.fake.bot_messages(ANNA.id))


@pytest.fixture
async def no_delay(tmp_path: Path) -> AsyncIterator[Harness]:
    """Rating requests with no delay at all."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"
    async for h in make_harness(url, sla={"ratings": {"delay_minutes": 0}}):
        yield h


async def test_a_rating_request_never_comes_before_the_answer(no_delay: Harness) -> None:
    h = no_delay
    await h.start()
    await h.say(ANNA, "/start", chat=ANNA.id)
    q = await h.say(ANNA, "Outlook asks for a password")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(SAM, "/resolve 1 Reset it at id.example.com", chat=STAFF, minutes=5)
    await h.drained()
    assert not any(m.get("reply_markup") for m in h.fake.bot_messages(ANNA.id))
    h.clock.advance(seconds=30)
    await h.sent(lambda f: any(m.get("reply_markup") for m in f.bot_messages(ANNA.id)))
    # With no delay the request is in the answer's own message, under the answer.
    [message] = [m for m in h.fake.bot_messages(ANNA.id) if "id.example.com" in m["text"]]
    assert message["text"].index("id.example.com") < message["text"].index("Please rate")
    assert message.get("reply_markup")


# --- the echo tells the truth: waiting, then sent or withdrawn ------------------------------


def _now(h: Harness, message: dict[str, Any]) -> dict[str, Any]:
    """The message as the staff chat shows it now, edits applied."""
    found: dict[str, Any] = h.fake.messages[(STAFF, message["message_id"])]
    return found


async def test_the_echo_says_sent_once_the_answer_has_gone(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    mailer = MailSender(h.rt, smtp_sink.smtp)
    answer = await h.say(SAM, f"/reply {number} The roller is replaced", chat=STAFF, minutes=1)
    echo = await _echo(h, answer)
    h.clock.advance(seconds=29)
    await mailer.run_once()
    await h.drained()
    assert _now(h, echo)["text"] == ("✉ To Carl Client <carl@acme.example> in 30 s — /undo "
                                     "to withdraw")  # not yet: still waiting, still undoable
    assert _to_carl(smtp_sink, "roller") == []
    h.clock.advance(seconds=1)
    await mailer.run_once()
    edited = await h.sent(lambda f: "Sent" in _now(h, echo)["text"] and _now(h, echo))
    assert edited["text"] == "✉ Sent to Carl Client <carl@acme.example>"
    assert "reply_markup" not in edited  # nothing left to undo
    assert len(_to_carl(smtp_sink, "The roller is replaced")) == 1
    # One echo, edited in place: no second echo under the command.
    assert [m["text"] for m in _reply_to(h, STAFF, answer)] == [edited["text"], "Done."]


async def test_a_typed_undo_edits_the_echo_and_it_never_says_sent(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await mailed_ticket(h)
    answer = await h.say(OLGA, f"/reply {number} Заменим ролик", chat=STAFF, minutes=1)
    echo = await _echo(h, answer)
    await h.say(OLGA, "/undo", chat=STAFF, minutes=1 / 6)
    edited = await h.sent(lambda f: "Отозвано" in _now(h, echo)["text"] and _now(h, echo))
    assert edited["text"] == ("↩ Отозвано: ваш ответ по #1 не отправлен. Он остался в "
                              "заявке как внутренняя заметка.")
    assert "reply_markup" not in edited
    h.clock.advance(minutes=2)
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    await h.drained()
    assert _now(h, echo)["text"] == edited["text"]  # never "sent" afterwards
    assert _to_carl(smtp_sink, "ролик") == []


async def test_the_group_echo_says_posted_once_the_grace_period_is_over(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "VPN is down")
    await h.say(SAM, "/ticket", reply_to=q, minutes=1)
    answer = await h.say(SAM, "/reply 1 Restarted the VPN server", chat=STAFF)
    echo = await _echo(h, answer)
    assert echo["text"] == "💬 To the support group in 30 s — /undo to withdraw"
    h.clock.advance(seconds=30)
    edited = await h.sent(lambda f: "Posted" in _now(h, echo)["text"] and _now(h, echo))
    assert edited["text"] == "💬 Posted in the support group"
    assert any("Restarted the VPN server" in m["text"] for m in h.fake.bot_messages(SUPPORT))
