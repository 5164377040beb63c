"""A delivery given up (set aside) is told to staff once, with the reason and the ticket, in
the reader's language; staff list it and send it again through an engine command. Real
parts: the bootstrap's application on SQLite and PostgreSQL, aiosmtpd as the relay."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope

from bot import outbox_cli
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.runtime import App
from engine.notify.kinds import NoticeKind
from engine.store.queries import export_all
from engine.store.set_aside import Recipients, notices, report_set_aside
from tests.fakes import FixedClock
from tests.support_email import Sink, mail, make_runtime, settings_for

CARL = "carl@acme.example"
LENA = "lena@staff.example.com"


class Refusing(Sink):
    """A relay that refuses one address for good (550), as a mailbox that was closed."""

    refused: set[str]

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox closed"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
async def relay() -> AsyncIterator[Refusing]:
    sink = Refusing()
    sink.refused = {CARL}
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


def mails_to(sink: Sink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages() if m["To"] == address]


async def rows(rt: App, kind: str) -> list[dict[str, Any]]:
    return [r for r in (await export_all(rt.db))["outbound"] if r["kind"] == kind]


async def cli(rt: App, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    outbox_cli.register(parser.add_subparsers())
    args = parser.parse_args(["outbox", *argv])
    code: int = await args.func(args, rt.settings)
    return code


async def test_a_delivery_set_aside_is_told_to_the_lead_once_and_staff_can_retry_it(
        app: App, relay: Refusing, capsys: pytest.CaptureFixture[str]) -> None:
    await raw.keep(app.inbound, mail(message_id="<jam@acme.example>"), app.bus.clock.now())
    await MailIntake(app).drain()
    sender = MailSender(app, relay.smtp)
    await sender.run_once()
    [ack] = await rows(app, "ack")
    assert ack["failed_at"] is not None and "550" in ack["last_error"]
    assert mails_to(relay, CARL) == []

    # No staff chat configured: the lead hears of it, by mail, once.
    no_chat = Recipients(staff_chat=None)
    assert await report_set_aside(app.db, no_chat, app.bus.clock) == 1
    assert await report_set_aside(app.db, no_chat, app.bus.clock) == 0
    await sender.run_once()
    [told] = [m for m in mails_to(relay, LENA)
              if "Not delivered" in str(m["Subject"])]
    body = told.get_content()
    assert told["Subject"] == f"[#1] Not delivered: ack to {CARL}"
    assert "ticket #1" in body and "550" in body and "mailbox closed" in body
    assert f"ticketbot outbox retry {ack['id']}" in body
    assert len(await rows(app, "delivery_failed")) == 1

    # Staff see it, and send it again once the mailbox is open.
    assert await cli(app, "failed") == 0
    listing = capsys.readouterr().out
    assert f"{ack['id']}\t" in listing and CARL in listing and "550" in listing
    relay.refused.clear()
    assert await cli(app, "retry", str(ack["id"])) == 0
    await sender.run_once()
    [sent] = mails_to(relay, CARL)
    assert sent["Subject"] == "[#1] Printer jams"
    assert await cli(app, "failed") == 0
    assert "no delivery is set aside" in capsys.readouterr().out
    events = [e for e in (await export_all(app.db))["desk_events"]
              if e["kind"] == "delivery_retried"]
    assert [e["payload"]["outbox_id"] for e in events] == [ack["id"]]
    # Sent after all: nothing new to tell.
    assert await report_set_aside(app.db, no_chat, app.bus.clock) == 0


async def test_retrying_what_is_not_set_aside_is_refused_and_changes_nothing(
        app: App, relay: Refusing, capsys: pytest.CaptureFixture[str]) -> None:
    relay.refused.clear()
    await raw.keep(app.inbound, mail(message_id="<ok@acme.example>"), app.bus.clock.now())
    await MailIntake(app).drain()
    [ack] = await rows(app, "ack")
    before = await export_all(app.db)
    assert await cli(app, "retry", str(ack["id"])) == 1  # pending, not set aside
    assert await cli(app, "retry", "9999") == 1
    assert "no delivery set aside with id 9999" in capsys.readouterr().err
    assert await export_all(app.db) == before


async def test_with_a_staff_chat_the_notice_goes_there_in_the_staff_language(
        app: App, relay: Refusing) -> None:
    await raw.keep(app.inbound, mail(message_id="<ru@acme.example>"), app.bus.clock.now())
    await MailIntake(app).drain()
    await MailSender(app, relay.smtp).run_once()
    assert await report_set_aside(app.db, Recipients("-100777", "ru"), app.bus.clock) == 1
    [notice] = await rows(app, "delivery_failed")
    assert (notice["channel"], notice["recipient"], notice["language"], notice["ticket"]) == \
        ("telegram", "-100777", "ru", 1)
    assert notice["payload"]["recipient"] == CARL and "550" in notice["payload"]["reason"]


async def test_a_notice_that_fails_itself_or_a_guards_skip_is_not_told() -> None:
    """Only the rows worth news: the scan's filter, seen from the notices it would make."""
    from engine.store.set_aside import QUIET, SetAside

    row = SetAside(7, "email", CARL, "ack", 3, 1, "skipped: a no-reply address",
                   FixedClock().now())
    assert row.reason.startswith(QUIET)
    [item] = notices(row, [("email", LENA, None, "en")])
    assert (item.key, item.kind, item.ticket) == ("set-aside:7", NoticeKind.DELIVERY_FAILED, 3)


@pytest.mark.parametrize(("language", "subject", "words"), [
    ("en", f"Not delivered: mail_reply to {CARL}", ("belongs to no ticket", "set aside")),
    ("ru", f"Не доставлено: mail_reply для {CARL}", ("не относится ни к одной заявке",
                                                     "отложено")),
])
async def test_a_delivery_of_no_ticket_is_told_to_the_lead_by_mail_in_their_language(
        db_url: str, relay: Refusing, language: str, subject: str,
        words: tuple[str, ...]) -> None:
    """A first-line answer mailed to a client (no ticket) bounces for good; with no staff
    chat, the lead's mail says so without a ticket tag or number, once, and only to staff."""
    from dataclasses import replace

    from engine.ports import OutboxItem
    from tests.support_email import CARL as CARL_SPEC
    from tests.support_email import LEAD, OLGA, SPEC

    settings = settings_for(db_url)
    lead = replace(LEAD, language=language)
    rt = await make_runtime(replace(settings, people=(lead, SPEC, OLGA, CARL_SPEC)),
                            FixedClock())
    try:
        async with rt.uow() as uow:
            await uow.outbox.enqueue(OutboxItem(
                key="first-line-answer", channel="email", recipient=CARL,
                kind=NoticeKind.MAIL_REPLY, payload={"text": "Try the reset", "subject": "Wifi"}))
            await uow.commit()
        sender = MailSender(rt, relay.smtp)
        await sender.run_once()
        [answer] = await rows(rt, "mail_reply")
        assert answer["ticket"] is None and "550" in answer["last_error"]
        assert await report_set_aside(rt.db, Recipients(staff_chat=None), rt.bus.clock) == 1
        await sender.run_once()
        await sender.run_once()
        [told] = mails_to(relay, LENA)
        body = told.get_content()
        assert told["Subject"] == subject and told["Content-Language"] == language
        assert all(w in body for w in words) and "550" in body and "mailbox closed" in body
        assert f"ticketbot outbox retry {answer['id']}" in body
        assert "#" not in str(told["Subject"]) and "#-" not in body
        assert [m["To"] for m in relay.messages()] == [LENA]  # Carl's box is closed
        [notice] = await rows(rt, "delivery_failed")
        assert notice["sent_at"] is not None and notice["ticket"] is None
    finally:
        await rt.close()
