"""SMTP/LMTP ingress, as protocol transcripts against the real aiosmtpd server in our loop:
550 5.1.1 at RCPT, 552 5.3.4 for over-size mail, 250 only once the raw bytes are stored,
LMTP one reply per recipient; and the named status codes agree with themselves."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.receive import status_codes as sc
from bot.channels.email.receive.ingress import IngressHandler, IngressService
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from engine.store.db import make_engine
from engine.store.inbound import InboundStore
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import SUPPORT, clock, db_file, mail, runtime

__all__ = ["clock", "db_file", "runtime"]  # fixtures

LIMIT = 64 * 1024


@pytest.mark.parametrize("reply", sc.ALL, ids=lambda r: f"{r.code}-{r.enhanced}")
def test_basic_and_enhanced_classes_agree(reply: sc.SmtpReply) -> None:
    klass, subject, detail = reply.enhanced.split(".")
    assert str(reply.code)[0] == klass and klass in "245"
    assert 0 <= int(subject) <= 7 and 0 <= int(detail) <= 999
    assert reply.line.startswith(f"{reply.code} {reply.enhanced} ")


class Client:
    """Just enough of an SMTP/LMTP client to read every reply line by line."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def reply(self) -> list[str]:
        lines = []
        while True:
            line = (await asyncio.wait_for(self.reader.readline(), 5)).decode().rstrip()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    async def say(self, line: str) -> list[str]:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()
        return await self.reply()

    async def data(self, payload: bytes, replies: int = 1) -> list[str]:
        assert (await self.say("DATA"))[0].startswith("354")
        body = payload.replace(b"\r\n.", b"\r\n..")
        self.writer.write(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        await self.writer.drain()
        return [line for _ in range(replies) for line in await self.reply()]


async def connect(port: int, greeting: str = "EHLO") -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = Client(reader, writer)
    assert (await client.reply())[0].startswith("220")
    assert (await client.say(f"{greeting} client.example"))[-1].startswith("250")
    return client


@pytest.fixture(params=[False, True], ids=["smtp", "lmtp"])
async def server(request: pytest.FixtureRequest, runtime: App,
                 clock: FixedClock) -> AsyncIterator[IngressService]:
    stored: list[int] = []
    handler = IngressHandler(runtime.inbound, MailIdentity.of(runtime.settings, runtime.secret),
                             clock, max_size=LIMIT, lmtp=request.param,
                             on_stored=lambda: stored.append(1))
    service = IngressService(handler, "127.0.0.1", 0)
    await service.start()
    yield service
    await service.stop()


async def hello(service: IngressService) -> Client:
    return await connect(service.port, "LHLO" if service.handler.lmtp else "EHLO")


async def test_unknown_recipients_are_refused_at_rcpt(server: IngressService) -> None:
    client = await hello(server)
    assert (await client.say("MAIL FROM:<carl@acme.example>"))[0].startswith("250")
    assert await client.say("RCPT TO:<someone@help.example.com>") == [sc.UNKNOWN_RECIPIENT.line]
    assert await client.say("RCPT TO:<support@elsewhere.example>") == [sc.UNKNOWN_RECIPIENT.line]
    assert await client.say(f"RCPT TO:<{SUPPORT.upper()}>") == [sc.RECIPIENT_OK.line]
    assert await client.say("RCPT TO:<support+1-2-abc@help.example.com>") == \
        [sc.RECIPIENT_OK.line]


async def test_250_only_after_the_raw_mail_is_stored_then_it_is_processed(
        server: IngressService, runtime: App, clock: FixedClock) -> None:
    client = await hello(server)
    await client.say("MAIL FROM:<carl@acme.example>")
    await client.say(f"RCPT TO:<{SUPPORT}>")
    data = mail(message_id="<smtp1@acme.example>", body=".leading dot stays\nline")
    replies = await client.data(data)
    expected = sc.DELIVERED.about(SUPPORT) if server.handler.lmtp else sc.DELIVERED.line
    assert replies == [expected]
    [row] = (await export_all(runtime.db))["inbound"]
    assert (row["status"], row["external_id"]) == ("pending", "<smtp1@acme.example>")
    assert row["received_at"] == clock.now().isoformat()
    stored = await runtime.inbound.get(row["id"])
    assert stored is not None and stored.raw is not None
    assert stored.raw.endswith(data)
    assert raw.envelope_of(stored.raw) == (SUPPORT,)
    await MailIntake(runtime).drain()
    detail = (await export_all(runtime.db))["tickets"]
    assert [t["description"] for t in detail] == [".leading dot stays\nline"]


async def test_the_same_mail_twice_is_accepted_and_stored_once(server: IngressService,
                                                               runtime: App) -> None:
    data = mail(message_id="<twice@acme.example>")
    for _ in range(2):
        client = await hello(server)
        await client.say("MAIL FROM:<carl@acme.example>")
        await client.say(f"RCPT TO:<{SUPPORT}>")
        assert (await client.data(data))[0].startswith("250")
    assert len((await export_all(runtime.db))["inbound"]) == 1


async def test_oversize_is_refused_when_announced_and_when_sent(server: IngressService,
                                                                runtime: App) -> None:
    client = await hello(server)
    assert await client.say(f"MAIL FROM:<carl@acme.example> SIZE={LIMIT + 1}") == \
        [sc.TOO_BIG.line]
    await client.say("MAIL FROM:<carl@acme.example>")
    await client.say(f"RCPT TO:<{SUPPORT}>")
    big = mail(body="x" * 70 + ("\n" + "y" * 70) * 1200)
    replies = await client.data(big)
    assert replies == [sc.TOO_BIG.about(SUPPORT) if server.handler.lmtp else sc.TOO_BIG.line]
    assert (await export_all(runtime.db))["inbound"] == []


async def test_lmtp_answers_once_per_recipient(runtime: App, clock: FixedClock) -> None:
    handler = IngressHandler(runtime.inbound, MailIdentity.of(runtime.settings, runtime.secret),
                             clock, max_size=LIMIT, lmtp=True)
    service = IngressService(handler, "127.0.0.1", 0)
    await service.start()
    try:
        client = await connect(service.port, "LHLO")
        await client.say("MAIL FROM:<carl@acme.example>")
        plus = "support+tag@help.example.com"
        for rcpt in (SUPPORT, plus):
            assert await client.say(f"RCPT TO:<{rcpt}>") == [sc.RECIPIENT_OK.line]
        replies = await client.data(mail(message_id="<lmtp2@acme.example>"), replies=2)
        assert replies == [sc.DELIVERED.about(SUPPORT), sc.DELIVERED.about(plus)]
    finally:
        await service.stop()
    [row] = (await export_all(runtime.db))["inbound"]
    stored = await runtime.inbound.get(row["id"])
    assert stored is not None and stored.raw is not None
    assert raw.envelope_of(stored.raw) == (SUPPORT, plus)


async def test_a_storage_failure_answers_451_so_the_sender_retries(
        runtime: App, clock: FixedClock, tmp_path: Path) -> None:
    """A database without the inbound table: storing fails for real."""
    unmigrated = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    handler = IngressHandler(InboundStore(unmigrated), MailIdentity.of(runtime.settings, runtime.secret),
                             clock, max_size=LIMIT, lmtp=False)
    service = IngressService(handler, "127.0.0.1", 0)
    await service.start()
    try:
        client = await connect(service.port)
        await client.say("MAIL FROM:<carl@acme.example>")
        await client.say(f"RCPT TO:<{SUPPORT}>")
        assert await client.data(mail()) == [sc.STORAGE_FAILED.line]
    finally:
        await service.stop()
        await unmigrated.dispose()


def test_the_default_config_listens_on_2525_for_support_at_localhost() -> None:
    from config.settings import Settings

    cfg = Settings().email
    assert (cfg.listen_host, cfg.listen_port, cfg.address) == \
        ("127.0.0.1", 2525, "support@localhost")


async def test_a_late_arrival_keeps_its_receipt_time(server: IngressService, runtime: App,
                                                     clock: FixedClock) -> None:
    client = await hello(server)
    await client.say("MAIL FROM:<carl@acme.example>")
    await client.say(f"RCPT TO:<{SUPPORT}>")
    await client.data(mail())
    received = clock.now()
    clock.advance(hours=5)
    await MailIntake(runtime).drain()
    [ticket] = (await export_all(runtime.db))["tickets"]
    assert ticket["created_at"] == received.isoformat() != clock.now().isoformat()
    assert isinstance(received, dt.datetime)
