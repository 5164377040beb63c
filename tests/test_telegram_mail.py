"""F7, one ticket across mail and Telegram: a mailed ticket is posted to the staff chat; a
Telegram reply to that post (or `/reply N`) is mailed to the client by the email channel
(its real sender, into an SMTP sink); the client's next mail shows up under the same post;
anything else written in the staff chat stays internal."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from bot.channels.email.deliver.sender import MailSender
from engine import commands as c
from engine.model import Person
from tests.support_email import Sink, plain_text, smtp_sink
from tests.support_telegram import SAM, STAFF, Harness, sqlite_harness

__all__ = ["smtp_sink", "sqlite_harness"]


async def _carl(h: Harness) -> Person:
    async with h.rt.uow() as uow:
        carl = await uow.people.by_email("carl@acme.example")
    assert carl is not None
    return carl


async def _mailed_ticket(h: Harness) -> int:
    """What the email channel does with a new mail: a ticket opened by the client."""
    carl = await _carl(h)
    outcome = await h.rt.bus.handle(c.OpenTicket(
        actor=carl.id, channel="email", at=h.clock.now(), subject="Printer jams",
        description="It jams on page 2 <every time> & beeps", source_ref="<m1@acme.example>"))
    assert outcome.ticket is not None
    return outcome.ticket


def _to_carl(m: EmailMessage) -> bool:
    return str(m["To"]) == "carl@acme.example"


def _carl_reads(words: str) -> Callable[[EmailMessage], bool]:
    return lambda m: _to_carl(m) and words in plain_text(m)


async def test_a_reply_in_the_staff_chat_is_mailed_and_the_next_mail_shows_there(
        sqlite_harness: Harness, smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await _mailed_ticket(h)
    post = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if "It jams on page 2" in m["text"]), None))
    assert post["text"].startswith("New ticket from Carl Client (email):")
    assert "<every time> & beeps" in post["text"]  # escaped on the way, shown as written
    card = next(m for m in h.fake.bot_messages(STAFF) if m["text"].startswith("🎫"))
    assert post["reply_to_message"]["message_id"] == card["message_id"]

    # A specialist answers with /reply to the post in Telegram: a public comment ...
    answer = await h.say(SAM, "/reply We will replace the roller today", chat=STAFF,
                         reply_to=post["message_id"], minutes=3)
    comments = await h.comments(number)
    assert [(x.body, x.public) for x in comments[1:]] == [
        ("We will replace the roller today", True)]
    # ... echoed under the command with where it went ...
    echo = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if m["text"].startswith("✉")), None))
    assert echo["text"] == "✉ To Carl Client <carl@acme.example> in 30 s — /undo to withdraw"
    assert echo["reply_to_message"]["message_id"] == answer
    # ... that the email channel mails to the client, in the ticket's thread, once the
    # grace period (in which /undo could take it back) is over.
    mailer = MailSender(h.rt, smtp_sink.smtp)
    await mailer.run_once()
    assert [m for m in smtp_sink.messages() if _carl_reads("roller today")(m)] == []
    h.clock.advance(seconds=30)
    assert await mailer.run_once() >= 1
    mail = await smtp_sink.first(_carl_reads("We will replace the roller today"))
    assert f"[#{number}]" in str(mail["Subject"])
    assert "<m1@acme.example>" in str(mail["References"])

    # The client's next mail shows up under the same post in the staff chat.
    await h.rt.bus.handle(c.AddComment(actor=(await _carl(h)).id, channel="email",
                                       at=h.clock.now(), ticket=number,
                                       body="Thanks, after 3 pm please", public=True,
                                       source_ref="<m2@acme.example>"))
    echoed = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                          if "after 3 pm" in m["text"]), None))
    assert echoed["text"].startswith("Carl Client wrote (email):")
    assert echoed["reply_to_message"]["message_id"] == card["message_id"]

    # /reply to that echo answers the client again; /reply N does too.
    await h.say(SAM, "/reply OK, 3 pm", chat=STAFF, reply_to=echoed["message_id"], minutes=1)
    await h.say(SAM, f"/reply {number} The roller is replaced", chat=STAFF, minutes=60)
    h.clock.advance(seconds=30)
    await mailer.run_once()
    await smtp_sink.first(_carl_reads("The roller is replaced"))
    assert await smtp_sink.first(_carl_reads("OK, 3 pm"))
    # The acknowledgement and three answers, each once.
    assert len([m for m in smtp_sink.messages() if _to_carl(m)]) == 4


async def test_a_plain_reply_in_the_staff_chat_is_an_internal_note(sqlite_harness: Harness,
                                                                   smtp_sink: Sink) -> None:
    """"Lena, can I just close this?" under the client's mail is for colleagues only."""
    h = sqlite_harness
    await h.start()
    number = await _mailed_ticket(h)
    post = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if "It jams on page 2" in m["text"]), None))
    await h.say(SAM, "Lena, can I just close this?", chat=STAFF,
                reply_to=post["message_id"], minutes=1)
    comments = await h.comments(number)
    assert [(x.body, x.public) for x in comments[1:]] == [("Lena, can I just close this?",
                                                           False)]
    await h.drained()
    assert not any(m["text"].startswith("✉") for m in h.fake.bot_messages(STAFF))
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    assert [m for m in smtp_sink.messages() if _to_carl(m) and "close this" in plain_text(m)] == []


async def test_other_staff_chat_messages_stay_internal(sqlite_harness: Harness,
                                                       smtp_sink: Sink) -> None:
    h = sqlite_harness
    await h.start()
    number = await _mailed_ticket(h)
    await h.sent(lambda f: len(f.bot_messages(STAFF)) >= 2)
    await h.say(SAM, f"#{number} the logs show a paper sensor fault", chat=STAFF, minutes=1)
    await h.say(SAM, "coffee anyone?", chat=STAFF, minutes=1)
    comments = await h.comments(number)
    assert [(x.body, x.public) for x in comments[1:]] == [
        ("the logs show a paper sensor fault", False)]
    await MailSender(h.rt, smtp_sink.smtp).run_once()
    assert [m for m in smtp_sink.messages() if _to_carl(m) and "sensor" in plain_text(m)] == []
    assert [m for m in smtp_sink.messages() if _to_carl(m) and "coffee" in plain_text(m)] == []
