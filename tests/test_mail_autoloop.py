"""An auto-responder that answers the envelope sender with no automatic header and no
ticket tag made 5 exchanges and 6 junk tickets. Its echo of our acknowledgement now joins
the ticket it echoes: one ticket, one automatic mail to that address. The whole exchange
runs through the real services: our SMTP intake, the processor, the sender, and an aiosmtpd
relay whose mailbox for Carl answers every mail it gets."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.service import EmailChannel
from bot.runtime import App
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
)

__all__ = ["clock", "db_file"]  # fixtures

CARL = "carl@acme.example"
AWAY = "I am out of the office until Monday."


@dataclass
class AutoResponder(Sink):
    """The relay; Carl's mailbox answers each mail it gets, to the envelope sender, quoting
    it, with no Auto-Submitted, no In-Reply-To and no tag in the subject."""

    intake_port: int = 0
    echoes: list[asyncio.Task[None]] = field(default_factory=list)
    limit: int = 8  # a loop that is not stopped stops here

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if CARL in envelope.rcpt_tos and len(self.echoes) < self.limit:
            self.echoes.append(asyncio.create_task(self._echo(envelope)))
        return answer

    async def _echo(self, envelope: Envelope) -> None:
        got = email.message_from_bytes(envelope.original_content or b"", policy=default)
        assert isinstance(got, EmailMessage)
        body = got.get_body(("plain",))
        text = "" if body is None else str(body.get_content())
        quoted = "\n".join("> " + line for line in text.splitlines())
        echo = (f"From: Carl Client <{CARL}>\r\nTo: {envelope.mail_from}\r\n"
                f"Subject: Out of office\r\nMessage-ID: <echo{len(self.echoes)}@acme.example>"
                f"\r\n\r\n{AWAY}\r\n\r\n-----Original Message-----\r\n"
                f"Subject: {got['Subject']}\r\n\r\n{quoted}\r\n")
        await aiosmtplib.send(echo.encode(), hostname="127.0.0.1", port=self.intake_port,
                              sender=CARL, recipients=[str(envelope.mail_from)])


@pytest.fixture
async def relay() -> AsyncIterator[AutoResponder]:
    sink = AutoResponder()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


@pytest.fixture
async def channel(db_file: str, clock: FixedClock,
                  relay: AutoResponder) -> AsyncIterator[EmailChannel]:
    async with running_channel(settings_for(db_file, listen_port=0, smtp=relay.smtp),
                               clock) as mail_channel:
        assert mail_channel.ingress is not None
        relay.intake_port = mail_channel.ingress.port
        yield mail_channel


async def _processed(channel: EmailChannel) -> None:
    """Until the intake has no mail left: woken after each batch it ends, no polling."""
    batch_done = asyncio.Event()
    wake_sender = channel.intake.on_outbox

    def ended() -> None:
        wake_sender()
        batch_done.set()

    channel.intake.on_outbox = ended
    while await channel.rt.inbound.pending(raw.CHANNEL, 1):
        await asyncio.wait_for(batch_done.wait(), 30)
        batch_done.clear()


async def _send(channel: EmailChannel, data: bytes) -> None:
    assert channel.ingress is not None
    await aiosmtplib.send(data, hostname="127.0.0.1", port=channel.ingress.port,
                          sender=CARL, recipients=[SUPPORT])


def _to_carl(relay: AutoResponder) -> list[EmailMessage]:
    return [m for m in relay.messages() if m["To"] == CARL]


async def test_an_auto_responders_echo_joins_the_ticket_and_the_loop_ends(
        channel: EmailChannel, relay: AutoResponder) -> None:
    await _send(channel, mail(message_id="<vpn@acme.example>", subject="VPN is down",
                              body="Since this morning."))
    ack = await relay.first(lambda m: m["To"] == CARL)
    assert ack["Subject"] == "[#1] VPN is down"
    await relay.echoes[0]  # the echo is in our intake
    await _processed(channel)
    for service in reversed(channel.services()):
        await service.stop()  # whatever was queued stays in the outbox, to be counted

    rt = channel.rt
    assert isinstance(rt, App)
    state = await export_all(rt.db)
    assert [t["number"] for t in state["tickets"]] == [1]
    automatic = [o for o in state["outbound"] if o["recipient"] == CARL]
    assert [o["kind"] for o in automatic] == ["ack"]  # the one mail Carl's mailbox got
    assert len(_to_carl(relay)) == 1 and len(relay.echoes) == 1
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert [(c["body"], c["public"]) for c in detail["comments"]] == \
        [("Since this morning.", True), (AWAY, True)]
    echo_row = state["inbound"][-1]
    assert (echo_row["rule"], echo_row["ticket"]) == ("auto_loop", 1)


async def test_a_person_writing_twice_quickly_gets_both_tickets_and_acks(
        channel: EmailChannel, relay: AutoResponder) -> None:
    relay.limit = 0  # a person, not a responder
    await _send(channel, mail(message_id="<p1@acme.example>", subject="VPN is down",
                              body="Since this morning."))
    await _send(channel, mail(message_id="<p2@acme.example>", subject="Printer jams",
                              body="Also, the printer on floor 2 jams."))
    await relay.first(lambda m: m["To"] == CARL and "Printer" in str(m["Subject"]))
    await relay.first(lambda m: m["To"] == CARL and "VPN" in str(m["Subject"]))
    assert sorted(str(m["Subject"]) for m in _to_carl(relay)) == \
        ["[#1] VPN is down", "[#2] Printer jams"]


@pytest.fixture
async def app(db_file: str, clock: FixedClock) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_file), clock)
    yield rt
    await rt.close()


def _echo_of(number: int, message_id: str) -> bytes:
    body = (f"{AWAY}\n\n> Thank you! Your request is ticket #{number}. Reply to this\n"
            "> message to add anything.\n")
    return mail(message_id=message_id, subject="Out of office", body=body)


async def _receive(rt: App, data: bytes, clock: FixedClock) -> None:
    await raw.keep(rt.inbound, data, clock.now())
    await MailIntake(rt).drain()


async def test_an_echo_after_the_window_is_a_new_mail(app: App, clock: FixedClock) -> None:
    """Only a quick echo is a loop: quoting an old acknowledgement later is a person."""
    await _receive(app, mail(message_id="<w1@acme.example>"), clock)
    clock.advance(minutes=11)
    await _receive(app, _echo_of(1, "<w2@acme.example>"), clock)
    state = await export_all(app.db)
    assert [t["number"] for t in state["tickets"]] == [1, 2]
    assert [o["ticket"] for o in state["outbound"] if o["kind"] == "ack"] == [1, 2]


async def test_quoting_someone_elses_acknowledgement_is_not_an_echo(
        app: App, clock: FixedClock) -> None:
    await _receive(app, mail(message_id="<o1@acme.example>"), clock)
    await _receive(app, mail(sender="dora@acme.example", message_id="<o2@acme.example>",
                             body=_echo_of(1, "<x@acme.example>").decode()), clock)
    state = await export_all(app.db)
    assert [t["number"] for t in state["tickets"]] == [1, 2]


async def test_an_echo_quoting_the_ack_in_russian_joins_its_ticket(
        app: App, clock: FixedClock) -> None:
    await _receive(app, mail(message_id="<r1@acme.example>", subject="Не печатает принтер",
                             body="Принтер на втором этаже не печатает."), clock)
    echo = mail(message_id="<r2@acme.example>", subject="Автоответ",
                body="Я в отпуске.\n\n> Спасибо! Ваша заявка зарегистрирована под номером #1.\n"
                     "> Чтобы что-то добавить, ответьте на это сообщение.\n")
    clock.advance(minutes=2)
    await _receive(app, echo, clock)
    state = await export_all(app.db)
    assert [t["number"] for t in state["tickets"]] == [1]
    assert [o["ticket"] for o in state["outbound"] if o["kind"] == "ack"] == [1]
    assert state["inbound"][-1]["rule"] == "auto_loop"
