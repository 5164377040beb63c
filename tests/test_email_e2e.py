"""End to end through the running services: a mail in over SMTP -> a ticket -> the ack out
through the relay with headers that thread -> the client's reply to it lands on the same
ticket, and the responsible specialist hears of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import aiosmtplib
import pytest

from bot.channels.email.service import EmailChannel, email_services
from bot.runtime import App
from engine.directory import CompanySpec
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    SUPPORT,
    Sink,
    clock,
    db_file,
    mail,
    make_runtime,
    running_channel,
    settings_for,
    smtp_sink,
)

__all__ = ["clock", "db_file", "smtp_sink"]  # fixtures


@pytest.fixture
async def channel(db_file: str, clock: FixedClock,
                  smtp_sink: Sink) -> AsyncIterator[EmailChannel]:
    settings = settings_for(db_file, listen_port=0, smtp=smtp_sink.smtp)
    settings = replace(settings, companies=(CompanySpec("Acme", ("acme.example",),
                                                        manager_email="sam@staff.example.com"),))
    async with running_channel(settings, clock) as mail_channel:
        yield mail_channel


async def send(channel: EmailChannel, raw: bytes, to: str = SUPPORT) -> None:
    assert channel.ingress is not None
    await aiosmtplib.send(raw, hostname="127.0.0.1", port=channel.ingress.port,
                          sender="carl@acme.example", recipients=[to])


async def test_mail_in_ack_out_reply_threads(channel: EmailChannel, smtp_sink: Sink) -> None:
    rt = channel.rt
    assert isinstance(rt, App)  # the bootstrap's, which the test may read the database of
    await send(channel, mail(message_id="<e2e@acme.example>", subject="VPN is down",
                             body="Since this morning."))
    ack = await smtp_sink.first(lambda m: m["To"] == "carl@acme.example")
    assert ack["Subject"] == "[#1] VPN is down"
    assert ack["In-Reply-To"] == "<e2e@acme.example>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assigned = await smtp_sink.first(lambda m: m["To"] == "sam@staff.example.com")
    assert assigned["Subject"].startswith("[#1] ")

    reply = mail(message_id="<e2e-2@acme.example>", to=ack["Reply-To"],
                 subject="Re: VPN (edited by me)", in_reply_to=ack["Message-ID"],
                 references=f"<e2e@acme.example> {ack['Message-ID']}",
                 body="Still down.\n\nOn Mon, Support wrote:\n> Thank you!")
    await send(channel, reply, to=ack["Reply-To"])
    notice = await smtp_sink.first(lambda m: m["To"] == "sam@staff.example.com"
                                   and "Still down." in str(m.get_body(("plain",))))
    assert notice["Subject"].startswith("[#1] ")
    assert len((await export_all(rt.db))["tickets"]) == 1
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert [c["body"] for c in detail["comments"]] == ["Since this morning.", "Still down."]
    rows = (await export_all(rt.db))["inbound"]
    assert [(r["ticket"], r["rule"]) for r in rows] == [(1, "new"), (1, "own_message_id")]
    out = (await export_all(rt.db))["outbound"]
    assert all(o["meta"]["message-id"].startswith("<tb.") for o in out if o["sent_at"])


async def test_services_follow_the_config(db_file: str, clock: FixedClock) -> None:
    """SMTP ingress whenever listen_port is set, IMAP only when configured, a sender only
    with a relay (else the worker that keeps mail queued), and always the processor."""
    from config.settings import ImapConfig, SmtpConfig

    async def kinds(**email: object) -> list[str]:
        rt = await make_runtime(settings_for(db_file, **email), clock)
        try:
            return [type(s).__name__ + ":" + s.name for s in email_services(rt)]
        finally:
            await rt.db.dispose()

    imap = ImapConfig(host="imap.example", user="u", password="p")
    assert await kinds(listen_port=2525) == [
        "Worker:email-processor", "NoRelay:email-sender (no relay)",
        "IngressService:email-smtp 127.0.0.1:2525"]
    assert await kinds(listen_port=None, imap=imap, smtp=SmtpConfig()) == [
        "Worker:email-processor", "Worker:email-sender", "ImapService:email-imap u@imap.example/INBOX"]
    assert (await kinds(listen_port=24, lmtp=True))[-1] == "IngressService:email-lmtp 127.0.0.1:24"
