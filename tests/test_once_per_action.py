"""One staff action, one message per person and channel: the answer carries the status it
set; the client is not told someone took the ticket; a mail ticket's whole life costs the
client four mails. The service as bootstrapped (every reactor), mail into an SMTP sink,
Telegram through the real python-telegram-bot application against the fake Bot API."""

from __future__ import annotations

from email.message import EmailMessage

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.runtime import App
from engine import commands as c
from engine.model import Status
from tests.fakes import FixedClock
from tests.support_email import (
    Sink,
    clock,
    db_file,
    mail,
    person_id,
    plain_text,
    runtime,
    smtp_sink,
)
from tests.support_telegram import ANNA, SAM, STAFF, SUPPORT, Harness, sqlite_harness

__all__ = ["clock", "db_file", "runtime", "smtp_sink", "sqlite_harness"]

CARL = "carl@acme.example"
SAM_MAIL = "sam@staff.example.com"


def _to_carl(sink: Sink) -> list[EmailMessage]:
    return [m for m in sink.messages() if m["To"] == CARL]


async def _mailed(rt: App, clock: FixedClock) -> int:
    await raw.keep(rt.inbound, mail(message_id="<life@acme.example>"), clock.now())
    await MailIntake(rt).drain()
    return 1


async def test_a_mail_tickets_life_costs_the_client_four_mails(
        runtime: App, smtp_sink: Sink, clock: FixedClock) -> None:
    number = await _mailed(runtime, clock)
    sam = await person_id(runtime, SAM_MAIL)
    mailer = MailSender(runtime, smtp_sink.smtp)
    await runtime.bus.handle(c.Take(actor=sam, channel="email", at=clock.now(), ticket=number))
    await mailer.run_once()
    assert len(_to_carl(smtp_sink)) == 1  # the acknowledgement; nothing about the take
    clock.advance(minutes=10)
    await runtime.bus.handle(c.AddComment(actor=sam, channel="email", at=clock.now(),
                                          ticket=number, body="Replace the drum.",
                                          public=True))
    clock.advance(minutes=10)
    await runtime.bus.handle(c.SetStatus(actor=sam, channel="email", at=clock.now(),
                                         ticket=number, status=Status.RESOLVED))
    clock.advance(hours=1)  # the answer's grace period and the survey's delay
    await mailer.run_once()
    mails = _to_carl(smtp_sink)
    assert len(mails) == 4
    ack, answer, resolved, survey = (plain_text(m) for m in mails)
    assert "Your request is ticket #1" in ack
    assert "Replace the drum." in answer
    assert "is now resolved" in resolved
    assert "Please rate" in survey or "rate" in str(mails[3]["Subject"]).lower()


async def test_close_with_an_answer_is_one_mail_with_the_status_under_it(
        runtime: App, smtp_sink: Sink, clock: FixedClock) -> None:
    number = await _mailed(runtime, clock)
    sam = await person_id(runtime, SAM_MAIL)
    mailer = MailSender(runtime, smtp_sink.smtp)
    await runtime.bus.handle(c.Take(actor=sam, channel="email", at=clock.now(), ticket=number))
    await mailer.run_once()
    await runtime.bus.handle(c.Close(actor=sam, channel="email", at=clock.now(),
                                     ticket=number, text="Replaced the drum, all good."))
    clock.advance(seconds=30)
    await mailer.run_once()
    ack, *rest = _to_carl(smtp_sink)
    [answer] = rest  # not three (answer, resolved, closed)
    text = plain_text(answer)
    assert "Replaced the drum, all good." in text
    assert text.index("Replaced the drum") < text.index("is now closed")
    assert "is now resolved" not in text  # where it ended is what counts
    clock.advance(minutes=40)
    await mailer.run_once()
    assert len(_to_carl(smtp_sink)) == 3  # and the survey, once, after its delay


async def test_close_in_the_group_is_one_private_message_to_the_asker(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await h.say(ANNA, "/start", chat=ANNA.id)
    q = await h.say(ANNA, "Projector is dead")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.drained()
    before = len(h.fake.bot_messages(ANNA.id))
    await h.say(SAM, "/close 1 New lamp fitted", chat=STAFF, minutes=5)
    h.clock.advance(seconds=30)
    await h.sent(lambda f: len(f.bot_messages(ANNA.id)) > before)
    new = h.fake.bot_messages(ANNA.id)[before:]
    assert len(new) == 1
    assert "New lamp fitted" in new[0]["text"] and "closed" in new[0]["text"]
    # In the group: the answer once, under her question; the card edited, not reposted.
    answers = [m for m in h.fake.bot_messages(SUPPORT) if "New lamp fitted" in m["text"]]
    assert len(answers) == 1 and answers[0]["reply_to_message"]["message_id"] == q
