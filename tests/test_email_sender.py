"""The outbound worker against an aiosmtpd sink: headers that thread and stop loops, retry with
backoff on an injected clock, never a row twice, never a note or staff field to a client."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from typing import Any

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.channels.email.service import NoRelay
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from engine import commands as c
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import Sink, clock, db_file, mail, person_id, runtime, smtp_sink

__all__ = ["clock", "db_file", "runtime", "smtp_sink"]  # fixtures

AT = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
CARL = "carl@acme.example"


async def opened(rt: App) -> None:
    await raw.keep(rt.inbound, mail(message_id="<Root@Acme.Example>"), AT)
    await MailIntake(rt).drain()


def sent(sink: Sink) -> list[EmailMessage]:
    return sink.messages()


def to(sink: Sink, address: str) -> list[EmailMessage]:
    return [m for m in sent(sink) if m["To"] == address]


async def outbound(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["outbound"]
    return rows


async def enqueue(rt: App, *items: OutboxItem) -> None:
    async with rt.uow() as uow:
        for item in items:
            await uow.outbox.enqueue(item)
        await uow.commit()


async def test_the_ack_threads_and_carries_loop_protection(runtime: App, smtp_sink: Sink,
                                                           clock: FixedClock) -> None:
    await opened(runtime)
    assert await MailSender(runtime, smtp_sink.smtp).run_once() == 2
    [ack] = to(smtp_sink, CARL)
    row = next(o for o in await outbound(runtime) if o["kind"] == "ack")
    me = MailIdentity.of(runtime.settings, runtime.secret)
    assert ack["Subject"] == "[#1] Printer jams"
    assert ack["Message-ID"] == me.message_id(row["id"], 1, row["person_id"],
                                              dt.datetime.fromisoformat(row["created_at"]))
    # Quoted as the client wrote it: mail clients thread by the exact id.
    assert (ack["In-Reply-To"], ack["References"]) == ("<Root@Acme.Example>",) * 2
    assert ack["Reply-To"] == me.reply_to(1, row["person_id"])
    assert me.address_ticket(ack["Reply-To"]) == 1
    assert (ack["Auto-Submitted"], ack["X-Ticketbot-Loop"]) == ("auto-replied", me.loop_value)
    assert ack["From"].addresses[0].addr_spec == "support@help.example.com"
    assert "ticket #1" in ack.get_content()
    assert smtp_sink.received[0].mail_from == "support@help.example.com"
    assert row["sent_at"] == clock.now().isoformat()
    assert row["meta"]["message-id"] == ack["Message-ID"]
    assert row["meta"]["in-reply-to"] == "<Root@Acme.Example>"
    async with runtime.uow() as uow:
        assert await uow.refs.find([ack["Message-ID"].lower()]) == 1


async def test_a_failed_attempt_is_retried_after_the_backoff_with_the_same_id(
        runtime: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await opened(runtime)
    smtp_sink.fail_next = 1
    sender = MailSender(runtime, smtp_sink.smtp, batch=1)
    assert await sender.run_once() == 1
    first = (await outbound(runtime))[0]
    assert first["sent_at"] is None and "451" in first["last_error"]
    assert first["next_try"] == (clock.now() + dt.timedelta(seconds=30)).isoformat()
    assert await sender.run_once() == 1  # the other row; the failed one waits
    assert len(smtp_sink.received) == 1
    clock.advance(seconds=31)
    assert await sender.run_once() == 1
    again = (await outbound(runtime))[0]
    assert again["sent_at"] is not None and again["attempts"] == 2
    [msg] = [m for m in sent(smtp_sink) if m["Message-ID"] == again["meta"]["message-id"]]
    assert msg["Message-ID"] == MailIdentity.of(runtime.settings, runtime.secret).message_id(
        again["id"], again["ticket"], again["person_id"],
        dt.datetime.fromisoformat(again["created_at"]))


async def test_a_restarted_worker_never_sends_a_row_twice(runtime: App,
                                                          smtp_sink: Sink) -> None:
    await opened(runtime)
    assert await MailSender(runtime, smtp_sink.smtp).run_once() == 2
    assert await MailSender(runtime, smtp_sink.smtp).run_once() == 0
    assert len(smtp_sink.received) == 2


async def test_a_permanent_refusal_is_given_up(runtime: App, smtp_sink: Sink) -> None:
    await enqueue(runtime, OutboxItem(key="x", channel="email", recipient="carl@acme.example",
                                      kind=NoticeKind.MAIL_REPLY,
                                      payload={"text": "hi", "subject": "s"}))

    async def refuse(server: Any, session: Any, envelope: Any) -> str:
        return "550 5.1.1 no such user"

    smtp_sink.handle_DATA = refuse  # type: ignore[method-assign]
    await MailSender(runtime, smtp_sink.smtp).run_once()
    [row] = await outbound(runtime)
    assert row["failed_at"] is not None and "550" in row["last_error"]


async def test_a_relay_that_is_down_leaves_every_row_for_a_retry(runtime: App,
                                                                 smtp_sink: Sink) -> None:
    await opened(runtime)
    from config.settings import SmtpConfig

    dead = SmtpConfig(host="127.0.0.1", port=1, tls="none")
    assert await MailSender(runtime, dead).run_once() == 2
    rows = await outbound(runtime)
    assert all(r["sent_at"] is None and r["failed_at"] is None and r["next_try"] for r in rows)


async def test_an_internal_note_never_reaches_a_client(runtime: App,
                                                       smtp_sink: Sink) -> None:
    await opened(runtime)
    await MailSender(runtime, smtp_sink.smtp).run_once()
    lena = await person_id(runtime, "lena@staff.example.com")
    carl = await person_id(runtime, CARL)
    outcome = await runtime.bus.handle(c.AddComment(actor=lena, channel="email", ticket=1,
                                                    body="secret: the client is difficult",
                                                    public=False))
    note_event = outcome.events[0]
    await enqueue(runtime,
                  OutboxItem(key="n1", channel="email", recipient=CARL, kind=NoticeKind.NOTE,
                             ticket=1, person_id=carl, payload={"comment_id": 2, "actor": lena}),
                  OutboxItem(key="n2", channel="email", recipient=CARL, kind=NoticeKind.COMMENT,
                             ticket=1, person_id=carl,
                             payload={"comment_id": 2, "actor": lena,
                                      "event": note_event.kind}),
                  OutboxItem(key="n3", channel="email", recipient=CARL,
                             kind=NoticeKind.RESPONSIBLE, ticket=1, person_id=carl,
                             payload={"new": lena}))
    await MailSender(runtime, smtp_sink.smtp).run_once()
    assert not any("secret" in m.get_content() for m in to(smtp_sink, CARL))
    rows = {o["key"]: o for o in await outbound(runtime)}
    assert all(rows[k]["failed_at"] and rows[k]["last_error"].startswith("skipped")
               for k in ("n1", "n2", "n3"))


async def test_a_public_answer_reaches_the_client_with_its_attachment(
        runtime: App, smtp_sink: Sink, clock: FixedClock) -> None:
    from engine.model import Attachment

    await opened(runtime)
    await MailSender(runtime, smtp_sink.smtp).run_once()
    lena = await person_id(runtime, "lena@staff.example.com")
    await runtime.bus.handle(c.AddComment(
        actor=lena, channel="telegram", ticket=1, body="Replace the drum.", public=True,
        attachments=(Attachment("guide.pdf", "application/pdf", b"%PDF-1.4 guide"),)))
    clock.advance(seconds=30)  # the answer's grace period (/undo)
    await MailSender(runtime, smtp_sink.smtp).run_once()
    # A specialist's answer is a person's mail: no Auto-Submitted (RFC 3834).
    [answer] = [m for m in to(smtp_sink, CARL) if m["Auto-Submitted"] is None]
    assert answer["Subject"] == "[#1] Printer jams"
    body = answer.get_body(preferencelist=("plain",))
    assert body is not None and "Replace the drum." in body.get_content()
    [pdf] = list(answer.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content()) == ("guide.pdf", b"%PDF-1.4 guide")
    assert "Lena" not in answer["Subject"]


@pytest.mark.parametrize("address", ["support+anything@help.example.com", "noreply@shop.example",
                                     "bounced@acme.example"])
async def test_no_mail_to_our_own_no_reply_or_bounced_addresses(
        runtime: App, smtp_sink: Sink, address: str, clock: FixedClock) -> None:
    await runtime.bus.handle(c.SuppressAddress(actor=None, channel="email", at=clock.now(),
                                               address="bounced@acme.example", reason="bounce"))
    await enqueue(runtime, OutboxItem(key="a", channel="email", recipient=address,
                                      kind=NoticeKind.MAIL_REPLY,
                                      payload={"text": "hi", "subject": "s"}))
    await MailSender(runtime, smtp_sink.smtp).run_once()
    assert smtp_sink.received == []
    [row] = await outbound(runtime)
    assert row["failed_at"] is not None and row["last_error"].startswith("skipped")


async def test_automatic_mail_per_recipient_is_capped(runtime: App, smtp_sink: Sink) -> None:
    items = [OutboxItem(key=f"k{i}", channel="email", recipient="loop@robot.example",
                        kind=NoticeKind.MAIL_REPLY, payload={"text": "hi", "subject": "s"})
             for i in range(7)]
    await enqueue(runtime, *items)
    await MailSender(runtime, smtp_sink.smtp).run_once()
    assert len(smtp_sink.received) == runtime.settings.email.auto_reply_limit == 5


async def test_the_cap_is_a_sliding_hour(runtime: App, smtp_sink: Sink,
                                        clock: FixedClock) -> None:
    limit = runtime.settings.email.auto_reply_limit
    await enqueue(runtime, *(_reply(f"k{i}") for i in range(limit + 1)))
    await MailSender(runtime, smtp_sink.smtp).run_once()
    assert len(to(smtp_sink, CARL)) == limit
    clock.advance(minutes=61)
    await enqueue(runtime, _reply("later"))
    await MailSender(runtime, smtp_sink.smtp).run_once()  # a new process: the count is stored
    assert len(to(smtp_sink, CARL)) == limit + 1


async def test_russian_client_gets_russian_text(runtime: App, smtp_sink: Sink) -> None:
    await raw.keep(runtime.inbound, mail(sender="vera@acme.example", subject="Не печатает",
                                         body="Принтер не печатает."), AT)
    await MailIntake(runtime).drain()
    await MailSender(runtime, smtp_sink.smtp).run_once()
    [ack] = to(smtp_sink, "vera@acme.example")
    assert ack["Subject"] == "[#1] Не печатает"
    assert "заявк" in ack.get_content().lower()


async def test_without_a_relay_mail_stays_queued(runtime: App,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    await opened(runtime)
    await NoRelay(runtime).start()
    assert await runtime.outbox.pending_count("email") == 2
    assert "no SMTP relay configured" in caplog.text


async def test_a_mail_without_message_id_gets_no_made_up_references(
        runtime: App, smtp_sink: Sink) -> None:
    data = mail().replace(b"Message-ID:", b"X-Old-Id:")
    await raw.keep(runtime.inbound, data, AT)
    await MailIntake(runtime).drain()
    await MailSender(runtime, smtp_sink.smtp).run_once()
    [ack] = to(smtp_sink, CARL)
    assert ack["In-Reply-To"] is None and ack["References"] is None


def _reply(key: str, recipient: str = CARL, subject: str = "s") -> OutboxItem:
    return OutboxItem(key=key, channel="email", recipient=recipient,
                      kind=NoticeKind.MAIL_REPLY, payload={"text": "hi", "subject": subject})


async def test_a_mail_that_cannot_be_built_is_set_aside_and_the_rest_are_sent(
        runtime: App, smtp_sink: Sink) -> None:
    """A header with a line break cannot be built: that row alone is given up, with the
    reason; the rows claimed with it go out, and nothing stays leased for ever."""
    bad = "carl@acme.example\r\nBcc: evil@attacker.example"
    await enqueue(runtime, _reply("a"), _reply("bad", recipient=bad), _reply("b"))
    sender = MailSender(runtime, smtp_sink.smtp)
    assert await sender.run_once() == 3
    assert [e.rcpt_tos for e in smtp_sink.received] == [[CARL], [CARL]]
    rows = {r["key"]: r for r in await outbound(runtime)}
    assert rows["a"]["sent_at"] and rows["b"]["sent_at"]
    assert rows["bad"]["failed_at"] is not None and rows["bad"]["sent_at"] is None
    assert rows["bad"]["last_error"].startswith("ValueError")
    assert await sender.run_once() == 0  # nothing left claimed or waiting


async def test_a_subject_with_line_breaks_goes_out_on_one_line(runtime: App,
                                                               smtp_sink: Sink) -> None:
    await enqueue(runtime, _reply("a", subject="Printer\r\nBcc: evil@attacker.example\u2028jams"))
    await MailSender(runtime, smtp_sink.smtp).run_once()
    [envelope] = smtp_sink.received
    assert envelope.rcpt_tos == [CARL]
    [msg] = sent(smtp_sink)
    assert msg["Bcc"] is None
    assert msg["Subject"].endswith("Printer Bcc: evil@attacker.example jams")


async def test_a_subjectless_mail_gets_a_one_line_subject(runtime: App,
                                                          smtp_sink: Sink) -> None:
    await raw.keep(runtime.inbound, mail(subject="", body="The printer\r\njams on page 2\r\n"),
                   AT)
    await MailIntake(runtime).drain()
    await MailSender(runtime, smtp_sink.smtp).run_once()
    [ack] = to(smtp_sink, CARL)
    assert ack["Subject"] == "[#1] The printer jams on page 2"


async def test_retries_of_automatic_mail_do_not_count_toward_the_cap(
        runtime: App, smtp_sink: Sink, clock: FixedClock) -> None:
    """A relay outage of a few minutes: the five answers queued before it are retried until
    it is back and all arrive; within the same hour the cap still stops a sixth one."""
    from config.settings import SmtpConfig

    limit = runtime.settings.email.auto_reply_limit
    await enqueue(runtime, *(_reply(f"k{i}") for i in range(limit)))
    down = MailSender(runtime, SmtpConfig(host="127.0.0.1", port=1, tls="none"))
    up = MailSender(runtime, smtp_sink.smtp)
    for backoff in (30, 60, 120, 240):  # four failed attempts, 7.5 minutes in all
        assert await down.run_once() == limit
        clock.advance(seconds=backoff + 1)
    assert await up.run_once() == limit
    assert len(to(smtp_sink, CARL)) == limit
    await enqueue(runtime, _reply("sixth"))
    await up.run_once()
    assert len(to(smtp_sink, CARL)) == limit
    [sixth] = [r for r in await outbound(runtime) if r["key"] == "sixth"]
    assert sixth["failed_at"] is not None and "automatic mails" in sixth["last_error"]
